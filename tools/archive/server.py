"""HTTP stand-in for the observatory archive: raw frames per night and certified master calibrations.

Build it with `create_app(settings)`; `phoenix archive serve` runs it with uvicorn.
"""

from __future__ import annotations

import base64
import logging
import re
import secrets
from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path
from typing import Annotated

from fastapi import Depends, FastAPI, Header, HTTPException, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BeforeValidator, SecretStr

from shared import __version__
from shared.rawarchive.http import StreamTooLarge, save_stream
from shared.rawarchive.models import CHECKSUM_HEADER, ApiError, CalibInfo, RawFileInfo
from tools.archive.eso_api import eso_router
from tools.archive.settings import ArchiveServerSettings
from tools.archive.store import INSTRUMENT_PATTERN, Conflict, InvalidRange, InvalidUpload, NotFound, night_range, stores

log = logging.getLogger(__name__)

_NIGHT_FORMAT = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _iso_date_only(value: object) -> object:
    """Refuses what pydantic would otherwise accept as a date (Unix timestamps, datetimes)."""
    if isinstance(value, str) and not _NIGHT_FORMAT.fullmatch(value):
        raise ValueError("expected a night as YYYY-MM-DD")
    return value


Night = Annotated[date, BeforeValidator(_iso_date_only)]
Instrument = Annotated[str, Query(pattern=INSTRUMENT_PATTERN, description="instrument, e.g. UVES")]
OptionalInstrument = Annotated[
    str | None, Query(pattern=INSTRUMENT_PATTERN, description="instrument, when the name alone is ambiguous")
]
_NOT_FOUND = {404: {"model": ApiError, "description": "no such file"}}


def create_app(settings: ArchiveServerSettings) -> FastAPI:
    raw, calib = stores(settings)
    require_token = _bearer_token_check(settings.token)
    app = FastAPI(
        title="phoenix raw-data archive",
        version=__version__,
        description="Stand-in for the observatory archive: raw frames per night, certified master calibrations; "
        "phoenix's JSON API under /api, ESO's interface (TAP dbo.raw, calSelector, data portal) at ESO's paths.",
    )
    _add_error_handlers(app)
    app.include_router(eso_router(raw, calib))

    @app.get("/healthz", tags=["health"])
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/api/raw", tags=["raw"], response_model=list[RawFileInfo])
    def list_raw(
        instrument: Instrument,
        night: Annotated[Night, Query(description="night, YYYY-MM-DD")],
        night_to: Annotated[Night | None, Query(description="last night of a range, inclusive")] = None,
    ) -> list[RawFileInfo]:
        return raw.list_nights(instrument, *night_range(night, night_to, settings.max_nights_per_listing))

    @app.get("/api/raw/{arcfile}", tags=["raw"], response_class=FileResponse, responses=_NOT_FOUND)
    def download_raw(arcfile: str) -> FileResponse:
        path, info = raw.find(arcfile)
        return _file_response(path, info.md5, info.sha256)

    @app.get("/api/calib", tags=["calib"], response_model=list[CalibInfo])
    def list_calib(
        instrument: Instrument,
        pro_catg: Annotated[str | None, Query(description="PRO.CATG, e.g. MASTER_BIAS_BLUE")] = None,
        include_retired: bool = False,
    ) -> list[CalibInfo]:
        return calib.list(instrument, pro_catg, include_retired)

    @app.get("/api/calib/{name}", tags=["calib"], response_class=FileResponse, responses=_NOT_FOUND)
    def download_calib(name: str, instrument: OptionalInstrument = None) -> FileResponse:
        path, info = calib.find(name, instrument)
        return _file_response(path, info.md5, info.sha256)

    @app.put(
        "/api/calib/{name}",
        tags=["calib"],
        status_code=201,
        response_model=CalibInfo,
        dependencies=[Depends(require_token)],
        responses={
            200: {"model": CalibInfo, "description": "already registered with this content; nothing changed"},
            400: {"model": ApiError, "description": "checksum mismatch or not a master calibration"},
            409: {"model": ApiError, "description": "the name is taken by other content"},
        },
        openapi_extra={"requestBody": {"required": True, "content": {"application/fits": {}}}},
    )
    async def upload_calib(
        name: str,
        request: Request,
        response: Response,
        sha256: Annotated[str, Header(alias=CHECKSUM_HEADER, description="hex SHA-256 of the body")],
        instrument: OptionalInstrument = None,
    ) -> CalibInfo:
        staged = calib.new_staging_path()
        try:
            received = await _receive_body(request, staged, settings.max_upload_bytes)
            if received != sha256.strip().lower():
                raise HTTPException(400, f"{CHECKSUM_HEADER} mismatch: body has {received}")
            info, created = await run_in_threadpool(calib.register, name, staged, instrument)
        finally:
            staged.unlink(missing_ok=True)
        if not created:
            response.status_code = 200
        return info

    @app.post(
        "/api/calib/{name}/retire",
        tags=["calib"],
        response_model=CalibInfo,
        dependencies=[Depends(require_token)],
        responses=_NOT_FOUND,
    )
    def retire_calib(name: str, instrument: OptionalInstrument = None) -> CalibInfo:
        return calib.retire(name, instrument)

    return app


def _file_response(path: Path, md5_hex: str, sha256_hex: str) -> FileResponse:
    headers = {"Content-MD5": base64.b64encode(bytes.fromhex(md5_hex)).decode("ascii"), CHECKSUM_HEADER: sha256_hex}
    return FileResponse(path, media_type="application/fits", filename=path.name, headers=headers)


async def _receive_body(request: Request, destination: Path, max_bytes: int) -> str:
    """Streams the request body to `destination` (fsynced) and returns its hex SHA-256."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise HTTPException(413, f"upload larger than {max_bytes} bytes")
    try:
        _, sha256 = await save_stream(request.stream(), destination, max_bytes)
    except StreamTooLarge:
        raise HTTPException(413, f"upload larger than {max_bytes} bytes") from None
    return sha256


_BEARER = HTTPBearer(auto_error=False, description="PHOENIX_ARCHIVE_TOKEN, when the server has one")


def _bearer_token_check(token: SecretStr | None) -> Callable[..., None]:
    def check(credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_BEARER)]) -> None:
        if token is None:
            return
        expected = token.get_secret_value().encode()
        if credentials is None or not secrets.compare_digest(credentials.credentials.encode(), expected):
            raise HTTPException(401, "missing or wrong bearer token", headers={"WWW-Authenticate": "Bearer"})

    return check


def _add_error_handlers(app: FastAPI) -> None:
    for error_class, status in ((NotFound, 404), (InvalidUpload, 400), (Conflict, 409), (InvalidRange, 422)):
        app.add_exception_handler(error_class, _json_error(status))


def _json_error(status: int) -> Callable[[Request, Exception], Awaitable[JSONResponse]]:
    async def handle(request: Request, error: Exception) -> JSONResponse:
        log.info("%s %s → %d: %s", request.method, request.url.path, status, error)
        return JSONResponse({"detail": str(error)}, status_code=status)

    return handle
