"""Indexes of the product search's orders and of a product's versions: a target search reads
(target_key, newest first) in index order, any other search of current products the partial
index (ingested_at, product_id) backwards, and the versions of a product are found by
lineage_key, so no page sorts or scans the catalogue.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CURRENT_ONLY = sa.text("status = 'CURRENT'")


def upgrade() -> None:
    op.drop_index(op.f("ix_products_target_key"), table_name="products")
    op.create_index("ix_products_target_key_newest", "products",
                    ["target_key", sa.text("ingested_at DESC"), sa.text("product_id DESC")])
    op.create_index("ix_products_current_newest", "products", ["ingested_at", "product_id"],
                    postgresql_where=CURRENT_ONLY, sqlite_where=CURRENT_ONLY)
    op.create_index(op.f("ix_products_lineage_key"), "products", ["lineage_key"])


def downgrade() -> None:
    op.drop_index(op.f("ix_products_lineage_key"), table_name="products")
    op.drop_index("ix_products_current_newest", table_name="products")
    op.drop_index("ix_products_target_key_newest", table_name="products")
    op.create_index(op.f("ix_products_target_key"), "products", ["target_key"])
