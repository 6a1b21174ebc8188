"""Database engines: SQLite (WAL, durable commits) by default, PostgreSQL to scale out.

SQLite is opened with ``journal_mode=WAL`` (readers never block the writer),
``synchronous=FULL`` (a commit survives power loss) and write transactions
that start with ``BEGIN IMMEDIATE`` (the write lock is taken up front, so two
writers queue instead of failing half way with "database is locked").
"""

import sqlite3
from typing import Any, Literal

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.pool import StaticPool

Role = Literal["write", "read"]

SQLITE_BUSY_TIMEOUT_MS = 30_000


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def is_memory_sqlite(url: str) -> bool:
    parsed = make_url(url)
    return parsed.get_backend_name() == "sqlite" and parsed.database in (None, "", ":memory:")


def _sqlite_engine(url: str, role: Role) -> Engine:
    memory = is_memory_sqlite(url)
    kwargs: dict[str, Any] = {"connect_args": {"check_same_thread": False}}
    if memory:
        kwargs["poolclass"] = StaticPool
    elif role == "write":
        kwargs["pool_size"] = 1
        kwargs["max_overflow"] = 0
    engine = create_engine(url, **kwargs)
    begin = "BEGIN IMMEDIATE" if role == "write" or memory else "BEGIN"

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, _record: object) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves, below
        cursor = dbapi_connection.cursor()
        if not memory:
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql(begin)

    return engine


def create_store_engine(url: str, role: Role) -> Engine:
    """An engine for ``url``: writers get one connection on SQLite, readers a pool."""
    if is_sqlite(url):
        return _sqlite_engine(url, role)
    return create_engine(url, pool_pre_ping=True, pool_size=5 if role == "read" else 2)
