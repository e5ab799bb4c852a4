"""The archive database every service uses: ledger, QC1, reviews, catalogue, calibrations,
releases and API tokens, on PostgreSQL or SQLite (see README.md).

    db = ArchiveDatabase(DatabaseSettings().url)
    await upgrade_to_head(db.url)
    async with db.session() as s:
        await ledger.record_ab_state(s, ab, AbState.STAGED, event_id=..., request_id=..., service=ctx.identity)
"""

from shared.archive.database import ArchiveDatabase
from shared.archive.migrate import upgrade_to_head
from shared.archive.settings import DatabaseSettings

__all__ = ["ArchiveDatabase", "DatabaseSettings", "upgrade_to_head"]
