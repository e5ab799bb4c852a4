"""Stage an AB: every raw frame and calibration (static ones included) into the shared file store.

Downloads run concurrently (the archive client bounds how many at once, retries and
verifies checksums); the AB comes back with `staged` set on every RawFrame and Association.
Any failure stages nothing further and propagates: a corrupted download that stays corrupted
after the client's retries is a TransientError naming the file, and the AB is not staged.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from typing import Protocol

from services.fetcher.association import awaited_producers
from shared.contracts import AssociationBlock, Completeness, StagedFile
from shared.errors import DataError
from shared.rawarchive.models import CalibInfo, RawFileInfo


class Stager(Protocol):
    async def stage(self, item: RawFileInfo | CalibInfo) -> StagedFile: ...


async def stage_block(
    block: AssociationBlock,
    stager: Stager,
    raw_files: Mapping[str, RawFileInfo],
    catalogue: Iterable[CalibInfo],
) -> AssociationBlock:
    """The AB with every file staged; `raw_files` by ARCFILE, `catalogue` the store's entries."""
    _check_stageable(block)
    items = _items_to_stage(block, raw_files, {entry.filename: entry for entry in catalogue})
    staged = dict(zip(items, await _stage_all(stager, list(items.values())), strict=True))
    return block.model_copy(
        update={
            "raw_files": [raw.model_copy(update={"staged": staged[raw.arcfile]}) for raw in block.raw_files],
            "calibrations": [a.model_copy(update={"staged": staged[a.file]}) for a in block.calibrations],
        }
    )


def _check_stageable(block: AssociationBlock) -> None:
    if block.completeness is Completeness.INCOMPLETE:
        raise DataError(f"{block.ab_id} is INCOMPLETE ({block.incomplete_reason}); it is not staged")
    waiting = awaited_producers(block)
    if waiting:
        raise DataError(f"{block.ab_id} still waits for the products of {', '.join(waiting)}")


def _items_to_stage(
    block: AssociationBlock, raw_files: Mapping[str, RawFileInfo], calibrations: Mapping[str, CalibInfo]
) -> dict[str, RawFileInfo | CalibInfo]:
    items: dict[str, RawFileInfo | CalibInfo] = {}
    for raw in block.raw_files:
        if raw.arcfile not in raw_files:
            raise DataError(f"{block.ab_id}: raw file {raw.arcfile} is not in the archive listing")
        items[raw.arcfile] = raw_files[raw.arcfile]
    for association in block.calibrations:
        if association.file not in calibrations:
            raise DataError(f"{block.ab_id}: calibration {association.file} is not in the calibration store")
        items[association.file] = calibrations[association.file]
    return items


async def _stage_all(stager: Stager, items: list[RawFileInfo | CalibInfo]) -> list[StagedFile]:
    tasks = [asyncio.ensure_future(stager.stage(item)) for item in items]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
