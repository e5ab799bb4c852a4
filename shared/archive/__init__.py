"""The archive database every service uses: ledger, QC1, reviews, catalogue, calibrations,
releases and API tokens, on PostgreSQL or SQLite (see README.md).

    db = ArchiveDatabase(DatabaseSettings().url)
    await upgrade_to_head(db.url)
    async with db.session() as s:
        await ledger.record_ab_state(s, ab, AbState.STAGED, event_id=..., request_id=..., service=ctx.identity)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from shared.archive.database import ArchiveDatabase
    from shared.archive.migrate import upgrade_to_head
    from shared.archive.settings import DatabaseSettings

__all__ = ["ArchiveDatabase", "DatabaseSettings", "upgrade_to_head"]

# Imported on first use: a command that only reads the ledger never loads alembic (PEP 562).
_HOMES = {"ArchiveDatabase": "shared.archive.database", "upgrade_to_head": "shared.archive.migrate",
          "DatabaseSettings": "shared.archive.settings"}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)
