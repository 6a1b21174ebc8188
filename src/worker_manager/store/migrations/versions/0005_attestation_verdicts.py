"""Why: attestation verdicts on workers (status for serving, the full verdict beside the report).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("workers") as batch:
        batch.add_column(
            sa.Column(
                "attestation_status", sa.String(16), nullable=False, server_default="unchecked"
            )
        )
        batch.add_column(
            sa.Column("attestation_reasons", sa.Text(), nullable=False, server_default="")
        )
        batch.add_column(sa.Column("attested_index", sa.BigInteger(), nullable=True))
    with op.batch_alter_table("worker_reports") as batch:
        batch.add_column(sa.Column("attestation_verdict", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("worker_reports") as batch:
        batch.drop_column("attestation_verdict")
    with op.batch_alter_table("workers") as batch:
        batch.drop_column("attested_index")
        batch.drop_column("attestation_reasons")
        batch.drop_column("attestation_status")
