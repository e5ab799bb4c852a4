"""The ledger's tables (requests, campaigns, ABs and their history) and the review queue as
SQLAlchemy Core tables, and the metadata every archive table belongs to.

Declared here, without the ORM, so a command that only reads them (`phoenix status`,
`phoenix review list`) starts without loading the ORM or the asyncio extension; `shared.archive.models` maps these
same tables for the services. Migrations create exactly what the two modules declare; a test
compares them.
"""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    Enum,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
)

from shared.archive.types import JsonDocument, UtcDateTime, utc_now
from shared.lifecycle import AbState, RequestState

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata = MetaData(naming_convention=NAMING_CONVENTION)

# SQLite only auto-increments an INTEGER PRIMARY KEY, not a BIGINT one.
AutoId = BigInteger().with_variant(Integer(), "sqlite")
AB_ID = String(200)


class ReviewState(StrEnum):
    PENDING = "PENDING"
    ACCEPTED = "ACCEPTED"
    REJECTED = "REJECTED"


def state_column(enum: type[StrEnum]) -> Enum:
    """A short string column holding an enum's values; no database enum type and no CHECK, so
    adding a member never needs a migration."""
    return Enum(enum, native_enum=False, create_constraint=False, length=16, values_callable=_values)


def _values(enum: type[StrEnum]) -> list[str]:
    return [member.value for member in enum]


def _timestamps() -> tuple[Column, Column]:
    return (Column("created_at", UtcDateTime, nullable=False, default=utc_now),
            Column("updated_at", UtcDateTime, nullable=False, default=utc_now, onupdate=utc_now))


requests = Table(
    "requests", metadata,
    Column("request_id", Uuid, primary_key=True),
    Column("instrument_mode", String(64), nullable=False),
    Column("night", Date, nullable=False),
    Column("night_to", Date),
    Column("mode", String(16), nullable=False),
    Column("campaign_id", String(128)),
    Column("priority", SmallInteger, nullable=False, default=5),
    Column("reprocess", Boolean, nullable=False, default=False),
    Column("state", state_column(RequestState), nullable=False, default=RequestState.RECEIVED),
    Column("reason", Text, nullable=False, default=""),
    Column("rules_version", String(64), nullable=False, default=""),
    Column("pipeline_version", String(128), nullable=False, default=""),
    *_timestamps(),
    Index(None, "instrument_mode", "night"), Index(None, "state"), Index(None, "campaign_id"),
)
"""The ledger of date requests."""

campaigns = Table(
    "campaigns", metadata,
    Column("campaign_id", String(128), primary_key=True),
    Column("instrument_mode", String(64), nullable=False),
    Column("night_from", Date, nullable=False),
    Column("night_to", Date, nullable=False),
    Column("mode", String(16), nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("created_at", UtcDateTime, nullable=False, default=utc_now),
)

association_blocks = Table(
    "association_blocks", metadata,
    Column("ab_id", AB_ID, primary_key=True),
    Column("request_id", Uuid, nullable=False, comment="The last request that touched the AB."),
    Column("instrument_mode", String(64), nullable=False),
    Column("night", Date, nullable=False),
    Column("mode", String(16), nullable=False),
    Column("dpr_catg", String(32), nullable=False),
    Column("raw_type", String(64), nullable=False),
    Column("recipe", String(64), nullable=False),
    Column("completeness", String(16), nullable=False),
    Column("state", state_column(AbState), nullable=False),
    Column("reason", Text, nullable=False, default=""),
    Column("ab", JsonDocument, nullable=False, comment="AssociationBlock.model_dump(mode='json')."),
    Column("depends_on", JsonDocument, nullable=False, default=list),
    *_timestamps(),
    Index(None, "instrument_mode", "night"), Index(None, "state"), Index(None, "request_id"),
)
"""The AB ledger: each AB's current state and its full description."""

ab_history = Table(
    "ab_history", metadata,
    Column("id", AutoId, primary_key=True, autoincrement=True),
    Column("ab_id", AB_ID, ForeignKey("association_blocks.ab_id", ondelete="CASCADE"), nullable=False, index=True),
    Column("state", state_column(AbState), nullable=False),
    Column("reason", Text, nullable=False, default=""),
    Column("event_id", Uuid, nullable=False),
    Column("service", String(64), nullable=False),
    Column("at", UtcDateTime, nullable=False, default=utc_now),
    UniqueConstraint("ab_id", "event_id", "state"),
)
"""One row per AB state change, for the processing-history website."""

reviews = Table(
    "reviews", metadata,
    Column("ab_id", AB_ID, primary_key=True),
    Column("state", state_column(ReviewState), nullable=False, default=ReviewState.PENDING),
    Column("reason", Text, nullable=False, default=""),
    Column("event", JsonDocument, nullable=False, comment="The qc-scored event, so a decision can flow on."),
    Column("event_id", Uuid, nullable=False),
    Column("decided_by", String(128)),
    Column("comment", Text),
    Column("created_at", UtcDateTime, nullable=False, default=utc_now),
    Column("decided_at", UtcDateTime),
    Index(None, "state", "created_at"),
)
"""The certifier's review queue: one row per AB held for a person."""
