"""Loading a snapshot (:mod:`.snapshot`) into an empty database, all or nothing.

:class:`SnapshotReader` checks each line as it comes: the header first (format,
version, schema revision), before anything is written; then each row against its
table, in table and primary-key order and in canonical form; and at the end the
trailer's row counts and checksum, and that nothing follows it. :func:`load_snapshot`
inserts the rows in batches inside the caller's one write transaction and, before
returning, reads back the row counts, the chain's height and the state hash. Every
refusal raises, so the caller's transaction rolls back and the database is left as
it was (one with no schema yet gets it in that same transaction). Memory stays
bounded: a line at a time, a batch of rows at a time.
"""

import hashlib
import json
from collections.abc import Iterator
from typing import Any, BinaryIO

from sqlalchemy import func, insert, inspect, literal, select
from sqlalchemy.exc import DataError, IntegrityError

from worker_manager.store import migrate
from worker_manager.store.canonical import BATCH_ROWS, RowError, TableCodec, table_codec
from worker_manager.store.snapshot import (
    FORMAT,
    MAX_LINE_BYTES,
    VERSION,
    SnapshotError,
    SnapshotHeader,
    SnapshotSummary,
    snapshot_tables,
)
from worker_manager.store.state_hash import STATE_TABLES, state_hash
from worker_manager.store.store import SchemaError, Session
from worker_manager.store.tables import node_meta


class TargetNotEmpty(RuntimeError):
    """The database already holds rows: a snapshot only loads into an empty one."""


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not a JSON number")


class SnapshotReader:
    """The lines of a snapshot, checked as they are read (see the module docstring).

    The header is read at once (:attr:`header`); :meth:`rows` yields the rows and
    checks the trailer when it reaches it, then :attr:`summary` holds its facts.
    """

    def __init__(self, stream: BinaryIO, *, max_line_bytes: int = MAX_LINE_BYTES) -> None:
        self._stream = stream
        self._max_line_bytes = max_line_bytes
        self._digest = hashlib.sha256()
        self._state = hashlib.sha256()
        self.line_number = 0
        self.summary: SnapshotSummary | None = None
        raw = self._next_line()
        self.header = self._header(raw, self._object(raw))
        self._digest.update(raw)

    def _fail(self, reason: str) -> SnapshotError:
        return SnapshotError(f"line {self.line_number}: {reason}")

    def _next_line(self) -> bytes:
        line = self._stream.readline(self._max_line_bytes + 1)
        self.line_number += 1
        if not line:
            if self.line_number == 1:
                raise SnapshotError("the snapshot is empty")
            raise self._fail("the snapshot ends here without its trailer: it is truncated")
        if len(line) > self._max_line_bytes:
            raise self._fail(f"longer than {self._max_line_bytes} bytes; not a snapshot line")
        if not line.endswith(b"\n"):
            raise self._fail("cut short (no newline at its end): the snapshot is truncated")
        return line

    def _object(self, raw: bytes) -> dict[str, Any]:
        try:
            value = json.loads(raw.decode("utf-8"), parse_constant=_refuse_constant)
        except UnicodeDecodeError:
            raise self._fail("not UTF-8 text") from None
        except (ValueError, RecursionError) as exc:
            raise self._fail(f"not valid JSON ({str(exc)[:80]})") from None
        if not isinstance(value, dict):
            raise self._fail("not a JSON object")
        return value

    def _header(self, raw: bytes, value: dict[str, Any]) -> SnapshotHeader:
        if value.get("format") != FORMAT:
            raise self._fail(f'not a worker-manager snapshot (no "format": "{FORMAT}")')
        version = value.get("version")
        if version != VERSION or isinstance(version, bool):
            raise self._fail(
                f"snapshot format version {json.dumps(version)} is not supported; "
                f"this worker-manager reads version {VERSION}"
            )
        revision, head = value.get("schema_revision"), migrate.head_revision()
        if revision != head:
            raise self._fail(
                f"the snapshot's schema revision is {json.dumps(revision)}, this "
                f"worker-manager's is {head}: migrate the source to {head} and export it "
                "again, or import with the worker-manager version that exported it"
            )
        chain_id, height = value.get("chain_id"), value.get("height")
        if not isinstance(chain_id, str) or not isinstance(height, int) or height < 1:
            raise self._fail("the header needs a chain_id (text) and a height (1 or more)")
        header = SnapshotHeader(revision, chain_id, height)
        if header.line() != raw:
            raise self._fail("the header is not in canonical form (unknown keys?)")
        return header

    def rows(self) -> Iterator[tuple[TableCodec, dict[str, object]]]:
        """Each row with its table's codec, in the file's order; the trailer ends it."""
        tables = snapshot_tables()
        position = {table.name: index for index, table in enumerate(tables)}
        counts = {table.name: 0 for table in tables}
        current, last_key = -1, None
        while True:
            raw = self._next_line()
            value = self._object(raw)
            if "end" in value and "table" not in value:
                self._trailer(raw, value, counts)
                return
            name = value.get("table")
            if not isinstance(name, str) or name not in position:
                raise self._fail(f"no table named {json.dumps(name)[:70]}")
            if set(value) != {"row", "table"}:
                raise self._fail('a row line holds "row" and "table" only')
            if position[name] < current:
                raise self._fail(f"a row of {name} after those of {tables[current].name}")
            if position[name] > current:
                current, last_key = position[name], None
            codec = table_codec(tables[current])
            try:
                row = codec.decode(value["row"])
            except RowError as exc:
                raise self._fail(f"{name}: {exc}") from None
            key = codec.key(row)
            if last_key is not None and key <= last_key:
                raise self._fail(f"{name}: rows out of primary-key order, or repeated")
            if codec.line([row[c.name] for c in codec.columns]) != raw:
                raise self._fail("not in canonical form")
            last_key = key
            counts[name] += 1
            self._digest.update(raw)
            if codec.table in STATE_TABLES:
                self._state.update(raw)
            yield codec, row

    def _trailer(self, raw: bytes, value: dict[str, Any], counts: dict[str, int]) -> None:
        summary = SnapshotSummary(
            self.header, counts, self._digest.hexdigest(), self._state.hexdigest()
        )
        if value.get("end") != FORMAT:
            raise self._fail("neither a row nor the trailer")
        if value.get("sha256") != summary.sha256:
            raise self._fail(
                "the trailer's sha256 does not match the lines before it: "
                "the snapshot was changed or damaged"
            )
        if value.get("rows") != counts:
            raise self._fail("the trailer's row counts do not match the rows")
        if raw != summary.trailer_line():
            raise self._fail("the trailer is not in canonical form, or its totals are wrong")
        if self._stream.read(1):
            raise self._fail("there is more after the trailer")
        self.summary = summary


def _prepare(session: Session) -> None:
    """Give an empty database the schema, or check it has this code's and no rows."""
    connection = session.connection
    revision, head = migrate.current_revision(connection), migrate.head_revision()
    if revision is None:
        if inspect(connection).has_table(node_meta.name):
            raise SchemaError("the database has worker-manager tables but no schema revision")
        migrate.upgrade(connection)
    elif revision != head:
        raise SchemaError(f"the database schema is at {revision}, this code's is {head}")
    for table in snapshot_tables():
        if connection.execute(select(literal(1)).select_from(table).limit(1)).first():
            chain_id = session.meta.get("chain_id")
            held = f"chain {chain_id}" if chain_id else f"rows in {table.name}"
            raise TargetNotEmpty(f"the database already holds {held}; import needs an empty one")


def _insert(session: Session, codec: TableCodec, rows: list[dict[str, object]], end: int) -> None:
    try:
        session.connection.execute(insert(codec.table), rows)
    except (IntegrityError, DataError) as exc:
        where = f"lines {end - len(rows) + 1}-{end}" if len(rows) > 1 else f"line {end}"
        reason = str(exc.orig).splitlines()[0] if exc.orig else str(exc)
        raise SnapshotError(
            f"{where}: the database refused a row of {codec.name}: {reason}"
        ) from None


def check_loaded(session: Session, summary: SnapshotSummary) -> None:
    """Read back what was loaded: the row counts, the chain id and height and the state
    hash must be the snapshot's (:class:`SnapshotError` if not)."""
    connection = session.connection
    for table in snapshot_tables():
        count = connection.execute(select(func.count()).select_from(table)).scalar_one()
        if count != summary.rows[table.name]:
            raise SnapshotError(
                f"{table.name} holds {count} rows once loaded, not as the trailer says"
            )
    header = summary.header
    if (session.meta.get("chain_id"), session.meta.get("height")) != (
        header.chain_id,
        str(header.height),
    ):
        raise SnapshotError("the header's chain id or height differs from node_meta's rows")
    loaded = state_hash(session)
    if loaded != summary.state_hash:
        raise SnapshotError(f"the loaded state hashes to {loaded}, not the snapshot's")


def load_snapshot(
    session: Session, reader: SnapshotReader, *, batch_rows: int = BATCH_ROWS
) -> SnapshotSummary:
    """Load every row of ``reader`` into ``session``'s empty database and check it.

    Raises :class:`SnapshotError` (a bad snapshot), :class:`TargetNotEmpty` or
    :class:`~.store.SchemaError` (a database that cannot take it); the caller's
    transaction must then roll back.
    """
    _prepare(session)
    batch: list[dict[str, object]] = []
    batch_codec: TableCodec | None = None
    for codec, row in reader.rows():
        if batch_codec is not None and (codec is not batch_codec or len(batch) >= batch_rows):
            _insert(session, batch_codec, batch, reader.line_number - 1)
            batch = []
        batch_codec = codec
        batch.append(row)
    if batch_codec is not None and batch:
        _insert(session, batch_codec, batch, reader.line_number - 1)
    assert reader.summary is not None  # rows() returns only after checking the trailer
    check_loaded(session, reader.summary)
    return reader.summary
