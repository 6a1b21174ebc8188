"""Why: the WorkerManager's own state (config, workers, subscribers) and node facts.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _key(length: int) -> sa.types.TypeEngine[str]:
    return sa.String(length).with_variant(sa.String(length, collation="C"), "postgresql")


def upgrade() -> None:
    op.create_table(
        "node_meta",
        sa.Column("key", _key(64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_node_meta"),
    )
    op.create_table(
        "contract_state",
        sa.Column("key", _key(64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_contract_state"),
    )
    op.create_table(
        "workers",
        sa.Column("ip_address", _key(300), nullable=False),
        sa.Column("payment_wallet", _key(100), nullable=False),
        sa.Column("attestation_report", sa.Text(), nullable=False),
        sa.Column("worker_type", _key(64), nullable=False),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("worker_public_key", _key(66), nullable=True),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("registered_height", sa.BigInteger(), nullable=False),
        sa.Column("registered_time", sa.BigInteger(), nullable=False),
        sa.Column("updated_height", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("ip_address", name="pk_workers"),
        sa.UniqueConstraint("worker_public_key", name="uq_workers_worker_public_key"),
    )
    op.create_index("ix_workers_payment_wallet", "workers", ["payment_wallet", "ip_address"])
    op.create_index("ix_workers_worker_type", "workers", ["worker_type", "ip_address"])
    op.create_table(
        "subscribers",
        sa.Column("public_key", _key(66), nullable=False),
        sa.Column("added_height", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("public_key", name="pk_subscribers"),
    )


def downgrade() -> None:
    op.drop_table("subscribers")
    op.drop_index("ix_workers_worker_type", table_name="workers")
    op.drop_index("ix_workers_payment_wallet", table_name="workers")
    op.drop_table("workers")
    op.drop_table("contract_state")
    op.drop_table("node_meta")
