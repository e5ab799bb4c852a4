"""The QC1 database side of QC: certified history for statistical thresholds, storing scores, the AB ledger."""

from __future__ import annotations

from collections.abc import Mapping

from shared.archive import ArchiveDatabase, ledger
from shared.archive.models import AbState
from shared.archive.qc1 import last_certified_values, record_qc_scores, setting_key_of
from shared.contracts import ProductsReady, QcScore


async def certified_history(db: ArchiveDatabase, event: ProductsReady, needs: Mapping[str, int]) -> dict[str, list[float]]:
    """Past certified values (oldest first) of each parameter, same RAW_TYPE and setting, earlier nights."""
    ab = event.ab
    async with db.session() as session:
        newest_first = await last_certified_values(session, ab.instrument_mode, ab.raw_type, needs, before=ab.night,
                                                   setting_key=setting_key_of(ab.raw_match_key))
    return {parameter: values[::-1] for parameter, values in newest_first.items()}


async def record_scores(db: ArchiveDatabase, event: ProductsReady, scores: list[QcScore], service: str) -> None:
    """Store the QC1 values and move the AB on to SCORED."""
    async with db.session() as session:
        await record_qc_scores(session, event.ab, scores)
        await ledger.record_step(session, event, AbState.SCORED, service, event.reason)
