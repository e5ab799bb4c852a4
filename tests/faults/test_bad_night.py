"""A deliberately bad night over Apache Kafka and PostgreSQL: an underexposed flat.

The real pipeline reduces it; QC scores the master flat's level as an outlier and the
certifier holds it for review, so the science AB that needs it waits. A reviewer rejects the
flat with `phoenix review reject`; the decision flows on, the science AB becomes INCOMPLETE
with the reason, and the good master calibrations of the night are certified and ingested.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
from pathlib import Path

import pytest
from astropy.io import fits

from shared.archive import ledger
from shared.archive.models import AbState
from tests.faults.conftest import NIGHT, ChainFactory
from tests.integration.qc.degrade import scale_signal
from tests.support.nights import archive_copy
from tests.support.processes import PHOENIX

pytestmark = [pytest.mark.kafka, pytest.mark.postgres, pytest.mark.esorex, pytest.mark.slow, pytest.mark.timeout(300)]

UNDEREXPOSED = 0.01


@pytest.fixture
def fault_archive(blue_night_archive: Path, tmp_path: Path) -> Path:
    """The blue night with its flat-field frames exposed 1 % as long."""
    root = archive_copy(blue_night_archive, tmp_path / "archive")
    for path in sorted((root / "raw" / "UVES" / NIGHT.isoformat()).glob("*.fits")):
        if fits.getheader(path).get("HIERARCH ESO DPR TYPE") == "LAMP,FLAT":
            degraded = scale_signal(path, path.with_suffix(".tmp"), UNDEREXPOSED)
            path.unlink()  # hard-linked to the session's night: never write through it
            degraded.rename(path)
    return root


async def test_an_underexposed_flat_is_held_for_review_and_a_rejection_flows_on(chain_factory: ChainFactory) -> None:
    with chain_factory() as chain:
        chain.start_all()
        request_id = await chain.publish(NIGHT)
        flat = await _until_flat_in_review(chain, request_id, timeout_seconds=200)
        reviewed = subprocess.run(
            [PHOENIX, "review", "reject", flat.ab_id, "--comment", "flat underexposed", "--reviewer", "fault-suite"],
            env={**os.environ, **chain.env}, capture_output=True, text=True, timeout=60,
        )
        assert reviewed.returncode == 0, reviewed.stderr[-2000:]
        await chain.wait_settled(120)
        found = await chain.check("bad night: underexposed flat held for review, then rejected by a reviewer")
        async with chain.database() as db, db.session() as session:
            records = {r.raw_type: r for r in await ledger.abs_of_request(session, request_id)}
    assert flat.reason.startswith("1 QC parameter(s) scored 1") and "flat level" in flat.reason, flat.reason
    assert records["FLAT_BLUE"].state is AbState.REJECTED and "flat underexposed" in records["FLAT_BLUE"].reason
    science = records["SCI_POINT_BLUE"]
    assert science.state is AbState.INCOMPLETE and f"prerequisite {flat.ab_id} was rejected" in science.reason
    good = {raw_type: r.state for raw_type, r in records.items() if raw_type not in ("FLAT_BLUE", "SCI_POINT_BLUE")}
    assert set(good.values()) == {AbState.INGESTED}, good
    assert found.current_products == 0


async def _until_flat_in_review(chain, request_id, timeout_seconds: float):
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        async with chain.database() as db, db.session() as session:
            for record in await ledger.abs_of_request(session, request_id):
                if record.raw_type == "FLAT_BLUE" and record.state is AbState.REVIEW:
                    return record
        await asyncio.sleep(1)
    raise AssertionError(f"the underexposed flat did not reach REVIEW within {timeout_seconds:.0f} s")
