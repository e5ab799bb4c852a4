"""Reading a simulated night from the real archive server, associating it, staging ABs into a file store."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from fastapi import Request

from services.fetcher.adapters.archive_files import ArchiveStager
from services.fetcher.association import associate, is_ready
from services.fetcher.night import NightFrames, read_nights
from services.fetcher.staging import stage_block
from shared.contracts import AssociationBlock, ProcessingMode
from shared.errors import DataError
from shared.instruments.association import load_association_rules
from shared.rawarchive.client import RawArchiveClient
from shared.serving import serve_in_background
from shared.storage import sha256_of
from tests.support.storage import folder_store, stored_path
from tools.archive.server import create_app
from tools.archive.settings import ArchiveServerSettings

from .conftest import LINE_REFER_TABLE, NIGHT, TRUNCATED

RULES = load_association_rules("UVES_ECHELLE")
RULE_SET = RULES.rule_set_for(NIGHT)


async def _night(client: RawArchiveClient, classifier) -> NightFrames:
    return await read_nights(client, "UVES", NIGHT, NIGHT, classifier, RULE_SET)


async def _mcalib_blocks(client: RawArchiveClient, classifier) -> tuple[NightFrames, list[AssociationBlock]]:
    frames = await _night(client, classifier)
    catalogue = await client.list_calib("UVES")
    return frames, associate(frames.frames, catalogue, ProcessingMode.MCALIB, RULES).blocks


async def test_a_night_is_classified_with_bad_files_reported(client: RawArchiveClient, classifier) -> None:
    frames = await _night(client, classifier)

    assert Counter(frame.category for frame in frames.classified) == {
        "BIAS_BLUE": 3, "ARC_LAMP_FORM_BLUE": 1, "ORDER_FLAT_BLUE": 1, "FLAT_BLUE": 3, "ARC_LAMP_BLUE": 1,
        "SCI_POINT_BLUE": 1,
    }
    (bad,) = frames.unclassified
    assert bad.arcfile == TRUNCATED
    assert bad.reason == "unreadable: not readable as FITS: OSError: Empty or corrupt FITS file"


async def test_mcalib_abs_of_the_served_night(client: RawArchiveClient, classifier) -> None:
    _, blocks = await _mcalib_blocks(client, classifier)

    assert [b.raw_type for b in blocks] == ["BIAS_BLUE", "ARC_LAMP_FORM_BLUE", "ORDER_FLAT_BLUE", "FLAT_BLUE",
                                            "ARC_LAMP_BLUE"]
    predict = blocks[1]
    assert [(a.pro_catg, a.file) for a in predict.calibrations] == [("LINE_REFER_TABLE", f"{LINE_REFER_TABLE}.fits")]


async def test_staging_puts_every_raw_and_static_file_in_the_store(
    client: RawArchiveClient, classifier, archive_root: Path, tmp_path: Path
) -> None:
    frames, blocks = await _mcalib_blocks(client, classifier)
    catalogue = await client.list_calib("UVES")
    store = folder_store(tmp_path / "store")
    predict = next(b for b in blocks if b.raw_type == "ARC_LAMP_FORM_BLUE")

    staged = await stage_block(predict, ArchiveStager(client, store), frames.raw_infos(), catalogue)

    (raw,) = staged.raw_files
    (table,) = staged.calibrations
    assert raw.staged is not None and table.staged is not None
    assert stored_path(store, raw.staged).name == raw.arcfile
    assert sha256_of(stored_path(store, raw.staged)) == frames.raw_infos()[raw.arcfile].sha256
    archived = archive_root / "calib" / "UVES" / f"{LINE_REFER_TABLE}.fits"
    assert stored_path(store, table.staged).read_bytes() == archived.read_bytes()


async def test_a_waiting_or_incomplete_ab_is_not_staged(client: RawArchiveClient, classifier, tmp_path: Path) -> None:
    frames, blocks = await _mcalib_blocks(client, classifier)
    flat = next(b for b in blocks if b.raw_type == "FLAT_BLUE")
    assert not is_ready(flat)

    with pytest.raises(DataError, match="still waits for the products of"):
        await stage_block(flat, ArchiveStager(client, folder_store(tmp_path)), frames.raw_infos(), [])


@pytest.fixture
async def counting_client(archive_root: Path) -> AsyncIterator[tuple[RawArchiveClient, Counter[str]]]:
    downloads: Counter[str] = Counter()
    app = create_app(ArchiveServerSettings(root=archive_root))

    @app.middleware("http")
    async def count_downloads(request: Request, call_next):  # type: ignore[no-untyped-def]
        if request.url.path.startswith(("/api/raw/", "/api/calib/")):
            downloads[request.url.path.rsplit("/", 1)[-1]] += 1
        return await call_next(request)

    async with serve_in_background(app) as url, RawArchiveClient(url, backoff_seconds=0.01) as client:
        yield client, downloads


async def test_a_file_already_in_the_store_is_not_downloaded_again(
    counting_client: tuple[RawArchiveClient, Counter[str]], classifier, tmp_path: Path
) -> None:
    client, downloads = counting_client
    frames, blocks = await _mcalib_blocks(client, classifier)
    catalogue = await client.list_calib("UVES")
    store = folder_store(tmp_path / "store")
    bias, predict = blocks[0], blocks[1]

    first = await stage_block(bias, ArchiveStager(client, store), frames.raw_infos(), catalogue)
    await stage_block(predict, ArchiveStager(client, store), frames.raw_infos(), catalogue)
    assert sum(downloads.values()) == 3 + 2
    again = await stage_block(bias, ArchiveStager(client, store), frames.raw_infos(), catalogue)

    assert sum(downloads.values()) == 5
    assert [raw.staged for raw in again.raw_files] == [raw.staged for raw in first.raw_files]
    assert len(list((tmp_path / "store").rglob("*.fits"))) == 5
