"""The state hash: the same on both engines for the same state, different when one row
of the state differs, blind to the tx log and the node's own facts, and equal to the
hash of a snapshot's state lines (what docs/operations.md shows with grep)."""

import hashlib
import shutil
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import update

from tests.conftest import postgres_database
from tests.postgres import PostgresServer
from tests.store.snapshot_helpers import export, make_history, run_history
from worker_manager.node import Node
from worker_manager.store import Store
from worker_manager.store.state_hash import STATE_TABLES, state_hash
from worker_manager.store.tables import (
    node_meta,
    revoked_permits,
    subscribers,
    txs,
    work_usage,
    workers,
)

#: The command docs/operations.md gives for the state hash of a snapshot file.
GREP = (
    'grep -E \'"table":"(accounts|contract_state|revoked_permits|subscribers|work_reports'
    "|work_usage|worker_reports|workers)\"}$' FILE | sha256sum"
)


def _hash(store: Store) -> str:
    with store.read() as session:
        return state_hash(session)


def test_the_state_tables_are_those_a_replay_rebuilds() -> None:
    assert sorted(t.name for t in STATE_TABLES) == [
        "accounts",
        "contract_state",
        "revoked_permits",
        "subscribers",
        "work_reports",
        "work_usage",
        "worker_reports",
        "workers",
    ]


@pytest.mark.postgres
def test_the_same_state_has_the_same_hash_on_both_engines(
    postgres: PostgresServer, migrated_database: Path, tmp_path: Path
) -> None:
    shutil.copyfile(migrated_database, tmp_path / "s.db")
    sqlite = run_history(f"sqlite:///{tmp_path / 's.db'}")
    with postgres_database(postgres, migrated=True) as url:
        pg = run_history(url)
        assert _hash(sqlite) == _hash(pg)
        pg.close()
    sqlite.close()


@pytest.mark.parametrize(
    ("table", "change"),
    [
        (workers, {"load": 8}),
        (workers, {"url": None}),
        (subscribers, {"added_height": 3}),
        (work_usage, {"output_tokens": 4}),
        (revoked_permits, {"permit_name": "another"}),
    ],
    ids=["an integer", "a null", "a subscriber", "a usage line", "a revoked permit"],
)
def test_one_changed_row_changes_the_hash(
    node: Node, store: Store, table: object, change: dict[str, object]
) -> None:
    make_history(node)
    before = _hash(store)
    with store.write() as session:
        session.connection.execute(update(table).values(change))  # type: ignore[arg-type]
    assert _hash(store) != before


def test_the_log_and_the_nodes_facts_are_not_in_the_hash(node: Node, store: Store) -> None:
    make_history(node)
    before = _hash(store)
    with store.write() as session:
        session.connection.execute(update(txs).values(memo="edited"))
        session.connection.execute(update(node_meta).values(value="x"))
    assert _hash(store) == before


def test_the_hash_is_that_of_the_snapshots_state_lines(
    node: Node, store: Store, tmp_path: Path
) -> None:
    make_history(node)
    data = export(store)
    file = tmp_path / "a.jsonl"
    file.write_bytes(data)
    state_lines = [
        line
        for line in data.splitlines(keepends=True)[1:-1]
        if any(line.endswith(f'"table":"{t.name}"}}\n'.encode()) for t in STATE_TABLES)
    ]
    assert hashlib.sha256(b"".join(state_lines)).hexdigest() == _hash(store)
    shown = subprocess.run(
        ["sh", "-c", GREP.replace("FILE", str(file))], capture_output=True, text=True, check=True
    )
    assert shown.stdout.split()[0] == _hash(store)
    assert f'"state_hash":"{_hash(store)}"'.encode() in data.splitlines()[-1]
