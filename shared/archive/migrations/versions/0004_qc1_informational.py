"""QC1 values say whether they are informational: measured and kept, deliberately not scored (the
threshold set lists them with a reason), as opposed to unscored for want of a threshold.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("qc1_values") as table:
        table.add_column(sa.Column("informational", sa.Boolean(), nullable=False, server_default=sa.false(),
                                   comment="Listed as informational by the threshold set: unscored on purpose."))


def downgrade() -> None:
    with op.batch_alter_table("qc1_values") as table:
        table.drop_column("informational")
