"""The database schema as SQLAlchemy Core metadata (Alembic migrations create it).

Portable SQL only: the same tables serve SQLite and PostgreSQL. Text keys sort
byte-wise on both (``COLLATE "C"`` on PostgreSQL, SQLite's default BINARY), so
pages of ``get_workers`` come out in the same order everywhere.
"""

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)
from sqlalchemy.sql.expression import false
from sqlalchemy.types import TypeEngine


def key_text(length: int) -> TypeEngine[str]:
    """A text key that sorts byte-wise on every database."""
    return String(length).with_variant(String(length, collation="C"), "postgresql")


metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "pk": "pk_%(table_name)s",
    }
)

#: Node-level facts: chain id, contract address and code hash, height.
node_meta = Table(
    "node_meta",
    metadata,
    Column("key", key_text(64), primary_key=True),
    Column("value", Text, nullable=False),
)

#: Contract singletons (the config) as JSON, one row per key.
contract_state = Table(
    "contract_state",
    metadata,
    Column("key", key_text(64), primary_key=True),
    Column("value", Text, nullable=False),
)

workers = Table(
    "workers",
    metadata,
    Column("ip_address", key_text(300), primary_key=True),
    Column("payment_wallet", key_text(100), nullable=False),
    Column("worker_type", key_text(64), nullable=False),
    Column("url", Text, nullable=True),
    Column("worker_public_key", key_text(66), nullable=True, unique=True),
    Column("capacity", Integer, nullable=False),
    Column("registered_height", BigInteger, nullable=False),
    Column("registered_time", BigInteger, nullable=False),
    Column("updated_height", BigInteger, nullable=False),
    Column("last_seen_index", BigInteger, nullable=True),
    Column("last_seen_epoch", BigInteger, nullable=True),
    Column("last_seen_time", BigInteger, nullable=True),
    Column("load", Integer, nullable=False, server_default="0"),
    Column("paused", Boolean, nullable=False, server_default=false()),
    Column("attestation_status", String(16), nullable=False, server_default="unchecked"),
    Column("attestation_reasons", Text, nullable=False, server_default=""),
    Column("attested_index", BigInteger, nullable=True),
    Column("endpoint_status", String(16), nullable=True),
    Column("endpoint_check", Text, nullable=True),
    Index("ix_workers_payment_wallet", "payment_wallet", "ip_address"),
    Index("ix_workers_worker_type", "worker_type", "ip_address"),
    Index("ix_workers_serving", "worker_type", "last_seen_index"),
    Index("ix_workers_last_seen_index", "last_seen_index"),
    Index("ix_workers_attestation_status", "attestation_status", "ip_address"),
    Index("ix_workers_seen_address", "last_seen_index", "ip_address"),
)

#: Attestation reports, kept apart from ``workers`` (they are kilobytes each) so
#: scans of the live set never read them.
worker_reports = Table(
    "worker_reports",
    metadata,
    Column("ip_address", key_text(300), primary_key=True),
    Column("attestation_report", Text, nullable=False),
    Column("attestation_verdict", Text, nullable=True),
)

#: One row per (worker, period) reported: at most one report each.
work_reports = Table(
    "work_reports",
    metadata,
    Column("ip_address", key_text(300), primary_key=True),
    Column("period", BigInteger, primary_key=True, autoincrement=False),
    Column("payment_wallet", key_text(100), nullable=False),
    Column("reported_height", BigInteger, nullable=False),
    Column("reported_time", BigInteger, nullable=False),
    Index("ix_work_reports_period", "period", "ip_address"),
)

#: The lines of each work report: one subscriber's use in that period.
work_usage = Table(
    "work_usage",
    metadata,
    Column("ip_address", key_text(300), primary_key=True),
    Column("period", BigInteger, primary_key=True, autoincrement=False),
    Column("subscriber", key_text(130), primary_key=True),
    Column("requests", BigInteger, nullable=False),
    Column("input_tokens", BigInteger, nullable=False),
    Column("output_tokens", BigInteger, nullable=False),
    Index("ix_work_usage_subscriber", "subscriber", "period"),
)

subscribers = Table(
    "subscribers",
    metadata,
    Column("public_key", key_text(66), primary_key=True),
    Column("added_height", BigInteger, nullable=False),
)

#: SNIP-24 permits revoked by their signer (``revoke_permit``): one row per (account, name).
revoked_permits = Table(
    "revoked_permits",
    metadata,
    Column("account", key_text(100), primary_key=True),
    Column("permit_name", key_text(256), primary_key=True),
    Column("revoked_height", BigInteger, nullable=False),
)

#: Accounts that have sent a transaction: the next sequence and the key they sign with.
accounts = Table(
    "accounts",
    metadata,
    Column("address", key_text(100), primary_key=True),
    Column("account_number", BigInteger, nullable=False),
    Column("sequence", BigInteger, nullable=False),
    Column("public_key", key_text(66), nullable=True),
    Column("first_height", BigInteger, nullable=False),
)

#: One row per committed block; ``hash`` chains each block to the one before.
blocks = Table(
    "blocks",
    metadata,
    Column("height", BigInteger, primary_key=True, autoincrement=False),
    Column("time_ns", BigInteger, nullable=False),
    Column("tx_count", Integer, nullable=False),
    Column("hash", key_text(64), nullable=False),
)

#: Every transaction with its outcome; ``messages`` holds the plaintext contract
#: messages, so the state can be replayed from the log.
txs = Table(
    "txs",
    metadata,
    Column("hash", key_text(64), primary_key=True),
    Column("height", BigInteger, nullable=False),
    Column("tx_index", Integer, nullable=False),
    Column("kind", key_text(16), nullable=False),
    Column("sender", key_text(100), nullable=False),
    Column("sequence", BigInteger, nullable=True),
    Column("tx_bytes", LargeBinary, nullable=True),
    Column("messages", Text, nullable=False),
    Column("code", Integer, nullable=False),
    Column("codespace", key_text(32), nullable=False),
    Column("error", key_text(64), nullable=True),
    Column("log", Text, nullable=False),
    Column("data", LargeBinary, nullable=False),
    Column("events", Text, nullable=False),
    Column("gas_wanted", BigInteger, nullable=False),
    Column("gas_used", BigInteger, nullable=False),
    Column("fee", Text, nullable=False),
    Column("memo", Text, nullable=False),
    Column("time_ns", BigInteger, nullable=False),
    Column("failed_msg_index", Integer, nullable=True),
    # per message, the inputs the node vouched for (attestation evidence), as JSON
    Column("inputs", Text, nullable=True),
    Index("ix_txs_height_tx_index", "height", "tx_index", unique=True),
    Index("ix_txs_sender", "sender", "height"),
)
