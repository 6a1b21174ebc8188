"""The Store: transactions over the database, handing out typed accessors.

``write()`` opens one transaction (on SQLite, ``BEGIN IMMEDIATE``) and commits
it only if the block inside returns; any exception rolls everything back.
``read()`` gives a consistent snapshot for queries.

Several node processes may share one database: on PostgreSQL any number of nodes
on any machines, on SQLite the processes of one machine. One of them at a time
writes a block (:meth:`Session.lock_blocks`) and says so to the others
(:meth:`Session.announce_block`, :class:`BlockListener`); see docs/scaling.md.
"""

import logging
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass

from sqlalchemy import Connection, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import InterfaceError, OperationalError

from worker_manager.failures import ServiceUnavailable
from worker_manager.store import migrate
from worker_manager.store.engine import create_store_engine, is_memory_sqlite
from worker_manager.store.ledger import Ledger
from worker_manager.store.meta import NodeMeta
from worker_manager.store.storage import SqlStorage

log = logging.getLogger(__name__)

#: The PostgreSQL advisory lock a node holds while it writes a block (any fixed
#: 64-bit number, the same for every node of every version).
BLOCK_LOCK_KEY = 0x776D_626C_6F63_6B73  # "wmblocks"
#: The channel on which a node announces each block it commits (LISTEN/NOTIFY).
BLOCKS_CHANNEL = "worker_manager_blocks"


class SchemaError(RuntimeError):
    """The database schema is missing, newer than this code, or otherwise unusable."""


class StoreUnavailable(ServiceUnavailable):
    """The database cannot answer now (gone, unreachable, locked past the busy timeout):
    the node's trouble, not the client's (the API answers 503 ``node_unavailable``)."""


@dataclass(frozen=True, slots=True)
class Session:
    """Accessors bound to one open transaction."""

    connection: Connection
    contract: SqlStorage
    meta: NodeMeta
    ledger: Ledger

    @classmethod
    def on(cls, connection: Connection) -> "Session":
        return cls(connection, SqlStorage(connection), NodeMeta(connection), Ledger(connection))

    @property
    def _postgres(self) -> bool:
        return self.connection.dialect.name == "postgresql"

    def lock_blocks(self) -> None:
        """Be the one block writer until this transaction ends.

        PostgreSQL: a transaction-level advisory lock, released at commit, rollback,
        or when the node's connection dies (a killed node never keeps it). SQLite:
        nothing to do, ``BEGIN IMMEDIATE`` already holds the database's write lock.
        Read the head only after this: it may have moved while waiting.
        """
        if self._postgres:
            self.connection.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": BLOCK_LOCK_KEY}
            )

    def announce_block(self, height: int) -> None:
        """Tell listening nodes that block ``height`` is in (sent when this commits)."""
        if self._postgres:
            self.connection.execute(
                text("SELECT pg_notify(:channel, :height)"),
                {"channel": BLOCKS_CHANNEL, "height": str(height)},
            )


class Store:
    """Database access for one node. Build it with a URL; call :meth:`close` when done."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._memory = is_memory_sqlite(url)
        self._writer = create_store_engine(url, "write")
        self._reader = self._writer if self._memory else create_store_engine(url, "read")
        # One in-memory connection is shared by every thread: take turns on it.
        self._memory_lock = threading.RLock() if self._memory else None

    def _turn(self) -> AbstractContextManager[object]:
        return self._memory_lock if self._memory_lock is not None else nullcontext()

    @contextmanager
    def write(self) -> Iterator[Session]:
        """One write transaction: commits when the block returns, rolls back on any error."""
        with self._turn(), self._writer.begin() as connection:
            yield Session.on(connection)

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only snapshot (rolled back at the end, so nothing it did can stick).

        Raises :class:`StoreUnavailable` when the database cannot be reached or answer."""
        try:
            with self._turn(), self._reader.connect() as connection, connection.begin() as tx:
                try:
                    yield Session.on(connection)
                finally:
                    tx.rollback()
        except (OperationalError, InterfaceError) as exc:
            reason = str(exc.orig or exc).strip().splitlines()[0]
            raise StoreUnavailable(f"the database cannot be read now: {reason}") from exc

    @property
    def announces_blocks(self) -> bool:
        """Whether :meth:`listen_blocks` works here (PostgreSQL); else nodes poll."""
        return make_url(self.url).get_backend_name() == "postgresql"

    def listen_blocks(self) -> "BlockListener":
        """A connection of its own that hears every block any node commits."""
        return BlockListener(self.url)

    def migrate(self) -> tuple[str | None, str]:
        """Upgrade the schema to this code's head; returns (before, after) revisions.

        Raises :class:`SchemaError` for a schema newer than this code, and
        :class:`StoreUnavailable` when the database cannot be reached."""
        try:
            with self.write() as session:
                before = migrate.current_revision(session.connection)
                if before is not None and before not in migrate.known_revisions():
                    raise SchemaError(
                        f"the database schema is at {before}, newer than this code knows "
                        f"(its newest is {migrate.head_revision()}): use the worker-manager "
                        "version that wrote it"
                    )
                migrate.upgrade(session.connection)
                after = migrate.current_revision(session.connection)
        except (OperationalError, InterfaceError) as exc:
            reason = str(exc.orig or exc).strip().splitlines()[0]
            raise StoreUnavailable(
                f"the database at {self.safe_url} cannot be migrated now: {reason}"
            ) from exc
        if before != after:
            log.info("database schema upgraded from %s to %s", before or "empty", after)
        return before, after or ""

    def schema_version(self) -> str | None:
        with self.read() as session:
            return migrate.current_revision(session.connection)

    def check_schema(self) -> str:
        """Return the schema revision, or raise SchemaError if it is not this code's head."""
        current = self.schema_version()
        head = migrate.head_revision()
        if current is None:
            raise SchemaError(f"the database at {self.safe_url} is empty; run worker-manager init")
        if current != head:
            raise SchemaError(
                f"the database schema is at {current}, this code expects {head}; "
                "run worker-manager migrate (or use a matching worker-manager version)"
            )
        return current

    @property
    def safe_url(self) -> str:
        """The URL with any password hidden, for logs and errors."""
        return make_url(self.url).render_as_string(hide_password=True)

    def close(self) -> None:
        self._writer.dispose()
        if self._reader is not self._writer:
            self._reader.dispose()


class BlockListener:
    """``LISTEN`` on the blocks channel, on a dedicated autocommit psycopg connection."""

    def __init__(self, url: str) -> None:
        import psycopg

        conninfo = make_url(url).set(drivername="postgresql").render_as_string(False)
        self._connection = psycopg.connect(conninfo, autocommit=True)
        self._connection.execute(f"LISTEN {BLOCKS_CHANNEL}")

    def wait(self, timeout_s: float) -> int | None:
        """The highest height announced within ``timeout_s``, or None if none was."""
        heights = [
            int(n.payload)
            for n in self._connection.notifies(timeout=timeout_s, stop_after=1)
            if n.payload.isdigit()
        ]
        return max(heights, default=None)

    def close(self) -> None:
        self._connection.close()
