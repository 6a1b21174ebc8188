"""Why: SNIP-24 query permits their signers revoked (revoke_permit), kept with the state.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _key(length: int) -> sa.types.TypeEngine[str]:
    return sa.String(length).with_variant(sa.String(length, collation="C"), "postgresql")


def upgrade() -> None:
    op.create_table(
        "revoked_permits",
        sa.Column("account", _key(100), nullable=False),
        sa.Column("permit_name", _key(256), nullable=False),
        sa.Column("revoked_height", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("account", "permit_name", name="pk_revoked_permits"),
    )


def downgrade() -> None:
    op.drop_table("revoked_permits")
