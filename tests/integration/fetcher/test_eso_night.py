"""The fetcher reading a simulated night through ESO's interface (TAP, calSelector, data portal) of the
stand-in: the same ABs as through phoenix's own API, staged from the `.Z` downloads; a file that
vanished after the listing fails only the AB that needs it, named."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from services.fetcher.adapters.archive_files import ArchiveStager
from services.fetcher.association import associate
from services.fetcher.night import read_catalogue, read_nights
from services.fetcher.staging import stage_block
from shared.contracts import ProcessingMode
from shared.errors import DataError
from shared.instruments.association import load_association_rules
from shared.rawarchive.client import RawArchiveClient, open_archive
from shared.rawarchive.interface import RawArchive
from shared.rawarchive.settings import ArchiveClientSettings
from tests.support.storage import folder_store, stored_path

from .conftest import NIGHT, TRUNCATED

RULES = load_association_rules("UVES_ECHELLE")
RULE_SET = RULES.rule_set_for(NIGHT)


def _settings(url: str, cache: Path, **overrides) -> ArchiveClientSettings:
    return ArchiveClientSettings(url=url, cache_dir=cache, max_attempts=2, backoff_seconds=0.01, **overrides)


@pytest.fixture
async def eso(archive_url: str, tmp_path: Path) -> AsyncIterator[RawArchive]:
    async with open_archive(_settings(f"eso:{archive_url}", tmp_path / "cache")) as archive:
        yield archive


async def _blocks(archive: RawArchive, classifier, mode: ProcessingMode):
    frames = await read_nights(archive, "UVES", NIGHT, NIGHT, classifier, RULE_SET)
    catalogue = await read_catalogue(archive, "UVES", frames, mode)
    return frames, catalogue, associate(frames.frames, catalogue, mode, RULES).blocks


@pytest.mark.parametrize("mode", [ProcessingMode.COMPLETE, ProcessingMode.IDP])
async def test_eso_interface_gives_the_same_abs_as_phoenixs_api(
    eso: RawArchive, client: RawArchiveClient, classifier, mode: ProcessingMode
) -> None:
    _, _, via_eso = await _blocks(eso, classifier, mode)
    _, _, via_api = await _blocks(client, classifier, mode)
    assert via_eso and [b.model_dump() for b in via_eso] == [b.model_dump() for b in via_api]


async def test_a_frame_without_a_readable_header_has_no_dbo_raw_row(eso: RawArchive, classifier) -> None:
    """Its MJD-OBS is unknown, so no night's query selects it (phoenix's API lists it as unreadable)."""
    frames = await read_nights(eso, "UVES", NIGHT, NIGHT, classifier, RULE_SET)
    assert TRUNCATED not in {frame.arcfile for frame in frames.frames}
    assert not frames.unclassified


async def test_an_ab_is_staged_from_the_decompressed_downloads(
    eso: RawArchive, classifier, archive_root: Path, tmp_path: Path
) -> None:
    frames, catalogue, blocks = await _blocks(eso, classifier, ProcessingMode.MCALIB)
    store = folder_store(tmp_path / "store")
    bias = next(b for b in blocks if b.raw_type == "BIAS_BLUE")
    staged = await stage_block(bias, ArchiveStager(eso, store), frames.raw_infos(), catalogue)
    for raw in staged.raw_files:
        archived = archive_root / "raw" / "UVES" / NIGHT.isoformat() / raw.arcfile
        assert stored_path(store, raw.staged).read_bytes() == archived.read_bytes()


async def test_a_frame_that_vanished_after_the_listing_fails_its_ab_by_name(
    eso: RawArchive, classifier, archive_url: str, tmp_path: Path
) -> None:
    frames, catalogue, blocks = await _blocks(eso, classifier, ProcessingMode.MCALIB)
    bias = next(b for b in blocks if b.raw_type == "BIAS_BLUE")
    gone = _settings(f"eso:{archive_url}", tmp_path / "other-cache", dataportal_url=f"{archive_url}/vanished/")
    async with open_archive(gone) as archive:
        # Files are staged at once: whichever fails first names itself.
        names = "|".join(re.escape(raw.arcfile.removesuffix(".fits")) for raw in bias.raw_files)
        with pytest.raises(DataError, match=rf"({names}): not in the archive"):
            await stage_block(bias, ArchiveStager(archive, folder_store(tmp_path / "store")), frames.raw_infos(),
                              catalogue)


async def test_a_night_without_frames_is_named_and_gives_no_ab(eso: RawArchive, classifier, caplog) -> None:
    empty = NIGHT.replace(day=5)
    frames = await read_nights(eso, "UVES", empty, empty, classifier, RULE_SET)
    assert frames.frames == ()
    assert f"has no UVES raw frames for {empty.isoformat()}: no AB" in caplog.text
