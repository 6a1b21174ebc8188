"""Database engines: SQLite (WAL, durable commits) by default, PostgreSQL to scale out.

SQLite is opened with ``journal_mode=WAL`` (readers never block the writer),
``synchronous=FULL`` (a commit survives power loss) and write transactions
that start with ``BEGIN IMMEDIATE`` (the write lock is taken up front, so two
writers queue instead of failing half way with "database is locked").
A new database file is created owner-only (0600) whatever the umask; SQLite gives
its ``-wal`` and ``-shm`` files the database file's mode.
"""

import os
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


def _create_private(url: str) -> None:
    """Create the database file empty and owner-only before SQLite creates it with the
    umask's mode (an empty file is an empty database to SQLite)."""
    path = make_url(url).database
    if not path or path.startswith("file:") or not os.path.isdir(os.path.dirname(path) or "."):
        return  # a URI filename, or a directory SQLite will refuse with its own error
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    try:
        os.fchmod(fd, 0o600)  # exactly, even under an odd umask such as 0o200
    finally:
        os.close(fd)


def _sqlite_engine(url: str, role: Role) -> Engine:
    memory = is_memory_sqlite(url)
    if not memory:
        _create_private(url)
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
    # an unreachable server fails a request (503) in seconds instead of hanging it
    parsed = make_url(url)
    connect_args = {} if "connect_timeout" in parsed.query else {"connect_timeout": 5}
    return create_engine(
        url, pool_pre_ping=True, pool_size=5 if role == "read" else 2, connect_args=connect_args
    )
