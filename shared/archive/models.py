"""The archive tables, as SQLAlchemy 2 declarative models (one schema for PostgreSQL and SQLite).

The ledger's tables are declared in `shared.archive.tables` (Core, so a read-only command need
not load the ORM) and mapped here; the others are declared here. Migrations in
`migrations/versions/` create exactly these tables; a test compares the two.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    false,
    func,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from shared.archive import tables
from shared.archive.tables import AB_ID, AutoId, ReviewState, state_column
from shared.archive.types import JsonDocument, UtcDateTime, utc_now
from shared.lifecycle import AbState, RequestState

PRODUCT_ID = String(64)
SHA256 = String(64)
# Byte order on PostgreSQL too, so a prefix range of target keys is an index range in every locale.
TARGET_KEY = String(255).with_variant(String(255, collation="C"), "postgresql")
CURRENT_ONLY = text("status = 'CURRENT'")


class ProductStatus(StrEnum):
    CURRENT = "CURRENT"
    OBSOLETE = "OBSOLETE"
    DEPRECATED = "DEPRECATED"


class ProvenanceKind(StrEnum):
    RAW = "RAW"
    MCALIB = "MCALIB"


class CalibrationStatus(StrEnum):
    CURRENT = "CURRENT"
    RETIRED = "RETIRED"


class Scope(StrEnum):
    READ = "read"
    DOWNLOAD = "download"
    SUBMIT = "submit"
    ADMIN = "admin"
    """Grants every other scope too."""


class Base(DeclarativeBase):
    metadata = tables.metadata


class Request(Base):
    """The ledger of date requests."""

    __table__ = tables.requests

    request_id: Mapped[uuid.UUID]
    instrument_mode: Mapped[str]
    night: Mapped[date]
    night_to: Mapped[date | None]
    mode: Mapped[str]
    campaign_id: Mapped[str | None]
    priority: Mapped[int]
    reprocess: Mapped[bool]
    state: Mapped[RequestState]
    reason: Mapped[str]
    rules_version: Mapped[str]
    pipeline_version: Mapped[str]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Campaign(Base):
    __table__ = tables.campaigns

    campaign_id: Mapped[str]
    instrument_mode: Mapped[str]
    night_from: Mapped[date]
    night_to: Mapped[date]
    mode: Mapped[str]
    description: Mapped[str]
    created_at: Mapped[datetime]


class AbRecord(Base):
    """The AB ledger: each AB's current state and its full description."""

    __table__ = tables.association_blocks

    ab_id: Mapped[str]
    request_id: Mapped[uuid.UUID]
    instrument_mode: Mapped[str]
    night: Mapped[date]
    mode: Mapped[str]
    dpr_catg: Mapped[str]
    raw_type: Mapped[str]
    recipe: Mapped[str]
    completeness: Mapped[str]
    state: Mapped[AbState]
    reason: Mapped[str]
    ab: Mapped[dict[str, Any]]
    depends_on: Mapped[list[str]]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    history: Mapped[list[AbTransition]] = relationship(
        back_populates="record", lazy="raise", order_by="AbTransition.id", passive_deletes=True
    )


class AbTransition(Base):
    """One row per AB state change, for the processing-history website."""

    __table__ = tables.ab_history

    id: Mapped[int]
    ab_id: Mapped[str]
    state: Mapped[AbState]
    reason: Mapped[str]
    event_id: Mapped[uuid.UUID]
    service: Mapped[str]
    at: Mapped[datetime]

    record: Mapped[AbRecord] = relationship(back_populates="history", lazy="raise")


class Qc1Value(Base):
    """The QC1 database: one measured (and possibly scored) parameter of one product."""

    __tablename__ = "qc1_values"
    __table_args__ = (
        UniqueConstraint("ab_id", "product", "parameter"),
        Index("ix_qc1_values_setting_history", "instrument_mode", "raw_type", "setting_key", "parameter", "night"),
        Index(None, "instrument_mode", "parameter", "night"),
    )

    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    ab_id: Mapped[str] = mapped_column(AB_ID)
    instrument_mode: Mapped[str] = mapped_column(String(64))
    night: Mapped[date] = mapped_column(Date)
    raw_type: Mapped[str] = mapped_column(String(64))
    setting_key: Mapped[str] = mapped_column(
        String(255), default="", comment="Instrument setting the value belongs to, e.g. 'DET.WIN1.BINX=2'."
    )
    product: Mapped[str] = mapped_column(String(255))
    parameter: Mapped[str] = mapped_column(String(128))
    value: Mapped[float | None] = mapped_column(Float)
    unit: Mapped[str] = mapped_column(String(32), default="")
    score: Mapped[int | None] = mapped_column(SmallInteger, comment="0 OK, 1 outlier, NULL unscored.")
    informational: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false(),
        comment="Listed as informational by the threshold set: unscored on purpose.",
    )
    grade: Mapped[float | None] = mapped_column(Float)
    message: Mapped[str] = mapped_column(Text, default="")
    threshold_set: Mapped[str] = mapped_column(String(128), default="")
    measured_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)


class Review(Base):
    """The certifier's review queue: one row per AB held for a person."""

    __table__ = tables.reviews

    ab_id: Mapped[str]
    state: Mapped[ReviewState]
    reason: Mapped[str]
    event: Mapped[dict[str, Any]]
    event_id: Mapped[uuid.UUID]
    decided_by: Mapped[str | None]
    comment: Mapped[str | None]
    created_at: Mapped[datetime]
    decided_at: Mapped[datetime | None]


class Release(Base):
    __tablename__ = "releases"

    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    stream: Mapped[str] = mapped_column(String(64), index=True)
    release_date: Mapped[date] = mapped_column(Date)
    description: Mapped[str] = mapped_column(Text, default="", comment="Markdown.")
    threshold_set: Mapped[str | None] = mapped_column(String(128))


class Product(Base):
    """The product catalogue (ObsCore-like)."""

    __tablename__ = "products"
    __table_args__ = (
        Index(None, "dec", "ra"),
        Index(None, "wavelength_min_nm", "wavelength_max_nm"),
        Index(None, "night"),
        Index(None, "ab_id"),
        Index(None, "release_name"),
        Index(None, "lineage_key"),
        # The current products newest first (a search's default order, read backwards).
        Index("ix_products_current_newest", "ingested_at", "product_id", postgresql_where=CURRENT_ONLY,
              sqlite_where=CURRENT_ONLY),
        # The guard against two CURRENT versions of one product, even under concurrent ingestion.
        Index(
            "uq_products_lineage_current",
            "lineage_key",
            unique=True,
            postgresql_where=CURRENT_ONLY,
            sqlite_where=CURRENT_ONLY,
        ),
    )

    product_id: Mapped[str] = mapped_column(PRODUCT_ID, primary_key=True)
    ab_id: Mapped[str] = mapped_column(AB_ID)
    lineage_key: Mapped[str] = mapped_column(
        SHA256, comment="Hash of AB, product category, arm and raw inputs: versions of one product share it."
    )
    instrument: Mapped[str] = mapped_column(String(32))
    night: Mapped[date | None] = mapped_column(Date)
    target_name: Mapped[str] = mapped_column(String(255), default="")
    target_key: Mapped[str] = mapped_column(
        TARGET_KEY, default="", comment="target_name in lower-case letters and digits only, for prefix search."
    )
    ra: Mapped[float | None] = mapped_column(Float, comment="ICRS right ascension [deg].")
    dec: Mapped[float | None] = mapped_column(Float, comment="ICRS declination [deg].")
    x: Mapped[float | None] = mapped_column(Float, comment="Unit vector of (ra, dec), for cone search.")
    y: Mapped[float | None] = mapped_column(Float)
    z: Mapped[float | None] = mapped_column(Float)
    t_min: Mapped[float | None] = mapped_column(Float, comment="Start of exposure [MJD].")
    t_max: Mapped[float | None] = mapped_column(Float, comment="End of exposure [MJD].")
    exposure_seconds: Mapped[float | None] = mapped_column(Float)
    wavelength_min_nm: Mapped[float | None] = mapped_column(Float)
    wavelength_max_nm: Mapped[float | None] = mapped_column(Float)
    resolving_power: Mapped[float | None] = mapped_column(Float)
    snr: Mapped[float | None] = mapped_column(Float)
    calib_level: Mapped[int] = mapped_column(SmallInteger, default=2)
    file_size_bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(SHA256)
    access_uri: Mapped[str] = mapped_column(String(1024))
    prodcatg: Mapped[str] = mapped_column(String(64))
    arm: Mapped[str] = mapped_column(String(16), default="")
    status: Mapped[ProductStatus] = mapped_column(state_column(ProductStatus), default=ProductStatus.CURRENT)
    version: Mapped[int] = mapped_column(Integer, default=1)
    supersedes: Mapped[str | None] = mapped_column(ForeignKey("products.product_id"))
    release_name: Mapped[str | None] = mapped_column(ForeignKey("releases.name"))
    ingested_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    recipe: Mapped[str] = mapped_column(String(64), default="", comment="Pipeline recipe that made the product.")
    pipeline_version: Mapped[str] = mapped_column(String(64), default="", comment="e.g. uves/6.1.8.")
    phoenix_version: Mapped[str] = mapped_column(String(32), default="", comment="phoenix version that ingested it.")
    parameters: Mapped[dict[str, Any]] = mapped_column(
        JsonDocument, default=dict, comment="Recipe parameters the pipeline recorded (PRO.REC1.PARAMi)."
    )

    provenance: Mapped[list[ProductProvenance]] = relationship(
        lazy="raise", cascade="all, delete-orphan", passive_deletes=True, order_by="ProductProvenance.id"
    )
    files: Mapped[list[ProductFile]] = relationship(
        lazy="raise", cascade="all, delete-orphan", passive_deletes=True, order_by="ProductFile.id"
    )


# Case-insensitive target search: the expression index serves `lower(target_name) = lower(:name)`.
Index("ix_products_target_name_lower", func.lower(Product.target_name))
# A target search in its order (catalogue.search_products: by target, newest first), read in index order.
Index("ix_products_target_key_newest", Product.target_key, Product.ingested_at.desc(), Product.product_id.desc())


class ProductProvenance(Base):
    """An input of a product: a raw frame or a master calibration."""

    __tablename__ = "product_provenance"
    __table_args__ = (UniqueConstraint("product_id", "kind", "name"),)

    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    product_id: Mapped[str] = mapped_column(ForeignKey("products.product_id", ondelete="CASCADE"))
    kind: Mapped[ProvenanceKind] = mapped_column(state_column(ProvenanceKind))
    name: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(SHA256, default="")


class ProductFile(Base):
    """An ancillary file of a product: preview PNG, QC report PNG, processing log."""

    __tablename__ = "product_files"
    __table_args__ = (UniqueConstraint("product_id", "name"),)

    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    product_id: Mapped[str] = mapped_column(ForeignKey("products.product_id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32), comment="e.g. PREVIEW, QC_REPORT, LOG.")
    name: Mapped[str] = mapped_column(String(255))
    uri: Mapped[str] = mapped_column(String(1024))
    size_bytes: Mapped[int] = mapped_column(BigInteger)


class Calibration(Base):
    """A master calibration phoenix produced and registered in the calibration store."""

    __tablename__ = "calibrations"
    __table_args__ = (Index(None, "pro_catg", "status", "mjd_obs"),)

    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    pro_catg: Mapped[str] = mapped_column(String(64))
    ab_id: Mapped[str] = mapped_column(AB_ID)
    setting: Mapped[dict[str, str]] = mapped_column(JsonDocument, default=dict)
    mjd_obs: Mapped[float] = mapped_column(Float)
    status: Mapped[CalibrationStatus] = mapped_column(state_column(CalibrationStatus), default=CalibrationStatus.CURRENT)
    replaces: Mapped[str | None] = mapped_column(ForeignKey("calibrations.name"))
    registered_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)


class ApiToken(Base):
    """An API token: only the SHA-256 of its secret is kept."""

    __tablename__ = "api_tokens"

    token_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(128))
    token_hash: Mapped[str] = mapped_column(SHA256, unique=True)
    scopes: Mapped[list[str]] = mapped_column(JsonDocument)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
