"""Rows as canonical JSON: one encoding of the database that every engine gives alike.

A value is encoded by its column's type, never by what the driver returned: binary as
base64 text, integers as JSON integers, booleans as ``true``/``false``, text as text
and NULL as ``null``. A row is one line, ``{"row":{...},"table":"name"}``, with sorted
keys, no spaces and text written as UTF-8, so the same rows give the same bytes on
SQLite and on PostgreSQL. Rows come in primary-key order, which is byte order for text
keys on both engines (:func:`~worker_manager.store.tables.key_text`), and are read in
batches: a table of millions of rows is never held in memory whole.
"""

import base64
import binascii
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

from sqlalchemy import BigInteger, Column, Connection, Row, Table, select

#: Rows fetched per round trip when a table is read whole.
BATCH_ROWS = 1000

Kind = Literal["binary", "boolean", "integer", "text"]
_KINDS: Mapping[type, Kind] = {bytes: "binary", bool: "boolean", int: "integer", str: "text"}


class RowError(ValueError):
    """A row that does not fit its table (the message names the column)."""


def canonical_json(value: object) -> bytes:
    """``value`` as one line of canonical JSON (sorted keys, no spaces, UTF-8, newline)."""
    text = json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )
    return text.encode("utf-8") + b"\n"


@dataclass(frozen=True, slots=True)
class ColumnCodec:
    """How one column's values are written and read back."""

    name: str
    kind: Kind
    nullable: bool
    #: Integers: the bits the column holds (signed); text: the most characters, if bounded.
    bits: int | None = None
    max_length: int | None = None

    @classmethod
    def of(cls, column: Column[Any]) -> "ColumnCodec":
        kind = _KINDS.get(column.type.python_type)
        if kind is None:  # pragma: no cover - tests/store/test_snapshot.py covers every table
            raise TypeError(f"{column.table.name}.{column.name}: no canonical form for its type")
        bits = (64 if isinstance(column.type, BigInteger) else 32) if kind == "integer" else None
        length = getattr(column.type, "length", None) if kind == "text" else None
        return cls(column.name, kind, bool(column.nullable), bits, length)

    def encode(self, value: object) -> object:
        """The JSON value for ``value`` as the driver returned it."""
        if value is None:
            return None
        if self.kind == "binary" and isinstance(value, bytes | bytearray | memoryview):
            return base64.b64encode(bytes(value)).decode("ascii")
        if self.kind == "boolean" and isinstance(value, bool | int):
            return bool(value)
        if self.kind == "integer" and isinstance(value, int) and not isinstance(value, bool):
            return value
        if self.kind == "text" and isinstance(value, str):
            return value
        raise RowError(f"{self.name} holds a {type(value).__name__}, not {self.kind}")

    def decode(self, value: object) -> object:
        """The value to store for the JSON ``value``; :class:`RowError` if it cannot be."""
        if value is None:
            if not self.nullable:
                raise RowError(f"{self.name} must not be null")
            return None
        if self.kind == "binary" and isinstance(value, str):
            try:
                return base64.b64decode(value, validate=True)
            except (binascii.Error, ValueError):
                raise RowError(f"{self.name} must be base64 text") from None
        if self.kind == "boolean" and isinstance(value, bool):
            return value
        if self.kind == "integer" and isinstance(value, int) and not isinstance(value, bool):
            limit = 1 << ((self.bits or 64) - 1)
            if not -limit <= value < limit:
                raise RowError(f"{self.name} must be a {self.bits}-bit integer")
            return value
        if self.kind == "text" and isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise RowError(f"{self.name} is not valid Unicode (a lone surrogate)") from None
            if self.max_length is not None and len(value) > self.max_length:
                raise RowError(f"{self.name} is longer than {self.max_length} characters")
            return value
        raise RowError(f"{self.name} must be {self.kind}, not {json.dumps(value)[:40]}")


@dataclass(frozen=True, slots=True)
class TableCodec:
    """How a table's rows are written as lines and read back."""

    table: Table
    columns: tuple[ColumnCodec, ...]
    primary_key: tuple[str, ...]

    @property
    def name(self) -> str:
        return self.table.name

    def line(self, row: Sequence[object]) -> bytes:
        """The canonical line of a row (its values in the table's column order)."""
        values = {c.name: c.encode(v) for c, v in zip(self.columns, row, strict=True)}
        return canonical_json({"row": values, "table": self.name})

    def decode(self, values: object) -> dict[str, object]:
        """The row to insert for a line's ``row`` object: exactly the table's columns."""
        if not isinstance(values, dict):
            raise RowError("row must be an object")
        names = {c.name for c in self.columns}
        unknown = sorted(set(values) - names)
        if unknown:
            raise RowError(f"{self.name} has no column {unknown[0]}")
        missing = sorted(names - set(values))
        if missing:
            raise RowError(f"the row has no {missing[0]}")
        return {c.name: c.decode(values[c.name]) for c in self.columns}

    def key(self, row: Mapping[str, object]) -> tuple[Any, ...]:
        """The row's primary key: rows are written in its order (text in code point order,
        which is UTF-8 byte order)."""
        return tuple(row[name] for name in self.primary_key)


@cache
def table_codec(table: Table) -> TableCodec:
    columns = tuple(ColumnCodec.of(column) for column in table.columns)
    return TableCodec(table, columns, tuple(c.name for c in table.primary_key.columns))


def iter_rows(
    connection: Connection, table: Table, *, batch_rows: int = BATCH_ROWS
) -> Iterator[Row[Any]]:
    """Every row of ``table`` in primary-key order, fetched ``batch_rows`` at a time (a
    server-side cursor on PostgreSQL), inside the caller's transaction."""
    query = select(table).order_by(*table.primary_key.columns)
    result = connection.execute(query.execution_options(yield_per=batch_rows))
    for batch in result.partitions():
        yield from batch


def iter_lines(
    connection: Connection, table: Table, *, batch_rows: int = BATCH_ROWS
) -> Iterator[bytes]:
    """The canonical lines of every row of ``table``, in primary-key order."""
    codec = table_codec(table)
    for row in iter_rows(connection, table, batch_rows=batch_rows):
        yield codec.line(row)
