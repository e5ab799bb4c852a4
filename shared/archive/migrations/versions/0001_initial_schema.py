"""Initial schema: ledger, QC1, reviews, catalogue, calibrations, releases, tokens.

Revision ID: 0001
Revises:
Create Date: 2026-11-24

Enum columns are plain VARCHAR(16) (no database enum, no CHECK) so new states need no migration.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
AUTO_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
CURRENT_ONLY = sa.text("status = 'CURRENT'")


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "api_tokens",
        sa.Column("token_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("scopes", JSON_DOCUMENT, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("token_id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
    )
    op.create_table(
        "association_blocks",
        sa.Column("ab_id", sa.String(length=200), nullable=False),
        sa.Column("request_id", sa.Uuid(), nullable=False, comment="The last request that touched the AB."),
        sa.Column("instrument_mode", sa.String(length=64), nullable=False),
        sa.Column("night", sa.Date(), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("dpr_catg", sa.String(length=32), nullable=False),
        sa.Column("raw_type", sa.String(length=64), nullable=False),
        sa.Column("recipe", sa.String(length=64), nullable=False),
        sa.Column("completeness", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("ab", JSON_DOCUMENT, nullable=False, comment="AssociationBlock.model_dump(mode='json')."),
        sa.Column("depends_on", JSON_DOCUMENT, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("ab_id", name=op.f("pk_association_blocks")),
    )
    op.create_index(op.f("ix_association_blocks_instrument_mode_night"), "association_blocks", ["instrument_mode", "night"], unique=False)
    op.create_index(op.f("ix_association_blocks_request_id"), "association_blocks", ["request_id"], unique=False)
    op.create_index(op.f("ix_association_blocks_state"), "association_blocks", ["state"], unique=False)
    op.create_table(
        "calibrations",
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("pro_catg", sa.String(length=64), nullable=False),
        sa.Column("ab_id", sa.String(length=200), nullable=False),
        sa.Column("setting", JSON_DOCUMENT, nullable=False),
        sa.Column("mjd_obs", sa.Float(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("replaces", sa.String(length=255), nullable=True),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["replaces"], ["calibrations.name"], name=op.f("fk_calibrations_replaces_calibrations")),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_calibrations")),
    )
    op.create_index(op.f("ix_calibrations_pro_catg_status_mjd_obs"), "calibrations", ["pro_catg", "status", "mjd_obs"], unique=False)
    op.create_table(
        "campaigns",
        sa.Column("campaign_id", sa.String(length=128), nullable=False),
        sa.Column("instrument_mode", sa.String(length=64), nullable=False),
        sa.Column("night_from", sa.Date(), nullable=False),
        sa.Column("night_to", sa.Date(), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("campaign_id", name=op.f("pk_campaigns")),
    )
    op.create_table(
        "qc1_values",
        sa.Column("id", AUTO_ID, autoincrement=True, nullable=False),
        sa.Column("ab_id", sa.String(length=200), nullable=False),
        sa.Column("instrument_mode", sa.String(length=64), nullable=False),
        sa.Column("night", sa.Date(), nullable=False),
        sa.Column("raw_type", sa.String(length=64), nullable=False),
        sa.Column("setting_key", sa.String(length=255), nullable=False, comment="Instrument setting the value belongs to, e.g. 'DET.WIN1.BINX=2'."),
        sa.Column("product", sa.String(length=255), nullable=False),
        sa.Column("parameter", sa.String(length=128), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("unit", sa.String(length=32), nullable=False),
        sa.Column("score", sa.SmallInteger(), nullable=True, comment="0 OK, 1 outlier, NULL unscored."),
        sa.Column("grade", sa.Float(), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("threshold_set", sa.String(length=128), nullable=False),
        sa.Column("measured_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_qc1_values")),
        sa.UniqueConstraint("ab_id", "product", "parameter", name=op.f("uq_qc1_values_ab_id_product_parameter")),
    )
    op.create_index(op.f("ix_qc1_values_instrument_mode_parameter_night"), "qc1_values", ["instrument_mode", "parameter", "night"], unique=False)
    op.create_index("ix_qc1_values_setting_history", "qc1_values", ["instrument_mode", "raw_type", "setting_key", "parameter", "night"], unique=False)
    op.create_table(
        "releases",
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("stream", sa.String(length=64), nullable=False),
        sa.Column("release_date", sa.Date(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False, comment="Markdown."),
        sa.Column("threshold_set", sa.String(length=128), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_releases")),
    )
    op.create_index(op.f("ix_releases_stream"), "releases", ["stream"], unique=False)
    op.create_table(
        "requests",
        sa.Column("request_id", sa.Uuid(), nullable=False),
        sa.Column("instrument_mode", sa.String(length=64), nullable=False),
        sa.Column("night", sa.Date(), nullable=False),
        sa.Column("night_to", sa.Date(), nullable=True),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("campaign_id", sa.String(length=128), nullable=True),
        sa.Column("priority", sa.SmallInteger(), nullable=False),
        sa.Column("reprocess", sa.Boolean(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("rules_version", sa.String(length=64), nullable=False),
        sa.Column("pipeline_version", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("request_id", name=op.f("pk_requests")),
    )
    op.create_index(op.f("ix_requests_campaign_id"), "requests", ["campaign_id"], unique=False)
    op.create_index(op.f("ix_requests_instrument_mode_night"), "requests", ["instrument_mode", "night"], unique=False)
    op.create_index(op.f("ix_requests_state"), "requests", ["state"], unique=False)
    op.create_table(
        "reviews",
        sa.Column("ab_id", sa.String(length=200), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("event", JSON_DOCUMENT, nullable=False, comment="The qc-scored event, so a decision can flow on."),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("decided_by", sa.String(length=128), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("ab_id", name=op.f("pk_reviews")),
    )
    op.create_index(op.f("ix_reviews_state_created_at"), "reviews", ["state", "created_at"], unique=False)
    op.create_table(
        "ab_history",
        sa.Column("id", AUTO_ID, autoincrement=True, nullable=False),
        sa.Column("ab_id", sa.String(length=200), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("service", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["ab_id"], ["association_blocks.ab_id"], name=op.f("fk_ab_history_ab_id_association_blocks"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ab_history")),
        sa.UniqueConstraint("ab_id", "event_id", "state", name=op.f("uq_ab_history_ab_id_event_id_state")),
    )
    op.create_index(op.f("ix_ab_history_ab_id"), "ab_history", ["ab_id"], unique=False)
    op.create_table(
        "products",
        sa.Column("product_id", sa.String(length=64), nullable=False),
        sa.Column("ab_id", sa.String(length=200), nullable=False),
        sa.Column("lineage_key", sa.String(length=64), nullable=False, comment="Hash of AB, product category, arm and raw inputs: versions of one product share it."),
        sa.Column("instrument", sa.String(length=32), nullable=False),
        sa.Column("night", sa.Date(), nullable=True),
        sa.Column("target_name", sa.String(length=255), nullable=False),
        sa.Column("ra", sa.Float(), nullable=True, comment="ICRS right ascension [deg]."),
        sa.Column("dec", sa.Float(), nullable=True, comment="ICRS declination [deg]."),
        sa.Column("x", sa.Float(), nullable=True, comment="Unit vector of (ra, dec), for cone search."),
        sa.Column("y", sa.Float(), nullable=True),
        sa.Column("z", sa.Float(), nullable=True),
        sa.Column("t_min", sa.Float(), nullable=True, comment="Start of exposure [MJD]."),
        sa.Column("t_max", sa.Float(), nullable=True, comment="End of exposure [MJD]."),
        sa.Column("exposure_seconds", sa.Float(), nullable=True),
        sa.Column("wavelength_min_nm", sa.Float(), nullable=True),
        sa.Column("wavelength_max_nm", sa.Float(), nullable=True),
        sa.Column("resolving_power", sa.Float(), nullable=True),
        sa.Column("snr", sa.Float(), nullable=True),
        sa.Column("calib_level", sa.SmallInteger(), nullable=False),
        sa.Column("file_size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("access_uri", sa.String(length=1024), nullable=False),
        sa.Column("prodcatg", sa.String(length=64), nullable=False),
        sa.Column("arm", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("supersedes", sa.String(length=64), nullable=True),
        sa.Column("release_name", sa.String(length=128), nullable=True),
        sa.Column("ingested_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["release_name"], ["releases.name"], name=op.f("fk_products_release_name_releases")),
        sa.ForeignKeyConstraint(["supersedes"], ["products.product_id"], name=op.f("fk_products_supersedes_products")),
        sa.PrimaryKeyConstraint("product_id", name=op.f("pk_products")),
    )
    op.create_index(op.f("ix_products_ab_id"), "products", ["ab_id"], unique=False)
    op.create_index(op.f("ix_products_dec_ra"), "products", ["dec", "ra"], unique=False)
    op.create_index(op.f("ix_products_night"), "products", ["night"], unique=False)
    op.create_index(op.f("ix_products_release_name"), "products", ["release_name"], unique=False)
    op.create_index("ix_products_target_name_lower", "products", [sa.literal_column("lower(target_name)")], unique=False)
    op.create_index(op.f("ix_products_wavelength_min_nm_wavelength_max_nm"), "products", ["wavelength_min_nm", "wavelength_max_nm"], unique=False)
    op.create_index("uq_products_lineage_current", "products", ["lineage_key"], unique=True, postgresql_where=CURRENT_ONLY, sqlite_where=CURRENT_ONLY)
    op.create_table(
        "product_files",
        sa.Column("id", AUTO_ID, autoincrement=True, nullable=False),
        sa.Column("product_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False, comment="e.g. PREVIEW, QC_REPORT, LOG."),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("uri", sa.String(length=1024), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["product_id"], ["products.product_id"], name=op.f("fk_product_files_product_id_products"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_product_files")),
        sa.UniqueConstraint("product_id", "name", name=op.f("uq_product_files_product_id_name")),
    )
    op.create_table(
        "product_provenance",
        sa.Column("id", AUTO_ID, autoincrement=True, nullable=False),
        sa.Column("product_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["product_id"], ["products.product_id"], name=op.f("fk_product_provenance_product_id_products"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_product_provenance")),
        sa.UniqueConstraint("product_id", "kind", "name", name=op.f("uq_product_provenance_product_id_kind_name")),
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table("product_provenance")
    op.drop_table("product_files")
    op.drop_index("uq_products_lineage_current", table_name="products", postgresql_where=CURRENT_ONLY, sqlite_where=CURRENT_ONLY)
    op.drop_index(op.f("ix_products_wavelength_min_nm_wavelength_max_nm"), table_name="products")
    op.drop_index("ix_products_target_name_lower", table_name="products")
    op.drop_index(op.f("ix_products_release_name"), table_name="products")
    op.drop_index(op.f("ix_products_night"), table_name="products")
    op.drop_index(op.f("ix_products_dec_ra"), table_name="products")
    op.drop_index(op.f("ix_products_ab_id"), table_name="products")
    op.drop_table("products")
    op.drop_index(op.f("ix_ab_history_ab_id"), table_name="ab_history")
    op.drop_table("ab_history")
    op.drop_index(op.f("ix_reviews_state_created_at"), table_name="reviews")
    op.drop_table("reviews")
    op.drop_index(op.f("ix_requests_state"), table_name="requests")
    op.drop_index(op.f("ix_requests_instrument_mode_night"), table_name="requests")
    op.drop_index(op.f("ix_requests_campaign_id"), table_name="requests")
    op.drop_table("requests")
    op.drop_index(op.f("ix_releases_stream"), table_name="releases")
    op.drop_table("releases")
    op.drop_index("ix_qc1_values_setting_history", table_name="qc1_values")
    op.drop_index(op.f("ix_qc1_values_instrument_mode_parameter_night"), table_name="qc1_values")
    op.drop_table("qc1_values")
    op.drop_table("campaigns")
    op.drop_index(op.f("ix_calibrations_pro_catg_status_mjd_obs"), table_name="calibrations")
    op.drop_table("calibrations")
    op.drop_index(op.f("ix_association_blocks_state"), table_name="association_blocks")
    op.drop_index(op.f("ix_association_blocks_request_id"), table_name="association_blocks")
    op.drop_index(op.f("ix_association_blocks_instrument_mode_night"), table_name="association_blocks")
    op.drop_table("association_blocks")
    op.drop_table("api_tokens")
