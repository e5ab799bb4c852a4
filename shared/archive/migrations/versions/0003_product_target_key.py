"""Products carry a search key of their target name (lower-case letters and digits), indexed, so a
target search ignores case, spaces and punctuation and accepts the start of a name.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TARGET_KEY = sa.String(length=255).with_variant(sa.String(length=255, collation="C"), "postgresql")
products = sa.table("products", sa.column("product_id", sa.String), sa.column("target_name", sa.String),
                    sa.column("target_key", sa.String))


def target_key(name: str) -> str:
    """As shared.archive.catalogue.target_key at the time of this revision (migrations do not import
    code that may change later)."""
    return "".join(character for character in name.casefold() if character.isalnum())


def upgrade() -> None:
    with op.batch_alter_table("products") as table:
        table.add_column(sa.Column("target_key", TARGET_KEY, nullable=False, server_default="",
                                   comment="target_name in lower-case letters and digits only, for prefix search."))
    connection = op.get_bind()
    names = connection.execute(sa.select(products.c.target_name).distinct()).scalars().all()
    for name in names:
        connection.execute(
            products.update().where(products.c.target_name == name).values(target_key=target_key(name or ""))
        )
    op.create_index(op.f("ix_products_target_key"), "products", ["target_key"])


def downgrade() -> None:
    op.drop_index(op.f("ix_products_target_key"), table_name="products")
    with op.batch_alter_table("products") as table:
        table.drop_column("target_key")
