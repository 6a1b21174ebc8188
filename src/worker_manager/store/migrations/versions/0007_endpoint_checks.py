"""Why: the node checks each worker's TLS endpoint against the certificate bound into its
quote; a worker whose endpoint serves another certificate (or none) stops being served.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("workers") as batch:
        batch.add_column(sa.Column("endpoint_status", sa.String(16), nullable=True))
        batch.add_column(sa.Column("endpoint_check", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("workers") as batch:
        batch.drop_column("endpoint_check")
        batch.drop_column("endpoint_status")
