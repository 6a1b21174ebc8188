"""Every snapshot an import must refuse, and every database it must not load into, on
both engines: the refusal names the line and the reason, and the database is left as
it was (an empty one gets no schema either)."""

import dataclasses
import hashlib
import io
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.store.snapshot_helpers import export, export_url, load, run_history, table_counts
from worker_manager.node import Node
from worker_manager.store import SchemaError, Store
from worker_manager.store.canonical import canonical_json
from worker_manager.store.migrate import upgrade
from worker_manager.store.snapshot import MAX_LINE_BYTES, SnapshotError
from worker_manager.store.snapshot_load import SnapshotReader, TargetNotEmpty, check_loaded
from worker_manager.store.state_hash import STATE_TABLES

Lines = list[bytes]
STATE_NAMES = {table.name for table in STATE_TABLES}


@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory, migrated_database: Path) -> bytes:
    """A snapshot of a real history (made once, on SQLite)."""
    path = tmp_path_factory.mktemp("good") / "good.db"
    shutil.copyfile(migrated_database, path)
    store = run_history(f"sqlite:///{path}")
    data = export(store)
    store.close()
    return data


def _split(data: bytes) -> Lines:
    return data.splitlines(keepends=True)


def _row_index(lines: Lines, table: str, contains: bytes = b"") -> int:
    end = f'"table":"{table}"}}\n'.encode()
    return next(i for i, line in enumerate(lines) if line.endswith(end) and contains in line)


def _edit_row(lines: Lines, table: str, change: Callable[[dict[str, object]], None]) -> Lines:
    """``lines`` with the first row of ``table`` changed (written canonically)."""
    index = _row_index(lines, table)
    value = json.loads(lines[index])
    change(value["row"])
    return [*lines[:index], canonical_json(value), *lines[index + 1 :]]


def _edit_header(lines: Lines, **changes: object) -> Lines:
    return [canonical_json({**json.loads(lines[0]), **changes}), *lines[1:]]


def reseal(lines: Lines) -> bytes:
    """Header and rows (the old trailer dropped) with a trailer that matches them: what
    someone who edits a snapshot with care would write."""
    body = lines[:-1]
    counts = {name: 0 for name in json.loads(lines[-1])["rows"]}
    state = hashlib.sha256()
    for line in body[1:]:
        name = json.loads(line)["table"]
        counts[name] += 1
        if name in STATE_NAMES:
            state.update(line)
    trailer = {
        "end": "worker-manager-snapshot",
        "rows": counts,
        "sha256": hashlib.sha256(b"".join(body)).hexdigest(),
        "state_hash": state.hexdigest(),
        "total": sum(counts.values()),
    }
    return b"".join(body) + canonical_json(trailer)


def _swap(lines: Lines, a: int, b: int) -> Lines:
    swapped = list(lines)
    swapped[a], swapped[b] = swapped[b], swapped[a]
    return swapped


def _set(**values: object) -> Callable[[dict[str, object]], None]:
    return lambda row: row.update(values)


def _drop(name: str) -> Callable[[dict[str, object]], None]:
    return lambda row: row.pop(name)


_MIDDLE = 5  # a row line in the middle of the good snapshot

#: Each bad snapshot, made from the good one, and what the refusal says.
BAD: dict[str, tuple[Callable[[bytes], bytes], str]] = {
    "empty file": (lambda d: b"", "the snapshot is empty"),
    "not JSON": (lambda d: b"hello\n" + d, "line 1: not valid JSON"),
    "not a snapshot": (lambda d: b'{"a":1}\n', "not a worker-manager snapshot"),
    "wrong version": (
        lambda d: b"".join(_edit_header(_split(d), version=2)),
        "snapshot format version 2 is not supported",
    ),
    "wrong schema": (
        lambda d: b"".join(_edit_header(_split(d), schema_revision="0005")),
        'the snapshot\'s schema revision is "0005"',
    ),
    "header with unknown keys": (
        lambda d: b"".join(_edit_header(_split(d), exported_at="today")),
        "line 1: the header is not in canonical form",
    ),
    "truncated at a line's end": (
        lambda d: b"".join(_split(d)[:-1]),
        "ends here without its trailer: it is truncated",
    ),
    "truncated mid-line": (lambda d: d[:-40], "cut short (no newline at its end)"),
    "truncated mid-row": (lambda d: d[: len(d) // 2], "the snapshot is truncated"),
    "a changed line": (
        lambda d: b"".join(_edit_row(_split(d), "workers", _set(load=8))),
        "the trailer's sha256 does not match the lines before it",
    ),
    "a bad checksum": (
        lambda d: d.replace(b'"sha256":"', b'"sha256":"0'),
        "the trailer's sha256 does not match",
    ),
    "edited row counts": (
        lambda d: d.replace(b'"workers":2}', b'"workers":3}'),
        "the trailer's row counts do not match the rows",
    ),
    "a wrong state hash in the trailer": (
        lambda d: d.replace(b'"state_hash":"', b'"state_hash":"0'),
        "the trailer is not in canonical form, or its totals are wrong",
    ),
    "invalid JSON": (
        lambda d: b"".join([*_split(d)[:_MIDDLE], b'{"row": {\n', *_split(d)[_MIDDLE:]]),
        f"line {_MIDDLE + 1}: not valid JSON",
    ),
    "a line 10 MB long": (
        lambda d: b"".join([*_split(d)[:_MIDDLE], b"x" * 10_000_000 + b"\n", *_split(d)[_MIDDLE:]]),
        f"line {_MIDDLE + 1}: not valid JSON",
    ),
    "JSON nested 10,000 deep": (
        lambda d: b"".join(
            [*_split(d)[:_MIDDLE], b"[" * 10_000 + b"]" * 10_000 + b"\n", *_split(d)[_MIDDLE:]]
        ),
        f"line {_MIDDLE + 1}: not valid JSON",
    ),
    "bytes that are not UTF-8": (
        lambda d: b"".join([*_split(d)[:_MIDDLE], b'{"\xff":1}\n', *_split(d)[_MIDDLE:]]),
        "not UTF-8 text",
    ),
    "more after the trailer": (lambda d: d + b"{}\n", "there is more after the trailer"),
    "a second header": (
        lambda d: b"".join([*_split(d)[:_MIDDLE], _split(d)[0], *_split(d)[_MIDDLE:]]),
        "no table named null",
    ),
    "a table Alembic owns": (
        lambda d: d.replace(b'"table":"workers"}', b'"table":"alembic_version"}', 1),
        'no table named "alembic_version"',
    ),
    "rows out of order": (
        lambda d: b"".join(_swap(_split(d), *_node_meta_rows(d))),
        "node_meta: rows out of primary-key order, or repeated",
    ),
    "a repeated row": (
        lambda d: b"".join(_repeat(_split(d), _row_index(_split(d), "workers"))),
        "workers: rows out of primary-key order, or repeated",
    ),
    "tables out of order": (lambda d: b"".join(_blocks_last(_split(d))), "a row of blocks after"),
    "an unknown column": (
        lambda d: b"".join(_edit_row(_split(d), "workers", _set(colour="red"))),
        "workers has no column colour",
    ),
    "a missing column": (
        lambda d: b"".join(_edit_row(_split(d), "workers", _drop("load"))),
        "the row has no load",
    ),
    "text for an integer": (
        lambda d: b"".join(_edit_row(_split(d), "workers", _set(load="7"))),
        'load must be integer, not "7"',
    ),
    "a float for an integer": (
        lambda d: b"".join(_edit_row(_split(d), "workers", _set(load=7.0))),
        "load must be integer, not 7.0",
    ),
    "an integer past 32 bits": (
        lambda d: b"".join(_edit_row(_split(d), "workers", _set(capacity=2**31))),
        "capacity must be a 32-bit integer",
    ),
    "an integer past 64 bits": (
        lambda d: b"".join(_edit_row(_split(d), "blocks", _set(time_ns=2**63))),
        "time_ns must be a 64-bit integer",
    ),
    "null where a value is needed": (
        lambda d: b"".join(_edit_row(_split(d), "workers", _set(worker_type=None))),
        "worker_type must not be null",
    ),
    "text too long for its column": (
        lambda d: b"".join(_edit_row(_split(d), "workers", _set(worker_type="m" * 65))),
        "worker_type is longer than 64 characters",
    ),
    "a lone surrogate": (
        lambda d: d.replace(b'"url":"https://', b'"url":"\\ud800https://', 1),
        "url is not valid Unicode (a lone surrogate)",
    ),
    "binary that is not base64": (
        lambda d: b"".join(_edit_row(_split(d), "txs", _set(data="not base64!"))),
        "data must be base64 text",
    ),
    "a row that is not canonical": (
        lambda d: d.replace(b'"table":"workers"}', b'"table": "workers"}', 1),
        "not in canonical form",
    ),
    "a header that disagrees with the rows": (
        lambda d: reseal(_edit_header(_split(d), height=99)),
        "the header's chain id or height differs from node_meta's rows",
    ),
    "a row the database refuses": (
        lambda d: reseal(_same_worker_key(_split(d))),
        "the database refused a row of workers",
    ),
}


def _node_meta_rows(data: bytes) -> tuple[int, int]:
    first = _row_index(_split(data), "node_meta")
    return first, first + 1


def _repeat(lines: Lines, index: int) -> Lines:
    return [*lines[: index + 1], lines[index], *lines[index + 1 :]]


def _blocks_last(lines: Lines) -> Lines:
    rows = lines[1:-1]
    blocks = [line for line in rows if line.endswith(b'"table":"blocks"}\n')]
    others = [line for line in rows if line not in blocks]
    return [lines[0], *others, *blocks, lines[-1]]


def _same_worker_key(lines: Lines) -> Lines:
    """Both workers with the same worker key, which the schema's unique index refuses."""
    keyed = json.loads(lines[_row_index(lines, "workers", b'"ip_address":"10.0.0.2"')])
    key = keyed["row"]["worker_public_key"]
    return _edit_row(lines, "workers", _set(worker_public_key=key))


@pytest.mark.parametrize("case", BAD)
def test_a_bad_snapshot_is_refused_and_the_empty_database_gets_nothing(
    good: bytes, case: str, empty_database_url: str
) -> None:
    make, message = BAD[case]
    with pytest.raises(SnapshotError) as refused:
        load(empty_database_url, make(good))
    assert message in str(refused.value)
    assert "\n" not in str(refused.value)
    assert table_counts(empty_database_url) == {}  # not even the schema


@pytest.mark.parametrize("case", ["a changed line", "a row the database refuses"])
def test_a_bad_snapshot_leaves_a_migrated_database_empty(
    good: bytes, case: str, database_url: str
) -> None:
    before = table_counts(database_url)
    with pytest.raises(SnapshotError):
        load(database_url, BAD[case][0](good))
    assert table_counts(database_url) == before


def test_a_line_longer_than_the_limit_is_refused_unread(good: bytes, database_url: str) -> None:
    lines = _split(good)
    long = b"".join([*lines[:_MIDDLE], b"[" * 4000 + b"\n", *lines[_MIDDLE:]])
    with pytest.raises(SnapshotError, match=f"line {_MIDDLE + 1}: longer than 2048 bytes"):
        load(database_url, long, max_line_bytes=2048)
    assert set(table_counts(database_url).values()) == {0, 1}  # alembic_version's one row


def test_the_good_snapshot_loads(good: bytes, empty_database_url: str) -> None:
    """The refusals above are of edits, not of the snapshot they start from."""
    assert load(empty_database_url, good).total == len(_split(good)) - 2
    assert export_url(empty_database_url) == good


def test_a_database_that_holds_a_chain_is_refused_and_kept(
    good: bytes, node: Node, store: Store
) -> None:
    before = export(store)
    with pytest.raises(TargetNotEmpty, match="already holds chain wm-test-1"):
        load(store.url, good)
    assert export(store) == before


def test_a_database_with_any_row_is_refused(good: bytes, node: Node, store: Store) -> None:
    with store.write() as session:  # a chain whose node_meta was lost: rows remain
        session.connection.exec_driver_sql("DELETE FROM node_meta")
    with pytest.raises(TargetNotEmpty, match="already holds rows in"):
        load(store.url, good)


def test_a_database_on_another_schema_revision_is_refused(
    good: bytes, empty_database_url: str
) -> None:
    store = Store(empty_database_url)
    with store.write() as session:
        upgrade(session.connection, "0005")
    store.close()
    before = table_counts(empty_database_url)
    with pytest.raises(SchemaError, match="the database schema is at 0005"):
        load(empty_database_url, good)
    assert table_counts(empty_database_url) == before


def test_import_reads_back_counts_height_and_state_hash_before_it_commits(
    good: bytes, database_url: str
) -> None:
    """The last check of an import: what the database holds once loaded is compared with
    the snapshot's trailer (here, trailers that do not match what was loaded)."""
    store = Store(database_url)
    summary = load(database_url, good)
    wrong_hash = dataclasses.replace(summary, state_hash="0" * 64)
    wrong_count = dataclasses.replace(summary, rows={**summary.rows, "workers": 3})
    try:
        with store.read() as session:
            check_loaded(session, summary)
            with pytest.raises(SnapshotError, match="the loaded state hashes to"):
                check_loaded(session, wrong_hash)
            with pytest.raises(SnapshotError, match="workers holds 2 rows once loaded"):
                check_loaded(session, wrong_count)
    finally:
        store.close()


def test_the_longest_line_read_is_64_mib() -> None:
    assert MAX_LINE_BYTES == 64 * 1024 * 1024
    header = b'{"format":"' + b"x" * MAX_LINE_BYTES + b'"}\n'
    with pytest.raises(SnapshotError, match="line 1: longer than 67108864 bytes"):
        SnapshotReader(io.BytesIO(header))
