"""Snapshots: the same state gives the same bytes on SQLite and on PostgreSQL, and what
is exported is what an import loads, whichever way it moves.

The refusals are in test_snapshot_refusals.py, the state hash in test_state_hash.py.
"""

import base64
import hashlib
import io
import json
import shutil
import threading
import tracemalloc
from pathlib import Path

import pytest
from sqlalchemy import insert

from tests.conftest import ADMIN, API, postgres_database, register_msg
from tests.postgres import PostgresServer
from tests.store.snapshot_helpers import (
    LONG_REPORT,
    ODD,
    export,
    export_url,
    load,
    make_history,
    run_history,
)
from worker_manager.node import Node
from worker_manager.node.replay import replay
from worker_manager.store import Store
from worker_manager.store.migrate import head_revision
from worker_manager.store.snapshot import snapshot_tables, write_snapshot
from worker_manager.store.snapshot_load import SnapshotReader, load_snapshot
from worker_manager.store.tables import blocks, contract_state, metadata, node_meta, txs
from worker_manager.tx import decode_tx


def _lines(data: bytes) -> list[dict[str, object]]:
    return [json.loads(line) for line in data.splitlines()]


def _copy(migrated_database: Path, path: Path) -> str:
    shutil.copyfile(migrated_database, path)
    return f"sqlite:///{path}"


# -- the format ---------------------------------------------------------------------------


def test_a_snapshot_is_a_header_every_row_in_order_and_a_checked_trailer(
    node: Node, store: Store
) -> None:
    make_history(node)
    data = export(store)
    assert data.endswith(b"\n")
    lines = data.splitlines(keepends=True)
    header, *rows, trailer = _lines(data)
    assert header == {
        "chain_id": "wm-test-1",
        "format": "worker-manager-snapshot",
        "height": node.height,
        "schema_revision": head_revision(),
        "version": 1,
    }
    # every table but Alembic's, in metadata.sorted_tables order, rows by primary key
    names = [str(row["table"]) for row in rows]
    order = [table.name for table in metadata.sorted_tables]
    assert order == sorted(order)  # as docs/operations.md says: alphabetical
    assert sorted(set(names), key=order.index) == [t.name for t in snapshot_tables()] == order
    assert names == sorted(names, key=order.index)
    for table in snapshot_tables():
        keys = [
            tuple(row["row"][c.name] for c in table.primary_key.columns)  # type: ignore[index]
            for row in rows
            if row["table"] == table.name
        ]
        assert keys == sorted(keys)
    counts = {name: names.count(name) for name in order}
    assert trailer == {
        "end": "worker-manager-snapshot",
        "rows": counts,
        "sha256": hashlib.sha256(b"".join(lines[:-1])).hexdigest(),
        "state_hash": trailer["state_hash"],
        "total": len(rows),
    }
    # canonical JSON: sorted keys, no spaces, UTF-8 text as is
    for line in lines:
        value = json.loads(line)
        canonical = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        assert line == canonical.encode() + b"\n"


def test_values_are_written_by_their_column_type(node: Node, store: Store) -> None:
    make_history(node)
    data = export(store)
    rows = _lines(data)[1:-1]
    sent = [r["row"] for r in rows if r["table"] == "txs" and r["row"]["kind"] == "signed"]  # type: ignore[index]
    assert sent
    for tx in sent:  # binary as base64 text: the signed tx decodes
        decode_tx(base64.b64decode(tx["tx_bytes"]))
    assert any(ODD in tx["memo"] for tx in sent)
    assert ODD.encode() in data  # text as UTF-8, not escaped
    worker = next(r["row"] for r in rows if r["table"] == "workers")  # type: ignore[index]
    assert worker["paused"] is True
    assert worker["last_seen_time"] is None
    reports = [r["row"] for r in rows if r["table"] == "worker_reports"]
    assert any(report["attestation_report"] == LONG_REPORT for report in reports)  # type: ignore[index]


# -- the same bytes everywhere -------------------------------------------------------------


@pytest.mark.postgres
def test_the_same_history_gives_the_same_snapshot_on_sqlite_and_postgresql(
    postgres: PostgresServer, migrated_database: Path, tmp_path: Path
) -> None:
    sqlite = run_history(_copy(migrated_database, tmp_path / "a.db"))
    with postgres_database(postgres, migrated=True) as url:
        pg = run_history(url)
        try:
            from_sqlite, from_pg = export(sqlite), export(pg)
            assert from_sqlite == from_pg
            # and a snapshot moves either way unchanged: SQLite -> PostgreSQL -> SQLite
            with postgres_database(postgres, migrated=False) as target:
                load(target, from_sqlite)
                assert export_url(target) == from_sqlite
                back = f"sqlite:///{tmp_path / 'back.db'}"
                load(back, export_url(target))
                assert export_url(back) == from_sqlite
        finally:
            pg.close()
            sqlite.close()


def _edge_rows() -> dict[str, list[dict[str, object]]]:
    """Rows at the edges of every column type, and text keys whose order differs between
    code points (bytes) and UTF-16."""
    keys = ["Z", "a", "é", "\ue000", "\ufffd", "𝄞", "\U0010ffff", "~", " a", "a "]
    return {
        "node_meta": [{"key": "chain_id", "value": "edge-1"}, {"key": "height", "value": "2"}],
        "contract_state": [{"key": k, "value": f"{k}\u2028\\\"'\t"} for k in keys],
        "blocks": [
            {"height": 1, "time_ns": -(2**63), "tx_count": -(2**31), "hash": ""},
            {"height": 2**63 - 1, "time_ns": 2**63 - 1, "tx_count": 2**31 - 1, "hash": "f" * 64},
        ],
        "txs": [
            {
                "hash": "A" * 64,
                "height": 2**63 - 1,
                "tx_index": 0,
                "kind": "signed",
                "sender": ODD,
                "sequence": 2**63 - 1,
                "tx_bytes": bytes(range(256)),
                "messages": "x" * 100_000,
                "code": 0,
                "codespace": "",
                "error": None,
                "log": ODD * 1000,
                "data": b"",
                "events": "[]",
                "gas_wanted": 0,
                "gas_used": -1,
                "fee": "{}",
                "memo": "\x01\x1f\x7f",  # control characters (PostgreSQL refuses NUL)
                "time_ns": 0,
                "failed_msg_index": None,
                "inputs": None,
            }
        ],
    }


@pytest.mark.postgres
def test_edge_values_give_the_same_snapshot_on_both_engines(
    postgres: PostgresServer, migrated_database: Path, tmp_path: Path
) -> None:
    tables = {
        "node_meta": node_meta,
        "contract_state": contract_state,
        "blocks": blocks,
        "txs": txs,
    }
    with postgres_database(postgres, migrated=True) as pg_url:
        snapshots = []
        for url in (_copy(migrated_database, tmp_path / "edge.db"), pg_url):
            store = Store(url)
            with store.write() as session:
                for name, rows in _edge_rows().items():
                    session.connection.execute(insert(tables[name]), rows)
            snapshots.append(export(store))
            store.close()
        assert snapshots[0] == snapshots[1]
    rows = _lines(snapshots[0])[1:-1]
    keys = [r["row"]["key"] for r in rows if r["table"] == "contract_state"]  # type: ignore[index]
    assert keys == sorted(keys, key=lambda k: str(k).encode())  # byte order, not UTF-16's
    assert keys.index("\ue000") < keys.index("𝄞")
    tx = next(r["row"] for r in rows if r["table"] == "txs")
    assert tx["tx_bytes"] == base64.b64encode(bytes(range(256))).decode()  # type: ignore[index]
    assert tx["data"] == ""  # type: ignore[index]


# -- round trips -----------------------------------------------------------------------------


def test_export_import_export_gives_the_same_bytes_and_a_working_chain(
    node: Node, store: Store, empty_database_url: str, tmp_path: Path
) -> None:
    make_history(node)
    data = export(store)
    summary = load(empty_database_url, data)
    assert summary.total == len(data.splitlines()) - 2
    assert export_url(empty_database_url) == data
    imported = Store(empty_database_url)
    try:
        copy = Node(imported, node.clock, api=API)
        assert copy.query(b'{"get_worker_addresses":{}}') == node.query(
            b'{"get_worker_addresses":{}}'
        )
        assert copy.get_account(ADMIN) == node.get_account(ADMIN)
        scratch = Store(f"sqlite:///{tmp_path / 'replay.db'}")
        scratch.migrate()
        report = replay(imported, scratch, API)  # the imported log rebuilds the state
        assert report.ok, report.mismatches
        scratch.close()
        copy.close()
    finally:
        imported.close()


def test_an_export_while_a_node_writes_is_one_moment(
    node: Node, store: Store, empty_database_url: str, tmp_path: Path
) -> None:
    stop = threading.Event()
    written = threading.Semaphore(0)

    def write() -> None:
        for i in range(5000):
            if stop.is_set():
                return
            node.execute(ADMIN, register_msg(f"10.9.{i // 200}.{i % 200 + 1}"))
            written.release()

    writer = threading.Thread(target=write)
    writer.start()
    try:
        for _ in range(5):
            assert written.acquire(timeout=30)
        out = io.BytesIO()
        with store.read() as session:
            write_snapshot(session, out, batch_rows=1)  # a round trip per row: blocks land
            assert written.acquire(timeout=30)  # a block committed during the export
    finally:
        stop.set()
        writer.join()
    data = out.getvalue()
    header, *rows, _ = _lines(data)
    heights = sorted(r["row"]["height"] for r in rows if r["table"] == "blocks")  # type: ignore[index]
    assert heights == list(range(1, int(header["height"]) + 1))  # type: ignore[call-overload]
    assert node.height > int(header["height"])  # type: ignore[call-overload]
    load(empty_database_url, data)
    imported = Store(empty_database_url)
    scratch = Store(f"sqlite:///{tmp_path / 'replay.db'}")
    scratch.migrate()
    report = replay(imported, scratch, API)
    assert report.ok, report.mismatches  # every table from the same moment
    scratch.close()
    imported.close()


class _Sink(io.RawIOBase):
    """Counts what is written and keeps nothing."""

    size = 0

    def writable(self) -> bool:
        return True

    def write(self, data: object) -> int:
        self.size += len(data)  # type: ignore[arg-type]
        return len(data)  # type: ignore[arg-type]


def test_export_and_import_hold_a_batch_in_memory_not_a_table(
    store: Store, empty_database_url: str, tmp_path: Path
) -> None:
    rows = [
        {"key": f"k{i:06d}", "value": f"{i:06d}" + "v" * 2000}
        for i in range(20_000)  # 40 MB of rows
    ]
    with store.write() as session:
        chain = [{"key": "chain_id", "value": "big-1"}, {"key": "height", "value": "1"}]
        session.connection.execute(insert(node_meta), chain)
        session.connection.execute(insert(contract_state), rows)
    del rows
    sink = _Sink()
    tracemalloc.start()
    try:
        with store.read() as session:
            write_snapshot(session, sink)  # type: ignore[arg-type]
        _, export_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert sink.size > 40_000_000
    assert export_peak < 10_000_000, export_peak  # ~4.5 MB: a batch, not 40 MB
    path = tmp_path / "big.jsonl"
    with path.open("wb") as out, store.read() as session:
        write_snapshot(session, out)
    target = Store(empty_database_url)
    tracemalloc.start()
    try:
        with path.open("rb") as source, target.write() as session:
            load_snapshot(session, SnapshotReader(source))
        _, import_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        target.close()
    assert import_peak < 10_000_000, import_peak
