"""Scenario 7: corrupt raw files in the night (truncated, missing keywords, wrong BSCALE, empty)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.faults.conftest import NIGHT, ChainFactory
from tests.support.nights import archive_copy

pytestmark = [pytest.mark.kafka, pytest.mark.postgres, pytest.mark.esorex, pytest.mark.slow, pytest.mark.timeout(300)]

BLOCK = 2880


def _card(name: str, value: str) -> bytes:
    return f"{name:<8}= {value:>20}".ljust(80).encode()


def _rewrite(path: Path, content: bytes) -> None:
    path.unlink()  # the archive copy is hard-linked to the session's night: never write through it
    path.write_bytes(content)


def corrupt(raw_dir: Path) -> dict[str, str]:
    """Corrupt four raw files of the night; what was done to each, by ARCFILE."""
    files = sorted(raw_dir.glob("*.fits"))
    done = {}
    truncated, keywords, bscale, empty = files[1], files[3], files[5], files[7]
    _rewrite(truncated, truncated.read_bytes()[: BLOCK + 1000])
    done[truncated.name] = "truncated"
    data = bytearray(keywords.read_bytes())
    for key in (b"MJD-OBS ", b"DATE-OBS"):
        at = bytes(data[: BLOCK * 20]).find(key)
        if at >= 0 and at % 80 == 0:
            data[at:at + 80] = b"COMMENT   keyword removed by the fault test".ljust(80)
    _rewrite(keywords, bytes(data))
    done[keywords.name] = "missing MJD-OBS and DATE-OBS"
    data = bytearray(bscale.read_bytes())
    at = bytes(data[: BLOCK * 20]).find(b"BSCALE  =")
    if at >= 0:
        data[at:at + 80] = _card("BSCALE", "0.0")
    else:
        at = bytes(data[: BLOCK * 20]).find(b"BZERO   =")
        data[at:at + 80] = _card("BSCALE", "0.0")
    _rewrite(bscale, bytes(data))
    done[bscale.name] = "BSCALE 0"
    _rewrite(empty, b"")
    done[empty.name] = "zero-length"
    return done


@pytest.fixture
def fault_archive(blue_night_archive: Path, tmp_path: Path) -> Path:
    root = archive_copy(blue_night_archive, tmp_path / "archive")
    (tmp_path / "corrupted.txt").write_text(repr(corrupt(root / "raw" / "UVES" / NIGHT.isoformat())))
    return root


async def test_corrupt_raw_files_are_reported_and_the_night_goes_on(chain_factory: ChainFactory, tmp_path: Path) -> None:
    corrupted = eval((tmp_path / "corrupted.txt").read_text())  # noqa: S307 - our own repr of a dict
    with chain_factory() as chain:
        night = await chain.night_settled(NIGHT, "7 corrupt raw files (truncated, missing keywords, BSCALE 0, empty)")
    reasons = night.request.reason + " ".join(record.reason for record in night.abs)
    print("request reason:", night.request.reason[:2000])
    print("AB reasons:", {record.ab_id: (record.state.value, record.reason[:200]) for record in night.abs})
    reported = {name: how for name, how in corrupted.items() if name in reasons}
    print("corrupted:", corrupted, "reported by name:", sorted(reported))
    for name in [n for n, how in corrupted.items() if how != "BSCALE 0"]:
        assert name in reasons, f"{name} ({corrupted[name]}) is named in the request's or an AB's reason"
    assert night.found.abs >= 1
