"""Products record how they were made: recipe, pipeline and phoenix versions, recipe parameters.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("products") as table:
        table.add_column(sa.Column("recipe", sa.String(length=64), nullable=False, server_default="",
                                   comment="Pipeline recipe that made the product."))
        table.add_column(sa.Column("pipeline_version", sa.String(length=64), nullable=False, server_default="",
                                   comment="e.g. uves/6.1.8."))
        table.add_column(sa.Column("phoenix_version", sa.String(length=32), nullable=False, server_default="",
                                   comment="phoenix version that ingested it."))
        table.add_column(sa.Column("parameters", JSON_DOCUMENT, nullable=False, server_default="{}",
                                   comment="Recipe parameters the pipeline recorded (PRO.REC1.PARAMi)."))


def downgrade() -> None:
    with op.batch_alter_table("products") as table:
        for column in ("parameters", "phoenix_version", "pipeline_version", "recipe"):
            table.drop_column(column)
