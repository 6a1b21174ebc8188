"""Why: liveliness (last answer, load, pause) on workers, work reports, and attestation
reports moved to their own table so scans of workers stay small.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _key(length: int) -> sa.types.TypeEngine[str]:
    return sa.String(length).with_variant(sa.String(length, collation="C"), "postgresql")


def upgrade() -> None:
    op.create_table(
        "worker_reports",
        sa.Column("ip_address", _key(300), nullable=False),
        sa.Column("attestation_report", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("ip_address", name="pk_worker_reports"),
    )
    op.execute(
        "INSERT INTO worker_reports (ip_address, attestation_report) "
        "SELECT ip_address, attestation_report FROM workers"
    )
    with op.batch_alter_table("workers") as batch:
        batch.drop_column("attestation_report")
        batch.add_column(sa.Column("last_seen_index", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("last_seen_epoch", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("last_seen_time", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("load", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(
            sa.Column("paused", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.execute("UPDATE workers SET last_seen_index = 0")
    op.create_index("ix_workers_serving", "workers", ["worker_type", "last_seen_index"])
    op.create_index("ix_workers_last_seen_index", "workers", ["last_seen_index"])
    op.create_table(
        "work_reports",
        sa.Column("ip_address", _key(300), nullable=False),
        sa.Column("period", sa.BigInteger(), nullable=False),
        sa.Column("payment_wallet", _key(100), nullable=False),
        sa.Column("reported_height", sa.BigInteger(), nullable=False),
        sa.Column("reported_time", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("ip_address", "period", name="pk_work_reports"),
    )
    op.create_index("ix_work_reports_period", "work_reports", ["period", "ip_address"])
    op.create_table(
        "work_usage",
        sa.Column("ip_address", _key(300), nullable=False),
        sa.Column("period", sa.BigInteger(), nullable=False),
        sa.Column("subscriber", _key(130), nullable=False),
        sa.Column("requests", sa.BigInteger(), nullable=False),
        sa.Column("input_tokens", sa.BigInteger(), nullable=False),
        sa.Column("output_tokens", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("ip_address", "period", "subscriber", name="pk_work_usage"),
    )
    op.create_index("ix_work_usage_subscriber", "work_usage", ["subscriber", "period"])


def downgrade() -> None:
    op.drop_index("ix_work_usage_subscriber", table_name="work_usage")
    op.drop_table("work_usage")
    op.drop_index("ix_work_reports_period", table_name="work_reports")
    op.drop_table("work_reports")
    op.drop_index("ix_workers_last_seen_index", table_name="workers")
    op.drop_index("ix_workers_serving", table_name="workers")
    with op.batch_alter_table("workers") as batch:
        batch.drop_column("paused")
        batch.drop_column("load")
        batch.drop_column("last_seen_time")
        batch.drop_column("last_seen_epoch")
        batch.drop_column("last_seen_index")
        batch.add_column(
            sa.Column("attestation_report", sa.Text(), nullable=False, server_default="")
        )
    op.execute(
        "UPDATE workers SET attestation_report = (SELECT r.attestation_report "
        "FROM worker_reports r WHERE r.ip_address = workers.ip_address)"
    )
    op.drop_table("worker_reports")
