"""Scenario 5: the raw-data archive answers 500, hangs, or sends a corrupted byte for some files.

A fault-injecting proxy stands in front of the real archive server: a bias frame answers 500
twice, a flat frame hangs on its first request (longer than the client's timeout), and the
science frame always arrives with one byte flipped. The first two are retried through; the
third fails its AB with the file named, and the rest of the night is ingested.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import httpx
import pytest
from astropy.io import fits
from fastapi import FastAPI, Request, Response

from shared.serving import serve_in_background
from tests.faults.conftest import NIGHT, ChainFactory
from tests.faults.harness import ArchiveServer

pytestmark = [pytest.mark.kafka, pytest.mark.postgres, pytest.mark.esorex, pytest.mark.slow, pytest.mark.timeout(300)]

HANG_SECONDS = 12
"""Longer than the archive client's timeout in the chain (5 s, tests/faults/harness.py)."""
FORWARDED_HEADERS = ("content-md5", "x-checksum-sha256", "content-type", "etag")


def faulty_proxy(upstream: str, faults: dict[str, str], seen: Counter[str]) -> FastAPI:
    """Forwards to the archive, misbehaving for the raw files named in `faults`."""
    app = FastAPI()

    @app.api_route("/{path:path}", methods=["GET", "PUT", "POST"])
    async def forward(path: str, request: Request) -> Response:
        name = path.rsplit("/", 1)[-1]
        fault = faults.get(name) if path.startswith("api/raw/") else None
        seen[name] += 1
        if fault == "500 twice" and seen[name] <= 2:
            return Response("simulated archive failure", status_code=500)
        if fault == "hang once" and seen[name] == 1:
            await asyncio.sleep(HANG_SECONDS)
        async with httpx.AsyncClient(base_url=upstream, timeout=60) as client:
            answer = await client.request(
                request.method, f"/{path}", params=request.query_params, content=await request.body(),
                headers={k: v for k, v in request.headers.items() if k.lower() in ("authorization", "x-checksum-sha256")},
            )
        body = answer.content
        if fault == "corrupt":
            body = body[:-1] + bytes([body[-1] ^ 0xFF])
        headers = {k: v for k, v in answer.headers.items() if k.lower() in FORWARDED_HEADERS}
        return Response(content=body, status_code=answer.status_code, headers=headers)

    return app


def pick_faults(night_dir: Path) -> dict[str, str]:
    """One bias answers 500 twice, one flat hangs once, the science frame is always corrupt."""
    by_type: dict[str, str] = {}
    for path in sorted(night_dir.glob("*.fits")):
        header = fits.getheader(path)
        kind = "SCIENCE" if header["HIERARCH ESO DPR CATG"] == "SCIENCE" else header["HIERARCH ESO DPR TYPE"]
        by_type.setdefault(kind, path.name)
    return {by_type["BIAS"]: "500 twice", by_type["LAMP,FLAT"]: "hang once", by_type["SCIENCE"]: "corrupt"}


async def test_archive_failures_are_retried_and_a_corrupt_file_fails_only_its_ab(
    chain_factory: ChainFactory, archive_server: ArchiveServer, fault_archive: Path
) -> None:
    faults = pick_faults(fault_archive / "raw" / "UVES" / NIGHT.isoformat())
    seen: Counter[str] = Counter()
    async with serve_in_background(faulty_proxy(archive_server.url, faults, seen)) as proxy_url:
        with chain_factory(archive_url=proxy_url) as chain:
            night = await chain.night_settled(NIGHT, "5 archive answering 500, hanging, corrupting a byte")
    states = {record.raw_type: (record.state.value, record.reason) for record in night.abs}
    print("AB states:", states, "requests seen per faulty file:", {name: seen[name] for name in faults})
    corrupt = next(name for name, fault in faults.items() if fault == "corrupt")
    science_state, science_reason = states["SCI_POINT_BLUE"]
    assert science_state == "FAILED" and corrupt in science_reason, "the corrupt file fails its AB, named"
    assert {raw_type: state for raw_type, (state, _) in states.items() if raw_type != "SCI_POINT_BLUE"} == dict.fromkeys(
        [t for t in states if t != "SCI_POINT_BLUE"], "INGESTED"), "the rest of the night goes on"
    for name, fault in faults.items():
        assert seen[name] >= (3 if fault == "500 twice" else 2), f"{name} ({fault}) was retried"
    assert night.found.current_products == 0 and night.found.states["FAILED"] == 1
