"""Why: a failed tx must say which of its messages failed (Secret's raw_log names it).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("txs") as batch:
        batch.add_column(sa.Column("failed_msg_index", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("txs") as batch:
        batch.drop_column("failed_msg_index")
