"""Why: signed transactions need accounts (sequences), blocks and a transaction log.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _key(length: int) -> sa.types.TypeEngine[str]:
    return sa.String(length).with_variant(sa.String(length, collation="C"), "postgresql")


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("address", _key(100), nullable=False),
        sa.Column("account_number", sa.BigInteger(), nullable=False),
        sa.Column("sequence", sa.BigInteger(), nullable=False),
        sa.Column("public_key", _key(66), nullable=True),
        sa.Column("first_height", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("address", name="pk_accounts"),
    )
    op.create_table(
        "blocks",
        sa.Column("height", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("time_ns", sa.BigInteger(), nullable=False),
        sa.Column("tx_count", sa.Integer(), nullable=False),
        sa.Column("hash", _key(64), nullable=False),
        sa.PrimaryKeyConstraint("height", name="pk_blocks"),
    )
    op.create_table(
        "txs",
        sa.Column("hash", _key(64), nullable=False),
        sa.Column("height", sa.BigInteger(), nullable=False),
        sa.Column("tx_index", sa.Integer(), nullable=False),
        sa.Column("kind", _key(16), nullable=False),
        sa.Column("sender", _key(100), nullable=False),
        sa.Column("sequence", sa.BigInteger(), nullable=True),
        sa.Column("tx_bytes", sa.LargeBinary(), nullable=True),
        sa.Column("messages", sa.Text(), nullable=False),
        sa.Column("code", sa.Integer(), nullable=False),
        sa.Column("codespace", _key(32), nullable=False),
        sa.Column("error", _key(64), nullable=True),
        sa.Column("log", sa.Text(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("events", sa.Text(), nullable=False),
        sa.Column("gas_wanted", sa.BigInteger(), nullable=False),
        sa.Column("gas_used", sa.BigInteger(), nullable=False),
        sa.Column("fee", sa.Text(), nullable=False),
        sa.Column("memo", sa.Text(), nullable=False),
        sa.Column("time_ns", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("hash", name="pk_txs"),
    )
    op.create_index("ix_txs_height_tx_index", "txs", ["height", "tx_index"], unique=True)
    op.create_index("ix_txs_sender", "txs", ["sender", "height"])


def downgrade() -> None:
    op.drop_index("ix_txs_sender", table_name="txs")
    op.drop_index("ix_txs_height_tx_index", table_name="txs")
    op.drop_table("txs")
    op.drop_table("blocks")
    op.drop_table("accounts")
