"""Snapshots: a database's whole content as JSON Lines, the same bytes on every engine.

A snapshot moves a network from one database to another (SQLite to PostgreSQL and
back). Its lines, each one canonical JSON object (:mod:`.canonical`):

1. the header: ``{"chain_id":…,"format":"worker-manager-snapshot","height":…,
   "schema_revision":…,"version":1}``;
2. every row of every table of :data:`~.tables.metadata` (Alembic's own is not one),
   tables in ``metadata.sorted_tables`` order and rows in primary-key order:
   ``{"row":{…},"table":"workers"}``;
3. the trailer: ``{"end":"worker-manager-snapshot","rows":{table: count},
   "sha256":…,"state_hash":…,"total":…}``, where ``sha256`` covers every line before
   it, bytes and newlines, so a truncated or edited file is refused at import, and
   ``state_hash`` is :func:`~.state_hash.state_hash` of the rows.

No timestamp, engine or path is written: the same state gives the same file. The
node's seed is never in it, but the tx log is, with the plaintext of every message
(Secret's encrypted ones too): keep a snapshot as private as the database.
"""

import hashlib
from dataclasses import dataclass
from typing import BinaryIO

from sqlalchemy import Table

from worker_manager.store import migrate
from worker_manager.store.canonical import BATCH_ROWS, canonical_json, iter_lines
from worker_manager.store.one_moment import see_one_moment
from worker_manager.store.state_hash import STATE_TABLES
from worker_manager.store.store import Session
from worker_manager.store.tables import metadata

FORMAT = "worker-manager-snapshot"
VERSION = 1
#: The longest line an import reads. A row is at most a few times the largest tx
#: (16 MiB, base64 and its messages as text); anything longer is refused unread.
MAX_LINE_BYTES = 64 * 1024 * 1024


class SnapshotError(ValueError):
    """A snapshot that cannot be written or read: the message says where and why."""


@dataclass(frozen=True, slots=True)
class SnapshotHeader:
    """The first line: what the snapshot holds and which schema its rows fit."""

    schema_revision: str
    chain_id: str
    height: int

    def line(self) -> bytes:
        return canonical_json(
            {
                "chain_id": self.chain_id,
                "format": FORMAT,
                "height": self.height,
                "schema_revision": self.schema_revision,
                "version": VERSION,
            }
        )


@dataclass(frozen=True, slots=True)
class SnapshotSummary:
    """The header and the trailer's facts of a snapshot written or loaded."""

    header: SnapshotHeader
    rows: dict[str, int]
    sha256: str
    state_hash: str

    @property
    def total(self) -> int:
        return sum(self.rows.values())

    def trailer_line(self) -> bytes:
        return canonical_json(
            {
                "end": FORMAT,
                "rows": self.rows,
                "sha256": self.sha256,
                "state_hash": self.state_hash,
                "total": self.total,
            }
        )


def snapshot_tables() -> tuple[Table, ...]:
    """The tables a snapshot holds, in the order it writes them."""
    return tuple(t for t in metadata.sorted_tables if t.name != "alembic_version")


def read_header(session: Session) -> SnapshotHeader:
    """The header for the chain in ``session``'s database (:class:`SnapshotError` if none)."""
    revision = migrate.current_revision(session.connection)
    chain_id, height = session.meta.get("chain_id"), int(session.meta.get("height") or 0)
    if revision is None or chain_id is None or height < 1:
        raise SnapshotError("the database holds no chain to export")
    return SnapshotHeader(revision, chain_id, height)


def write_snapshot(
    session: Session, out: BinaryIO, *, batch_rows: int = BATCH_ROWS
) -> SnapshotSummary:
    """Write the snapshot of ``session``'s database to ``out``, streaming each table in
    batches of ``batch_rows``. ``session`` is a read that has read nothing yet: it is
    made to see one moment (:func:`~.one_moment.see_one_moment`), so nodes may write
    meanwhile."""
    see_one_moment(session.connection)
    header = read_header(session)
    digest, state = hashlib.sha256(), hashlib.sha256()
    first = header.line()
    out.write(first)
    digest.update(first)
    rows: dict[str, int] = {}
    for table in snapshot_tables():
        count = 0
        in_state = table in STATE_TABLES
        for line in iter_lines(session.connection, table, batch_rows=batch_rows):
            out.write(line)
            digest.update(line)
            if in_state:
                state.update(line)
            count += 1
        rows[table.name] = count
    summary = SnapshotSummary(header, rows, digest.hexdigest(), state.hexdigest())
    out.write(summary.trailer_line())
    return summary
