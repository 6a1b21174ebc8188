"""Why: the dashboard's workers table filters by attestation verdict and by status (a band
of ``last_seen_index``) in address order; these indexes serve both as keyset ranges.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_workers_attestation_status", "workers", ["attestation_status", "ip_address"]
    )
    op.create_index("ix_workers_seen_address", "workers", ["last_seen_index", "ip_address"])


def downgrade() -> None:
    op.drop_index("ix_workers_seen_address", "workers")
    op.drop_index("ix_workers_attestation_status", "workers")
