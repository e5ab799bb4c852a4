"""ESO's archive interface served by the stand-in, from the same files at ESO's paths.

- `/tap_obs/sync`, `/tap_obs/async` (UWS jobs), `/tap_obs/capabilities`, `/tap_obs/tables`: TAP on
  `dbo.raw` (see `tools.archive.tap` for the ADQL subset), enough for pyvo's `TAPService` unmodified.
- `/calselector/v1/associations` (POST `dp_id`…, `mode`): association trees as calSelector answers
  them, one `application/xml` document for one dp_id, `multipart/form-data` for several. Raw2Raw:
  the raw calibration frames of the frame's night, by DPR.TYPE; Raw2Master: per PRO.CATG the
  current master of the calibration store closest in time with the frame's setting (dp_id `M.<name>`).
- `/dataPortal/file/<dp_id>`: a raw frame Unix-compressed as `<dp_id>.fits.Z`, as ESO serves them; a
  master (`M.<name>`) as plain `.fits`.
"""

from __future__ import annotations

import asyncio
import collections
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl
from xml.sax.saxutils import quoteattr

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse

from shared.errors import DataError
from shared.rawarchive.calselector import RAW2MASTER, RAW2RAW
from shared.rawarchive.compression import compress_unix
from shared.rawarchive.eso import MASTER_PREFIX, parse_tap_result
from shared.rawarchive.models import CalibInfo, RawFileInfo
from tools.archive.store import CalibStore, NotFound, RawStore

# `tools.archive.tap` (sqlglot, astropy: ~0.4 s) is imported by the TAP handlers, so that serving
# phoenix's own API (`phoenix abs` on a folder) does not pay for it.

VOTABLE = "application/x-votable+xml"
UWS = "application/xml"
MAX_JOBS = 100
MASTER_MATCH_KEYS = ("INS.PATH", "DET.WIN1.BINX", "DET.WIN1.BINY", "DET.READ.SPEED")
"""Keys a master must share with the frame at least; the full setting is preferred when one matches."""


def eso_router(raw: RawStore, calib: CalibStore) -> APIRouter:
    router = APIRouter(tags=["eso"])
    jobs: collections.OrderedDict[str, _Job] = collections.OrderedDict()

    @router.get("/tap_obs/capabilities")
    def capabilities(request: Request) -> Response:
        from tools.archive.tap import capabilities_xml

        return Response(capabilities_xml(str(request.url_for("tap_sync")).removesuffix("/sync")), media_type="text/xml")

    @router.get("/tap_obs/tables")
    def tables() -> Response:
        from tools.archive.tap import tables_xml

        return Response(tables_xml(), media_type="text/xml")

    async def tap_sync(request: Request) -> Response:
        params = await _tap_params(request)
        status, body = await run_in_threadpool(_run_tap, raw, params)
        return Response(body, status_code=status, media_type=VOTABLE)

    router.add_api_route("/tap_obs/sync", tap_sync, methods=["GET"], name="tap_sync", operation_id="tap_sync_get")
    router.add_api_route("/tap_obs/sync", tap_sync, methods=["POST"], operation_id="tap_sync_post")

    @router.post("/tap_obs/async")
    async def tap_async_create(request: Request) -> Response:
        job = _Job(uuid.uuid4().hex, await _tap_params(request))
        jobs[job.job_id] = job
        while len(jobs) > MAX_JOBS:
            jobs.popitem(last=False)
        if job.params.get("PHASE", "").upper() == "RUN":
            await _start(job, raw)
        return RedirectResponse(str(request.url_for("tap_job", job_id=job.job_id)), status_code=303)

    @router.get("/tap_obs/async/{job_id}", name="tap_job")
    async def tap_job(job_id: str, request: Request) -> Response:
        job = _job(jobs, job_id)
        if job.task is not None and request.query_params.get("WAIT"):
            await asyncio.wait_for(asyncio.shield(job.task), timeout=60)
        result_url = str(request.url_for("tap_job_result", job_id=job_id))
        return Response(job.uws_xml(result_url), media_type=UWS)

    @router.post("/tap_obs/async/{job_id}/phase")
    async def tap_job_phase(job_id: str, request: Request) -> Response:
        job = _job(jobs, job_id)
        phase = dict(await _form(request)).get("PHASE", "").upper()
        if phase == "RUN" and job.phase == "PENDING":
            await _start(job, raw)
        elif phase == "ABORT" and job.phase in ("PENDING", "QUEUED", "EXECUTING"):
            job.phase = "ABORTED"
        return RedirectResponse(str(request.url_for("tap_job", job_id=job_id)), status_code=303)

    @router.get("/tap_obs/async/{job_id}/results/result", name="tap_job_result")
    def tap_job_result(job_id: str) -> Response:
        job = _job(jobs, job_id)
        if job.phase != "COMPLETED" or job.result is None:
            raise HTTPException(404, f"job {job_id} has no result (phase {job.phase})")
        return Response(job.result, media_type=VOTABLE)

    @router.delete("/tap_obs/async/{job_id}")
    def tap_job_delete(job_id: str, request: Request) -> Response:
        jobs.pop(job_id, None)
        return RedirectResponse(str(request.url_for("tap_jobs")), status_code=303)

    @router.get("/tap_obs/async", name="tap_jobs")
    def tap_jobs() -> Response:
        items = "".join(f'<uws:jobref id="{job_id}"><uws:phase>{job.phase}</uws:phase></uws:jobref>'
                        for job_id, job in jobs.items())
        return Response(f'<uws:jobs xmlns:uws="http://www.ivoa.net/xml/UWS/v1.0" version="1.1">{items}</uws:jobs>',
                        media_type=UWS)

    @router.post("/calselector/v1/associations")
    async def associations(request: Request) -> Response:
        """Form fields `dp_id` (repeated, e.g. UVES.2015-02-24T01:02:03.456) and `mode` (Raw2Raw, Raw2Master)."""
        fields = await _form(request)
        dp_id = [value for key, value in fields if key == "dp_id"]
        mode = dict(fields).get("mode", RAW2RAW)
        if not dp_id:
            raise HTTPException(400, "no dp_id given")
        if mode not in (RAW2RAW, RAW2MASTER):
            raise HTTPException(400, f"mode must be {RAW2RAW} or {RAW2MASTER}, not {mode!r}")
        trees = await run_in_threadpool(lambda: [(d, _association_tree(raw, calib, d, mode)) for d in dp_id])
        if len(trees) == 1:
            name, tree = trees[0]
            return Response(tree, media_type="application/xml",
                            headers={"Content-Disposition": f'attachment; filename="{name}_{mode.lower()}.xml"'})
        boundary = uuid.uuid4().hex
        return Response(_multipart(trees, mode, boundary), media_type=f"multipart/form-data; boundary={boundary}")

    @router.get("/dataPortal/file/{dp_id}")
    async def dataportal_file(dp_id: str) -> Response:
        if dp_id.startswith(MASTER_PREFIX):
            path, _ = calib.find(dp_id.removeprefix(MASTER_PREFIX))
            return Response(await run_in_threadpool(path.read_bytes), media_type="application/octet-stream",
                            headers={"Content-Disposition": f'attachment; filename="{dp_id}.fits"'})
        path, _ = raw.find(f"{dp_id}.fits")
        packed = await run_in_threadpool(lambda: compress_unix(path.read_bytes()))
        return Response(packed, media_type="application/octet-stream",
                        headers={"Content-Disposition": f'attachment; filename="{dp_id}.fits.Z"'})

    return router


# ---------------------------------------------------------------- TAP


async def _form(request: Request) -> list[tuple[str, str]]:
    """The fields of a url-encoded form body (what pyvo, astroquery and httpx send)."""
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("application/x-www-form-urlencoded"):
        raise HTTPException(415, f"expected a url-encoded form, not {content_type or 'no content type'}")
    return parse_qsl((await request.body()).decode("utf-8"), keep_blank_values=True)


async def _tap_params(request: Request) -> dict[str, str]:
    """TAP parameter names are case-insensitive; values come from the query string or a form body."""
    params = {key.upper(): value for key, value in request.query_params.items()}
    if request.method == "POST":
        params.update({key.upper(): value for key, value in await _form(request)})
    return params


def _run_tap(raw: RawStore, params: dict[str, str]) -> tuple[int, bytes]:
    from tools.archive.tap import DEFAULT_MAXREC, AdqlError, run_query, votable_error, votable_result

    if params.get("LANG", "ADQL").upper() not in ("ADQL", "ADQL-2.0", "ADQL-2.1"):
        return 400, votable_error(f"LANG {params.get('LANG')!r} is not supported; use ADQL")
    if not params.get("QUERY"):
        return 400, votable_error("QUERY is missing")
    try:
        maxrec = min(int(params.get("MAXREC", DEFAULT_MAXREC)), DEFAULT_MAXREC)
        names, rows = run_query(params["QUERY"], raw.list_all(), maxrec + 1)
    except (AdqlError, ValueError) as error:
        return 400, votable_error(str(error))
    return 200, votable_result(names, rows[:maxrec], overflow=len(rows) > maxrec)


class _Job:
    def __init__(self, job_id: str, params: dict[str, str]) -> None:
        self.job_id = job_id
        self.params = params
        self.phase = "PENDING"
        self.created = datetime.now(UTC)
        self.started: datetime | None = None
        self.ended: datetime | None = None
        self.result: bytes | None = None
        self.error: str | None = None
        self.task: asyncio.Task[None] | None = None

    def uws_xml(self, result_url: str) -> str:
        def moment(value: datetime | None) -> str:
            return value.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z" if value else ""

        query = quoteattr(self.params.get("QUERY", ""))[1:-1]
        results = (f'<uws:result id="result" xlink:href={quoteattr(result_url)}/>' if self.phase == "COMPLETED" else "")
        error = (f'<uws:errorSummary type="fatal" hasDetail="false"><uws:message>{quoteattr(self.error)[1:-1]}'
                 "</uws:message></uws:errorSummary>" if self.error else "")
        return f"""<?xml version="1.0" encoding="UTF-8"?>
<uws:job xmlns:uws="http://www.ivoa.net/xml/UWS/v1.0" xmlns:xlink="http://www.w3.org/1999/xlink" version="1.1">
  <uws:jobId>{self.job_id}</uws:jobId>
  <uws:phase>{self.phase}</uws:phase>
  <uws:creationTime>{moment(self.created)}</uws:creationTime>
  <uws:startTime>{moment(self.started)}</uws:startTime>
  <uws:endTime>{moment(self.ended)}</uws:endTime>
  <uws:executionDuration>600</uws:executionDuration>
  <uws:destruction>{moment(self.created + timedelta(hours=1))}</uws:destruction>
  <uws:parameters><uws:parameter id="QUERY">{query}</uws:parameter></uws:parameters>
  <uws:results>{results}</uws:results>
  {error}
</uws:job>
"""


async def _start(job: _Job, raw: RawStore) -> None:
    job.phase, job.started = "EXECUTING", datetime.now(UTC)

    async def execute() -> None:
        status, body = await run_in_threadpool(_run_tap, raw, job.params)
        job.ended = datetime.now(UTC)
        if status == 200:
            job.phase, job.result = "COMPLETED", body
        else:
            job.phase, job.error = "ERROR", _error_text(body)

    job.task = asyncio.create_task(execute())


def _error_text(votable: bytes) -> str:
    try:
        parse_tap_result(votable)
    except DataError as error:
        return str(error)
    return "query failed"


def _job(jobs: dict[str, _Job], job_id: str) -> _Job:
    if job_id not in jobs:
        raise HTTPException(404, f"no job {job_id}")
    return jobs[job_id]


# ---------------------------------------------------------------- calSelector


def _association_tree(raw: RawStore, calib: CalibStore, dp_id: str, mode: str) -> str:
    try:
        _, frame = raw.find(f"{dp_id}.fits")
    except NotFound:
        return _tree(mode, "UNKNOWN", [(dp_id, "UNKNOWN")], [], complete=False,
                     messages=[f"dataset {dp_id} not found"])
    category = str(frame.header.get("DPR.CATG") or "UNKNOWN")
    main = [(dp_id, str(frame.header.get("DPR.TYPE") or category))]
    if mode == RAW2MASTER:
        masters = _masters_for(frame, calib.list(frame.instrument))
        children = [_leaf(master.pro_catg, [(MASTER_PREFIX + master.name, master.pro_catg)]) for master in masters]
    else:
        by_type: dict[str, list[tuple[str, str]]] = {}
        for other in raw.list_night(frame.instrument, frame.night):
            if other.header.get("DPR.CATG") == "CALIB" and other.arcfile != frame.arcfile:
                kind = str(other.header.get("DPR.TYPE"))
                by_type.setdefault(kind, []).append((other.arcfile.removesuffix(".fits"), kind))
        children = [_leaf(kind, files) for kind, files in sorted(by_type.items())]
    return _tree(mode, category, main, children, complete=bool(children), messages=[])


def _masters_for(frame: RawFileInfo, masters: list[CalibInfo]) -> list[CalibInfo]:
    """Per PRO.CATG, the closest master in time with the frame's full setting, else with its detector setting."""
    mjd = frame.header.get("MJD-OBS")
    when = float(mjd) if isinstance(mjd, (int, float)) else 0.0
    chosen = []
    for pro_catg in sorted({master.pro_catg for master in masters}):
        of_catg = [master for master in masters if master.pro_catg == pro_catg]
        for keys in (tuple(of_catg[0].setting), MASTER_MATCH_KEYS):
            compatible = [m for m in of_catg if _same_setting(frame, m, keys)]
            if compatible:
                chosen.append(min(compatible, key=lambda m: (abs((m.mjd_obs or 0.0) - when), m.name)))
                break
    return chosen


def _same_setting(frame: RawFileInfo, master: CalibInfo, keys: tuple[str, ...]) -> bool:
    return all(frame.header.get(key) == master.setting[key] for key in keys
               if key in master.setting and key in frame.header)


def _leaf(category: str, files: list[tuple[str, str]]) -> str:
    return _tree(None, category, files, [], complete=True, messages=[], match="calib_plan")


def _tree(mode: str | None, category: str, files: list[tuple[str, str]], children: list[str], *,
          complete: bool, messages: list[str], match: str | None = None) -> str:
    attributes = f'category={quoteattr(category)} certified="true" complete="{str(complete).lower()}"'
    attributes += f" mode={quoteattr(mode)}" if mode else ""
    attributes += f" match={quoteattr(match)}" if match else ""
    main = "".join(f"<file category={quoteattr(c)} name={quoteattr(name)}/>" for name, c in files)
    notes = "".join(f"<message text={quoteattr(text)}/>" for text in messages)
    nested = "".join(children)
    body = (f'<association {attributes} type="main"><mainFiles>{main}</mainFiles>'
            f"<messages>{notes}</messages><associatedFiles>{nested}</associatedFiles></association>")
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + body) if mode else body


def _multipart(trees: list[tuple[str, str]], mode: str, boundary: str) -> bytes:
    parts = []
    for name, tree in trees:
        payload = tree.encode()
        parts.append(
            f"--{boundary}\r\nContent-Disposition: attachment; filename=\"{name}_{mode.lower()}.xml\"\r\n"
            f"Content-Type: application/xml;content=calselector\r\nContent-Length: {len(payload)}\r\n\r\n".encode()
            + payload + b"\r\n"
        )
    return b"".join(parts) + f"--{boundary}--\r\n".encode()
