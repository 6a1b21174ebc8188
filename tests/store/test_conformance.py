"""One storage conformance suite for every backend: memory, SQL (SQLite on file and in
memory) and the block write buffer over SQL. Each must answer exactly alike, so the
contract tier's handler tests on memory storage say what the node does on SQL.

``buffered`` runs the point-access half through :class:`BufferedStorage` and reads the
ordered half from SQL after the buffer is flushed, as a block does.
"""

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, nullcontext
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.exc import IntegrityError

from tests.conftest import ADMIN, OTHER, OWNER, postgres_database
from worker_manager.contract.state import (
    Config,
    LivelinessState,
    StoredPolicy,
    Subscriber,
    UsageLine,
    Worker,
    WorkReport,
)
from worker_manager.contract.testing import MemoryStorage
from worker_manager.store import Store
from worker_manager.store.buffered import BufferedStorage
from worker_manager.store.storage import SqlStorage

BACKENDS = [
    "memory",
    "sql-file",
    "sql-memory",
    "buffered",
    pytest.param("postgresql", marks=pytest.mark.postgres),
    pytest.param("buffered-postgresql", marks=pytest.mark.postgres),
]
#: A write over a key that exists is refused: by the backend's own check (memory, the
#: buffer), or by the database's constraint (SQL). The contract checks first, always.
REFUSED = (LookupError, IntegrityError)


@contextmanager
def refused(storage: Any) -> Iterator[None]:
    """Expect the write inside to be refused. On SQL it runs in a savepoint, since a
    refused statement ends PostgreSQL's transaction (a block is then rolled back whole)."""
    sql = storage._sql if isinstance(storage, Flushed) else storage
    connection = getattr(sql, "_conn", None)
    savepoint = connection.begin_nested() if connection is not None else nullcontext()
    with pytest.raises(REFUSED), savepoint:
        yield


class Flushed:
    """The block buffer for point access; ordered reads flush it and ask SQL."""

    def __init__(self, buffered: BufferedStorage, sql: SqlStorage) -> None:
        self._buffered = buffered
        self._sql = sql

    def __getattr__(self, name: str) -> Any:
        if hasattr(BufferedStorage, name):
            return getattr(self._buffered, name)
        self._buffered.commit_tx()
        self._buffered.flush()
        return getattr(self._sql, name)


@pytest.fixture(params=BACKENDS)
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    if request.param == "memory":
        yield MemoryStorage()
        return
    with ExitStack() as cleanup:
        if request.param.endswith("postgresql"):
            server = request.getfixturevalue("postgres")
            url = cleanup.enter_context(postgres_database(server, migrated=True))
        elif request.param == "sql-memory":
            url = "sqlite://"
        else:
            url = f"sqlite:///{tmp_path / 's.db'}"
        store = Store(url)
        cleanup.callback(store.close)
        store.migrate()
        with store.write() as session:
            if request.param.startswith("buffered"):
                yield Flushed(
                    BufferedStorage(session.contract, session.connection), session.contract
                )
            else:
                yield session.contract


def worker(ip: str, wallet: str = OWNER, **fields: Any) -> Worker:
    values: dict[str, Any] = {
        "payment_wallet": wallet,
        "attestation_report": f"quote:{ip}",
        "worker_type": "m1",
        "last_seen_index": 5,
        **fields,
    }
    return Worker(ip_address=ip, **values)


def report(
    ip: str, period: int, *lines: tuple[str, int, int, int], wallet: str = OWNER
) -> WorkReport:
    return WorkReport(
        ip_address=ip,
        period=period,
        payment_wallet=wallet,
        usage=tuple(UsageLine(*line) for line in lines),
        reported_height=period,
        reported_time=period * 10,
    )


def test_singletons_round_trip(storage: Any) -> None:
    assert storage.load_config() is None
    config = Config(admin=ADMIN, epoch_seconds=30, max_workers_per_owner=7)
    storage.save_config(config)
    assert storage.load_config() == config
    assert storage.load_liveliness() == LivelinessState()
    state = LivelinessState(up_index=4, last_up_epoch=9, resume_index=2, serving_version=3)
    storage.save_liveliness(state)
    assert storage.load_liveliness() == state
    assert storage.load_attestation_policy() is None
    policy = StoredPolicy(json='{"binding":"none"}', registration_mode="mark")
    storage.save_attestation_policy(policy)
    assert storage.load_attestation_policy() == policy
    storage.save_attestation_policy(None)
    assert storage.load_attestation_policy() is None


def test_workers_insert_move_update_delete(storage: Any) -> None:
    storage.insert_worker(worker("10.0.0.1", worker_public_key="02aa"))
    with refused(storage):
        storage.insert_worker(worker("10.0.0.1"))
    assert storage.get_worker("10.0.0.1").worker_public_key == "02aa"
    assert storage.get_worker_by_key("02aa").ip_address == "10.0.0.1"
    moved = storage.get_worker("10.0.0.1").with_changes(ip_address="10.0.0.2", paused=True)
    storage.update_worker("10.0.0.1", moved)
    assert storage.get_worker("10.0.0.1") is None
    assert storage.get_worker("10.0.0.2") == moved
    assert storage.get_worker_by_key("02aa").ip_address == "10.0.0.2"
    storage.insert_worker(worker("10.0.0.3"))
    with refused(storage):
        storage.update_worker("10.0.0.2", moved.with_changes(ip_address="10.0.0.3"))
    with pytest.raises(LookupError):
        storage.update_worker("10.0.0.9", worker("10.0.0.9"))
    storage.delete_worker("10.0.0.2")
    assert storage.get_worker("10.0.0.2") is None
    assert storage.get_worker_by_key("02aa") is None


def test_workers_owned_are_counted_through_moves_and_hand_overs(storage: Any) -> None:
    storage.insert_worker(worker("10.0.0.1"))
    storage.insert_worker(worker("10.0.0.2"))
    storage.insert_worker(worker("10.0.0.3", wallet=OTHER))
    assert storage.count_workers_owned_by(OWNER) == 2
    handed = storage.get_worker("10.0.0.2").with_changes(payment_wallet=OTHER)
    storage.update_worker("10.0.0.2", handed)
    moved = storage.get_worker("10.0.0.1").with_changes(ip_address="10.0.0.4")
    storage.update_worker("10.0.0.1", moved)
    assert (storage.count_workers_owned_by(OWNER), storage.count_workers_owned_by(OTHER)) == (1, 2)
    storage.delete_worker("10.0.0.4")
    assert storage.count_workers_owned_by(OWNER) == 0


def test_worker_pages_and_addresses_in_key_order(storage: Any) -> None:
    for ip in ("10.0.0.3", "10.0.0.1", "gpu.example", "10.0.0.2"):
        storage.insert_worker(worker(ip, wallet=OTHER if ip == "10.0.0.2" else OWNER))
    page = storage.list_workers(start_after=None, limit=2)
    assert [w.ip_address for w in page.workers] == ["10.0.0.1", "10.0.0.2"]
    assert page.next_start_after == "10.0.0.2"
    rest = storage.list_workers(start_after="10.0.0.2", limit=2)
    assert [w.ip_address for w in rest.workers] == ["10.0.0.3", "gpu.example"]
    assert rest.next_start_after is None
    owned = storage.list_workers(start_after=None, limit=10, payment_wallet=OTHER)
    assert [w.ip_address for w in owned.workers] == ["10.0.0.2"]
    assert storage.count_workers() == 4
    assert storage.list_worker_addresses(start_after="10.0.0.1", limit=2) == [
        "10.0.0.2",
        "10.0.0.3",
    ]


def test_what_is_served_filters_and_ranks_alike(storage: Any) -> None:
    storage.insert_worker(worker("10.0.0.1", worker_type="a", capacity=3))
    storage.insert_worker(worker("10.0.0.2", worker_type="b"))
    storage.insert_worker(worker("10.0.0.3", worker_type="a", paused=True))
    storage.insert_worker(worker("10.0.0.4", worker_type="c", attestation_status="rejected"))
    storage.insert_worker(worker("10.0.0.5", worker_type="d", last_seen_index=1))
    storage.insert_worker(worker("10.0.0.6", worker_type="e", attested_index=1))
    storage.insert_worker(worker("10.0.0.7", worker_type="a", attested_index=9))
    assert storage.serving_types(4, None) == ["a", "b", "e"]
    assert storage.serving_types(4, 5) == ["a"]
    index = storage.serving_index("a", 4, None)
    assert [w.ip_address for w in index.workers] == ["10.0.0.1", "10.0.0.7"]
    assert index.workers[0].capacity == 3
    assert [w.ip_address for w in storage.serving_index(None, 4, 5).workers] == ["10.0.0.7"]


def test_subscribers(storage: Any) -> None:
    for key in ("03bb", "02aa", "02cc"):
        storage.add_subscriber(Subscriber(key, 4))
    assert storage.get_subscriber("02aa") == Subscriber("02aa", 4)
    storage.remove_subscriber("02cc")
    assert storage.get_subscriber("02cc") is None
    assert [s.public_key for s in storage.list_subscribers(start_after=None, limit=5)] == [
        "02aa",
        "03bb",
    ]
    assert [s.public_key for s in storage.list_subscribers(start_after="02aa", limit=5)] == ["03bb"]


def test_revoked_permits(storage: Any) -> None:
    long_name = "\u00e9\u2028" * 128  # 256 characters, 640 bytes of UTF-8
    for account, name in ((OWNER, "laptop"), (OWNER, long_name), (OTHER, "Laptop")):
        storage.revoke_permit(account, name, 4)
    assert storage.is_permit_revoked(OWNER, "laptop")
    assert storage.is_permit_revoked(OWNER, long_name)
    assert storage.is_permit_revoked(OTHER, "Laptop")
    # by account and exact name: another account, case or name is not revoked
    assert not storage.is_permit_revoked(OTHER, "laptop")
    assert not storage.is_permit_revoked(OWNER, "Laptop")
    assert not storage.is_permit_revoked(OWNER, "laptop ")
    with refused(storage):
        storage.revoke_permit(OWNER, "laptop", 5)


def test_work_reports_in_period_then_worker_order(storage: Any) -> None:
    storage.insert_work_report(report("10.0.0.2", 7, ("02bb", 1, 2, 3), ("02aa", 4, 5, 6)))
    storage.insert_work_report(report("10.0.0.1", 7, ("02aa", 1, 1, 1)))
    storage.insert_work_report(report("10.0.0.1", 6, ("02cc", 2, 2, 2), wallet=OTHER))
    assert storage.has_work_report("10.0.0.1", 7)
    assert not storage.has_work_report("10.0.0.1", 8)
    with refused(storage):
        storage.insert_work_report(report("10.0.0.1", 7))
    found = storage.work_reports(ip_address=None, period=None, start_after=None, limit=10)
    assert [(r.period, r.ip_address) for r in found] == [
        (6, "10.0.0.1"),
        (7, "10.0.0.1"),
        (7, "10.0.0.2"),
    ]
    assert [u.subscriber for u in found[2].usage] == ["02aa", "02bb"]
    after = storage.work_reports(ip_address=None, period=7, start_after=(7, "10.0.0.1"), limit=9)
    assert [r.ip_address for r in after] == ["10.0.0.2"]
    mine = storage.work_reports(ip_address="10.0.0.1", period=None, start_after=None, limit=1)
    assert [(r.period, r.payment_wallet) for r in mine] == [(6, OTHER)]


@pytest.mark.parametrize(
    ("by", "filters", "expected"),
    [
        ("worker", {}, [("10.0.0.1", 2, 3, 3, 3), ("10.0.0.2", 2, 5, 7, 9)]),
        ("subscriber", {}, [("02aa", 2, 5, 6, 7), ("02bb", 1, 1, 2, 3), ("02cc", 1, 2, 2, 2)]),
        ("period", {}, [("6", 1, 2, 2, 2), ("7", 3, 6, 8, 10)]),
        ("wallet", {}, sorted([(OTHER, 1, 2, 2, 2), (OWNER, 3, 6, 8, 10)])),
        ("worker", {"from_period": 7}, [("10.0.0.1", 1, 1, 1, 1), ("10.0.0.2", 2, 5, 7, 9)]),
        ("worker", {"to_period": 6}, [("10.0.0.1", 1, 2, 2, 2)]),
        ("period", {"ip_address": "10.0.0.2"}, [("7", 2, 5, 7, 9)]),
        ("worker", {"subscriber": "02aa"}, [("10.0.0.1", 1, 1, 1, 1), ("10.0.0.2", 1, 4, 5, 6)]),
        ("period", {"start_after": 6}, [("7", 3, 6, 8, 10)]),
        ("subscriber", {"start_after": "02aa", "limit": 1}, [("02bb", 1, 1, 2, 3)]),
    ],
)
def test_work_totals(storage: Any, by: str, filters: dict[str, Any], expected: list[Any]) -> None:
    storage.insert_work_report(report("10.0.0.2", 7, ("02bb", 1, 2, 3), ("02aa", 4, 5, 6)))
    storage.insert_work_report(report("10.0.0.1", 7, ("02aa", 1, 1, 1)))
    storage.insert_work_report(report("10.0.0.1", 6, ("02cc", 2, 2, 2), wallet=OTHER))
    query = {"from_period": None, "to_period": None, "ip_address": None, "subscriber": None}
    totals = storage.work_totals(by=by, **{**query, **filters})
    assert [(t.key, t.lines, t.requests, t.input_tokens, t.output_tokens) for t in totals] == (
        expected
    )


def test_work_totals_are_exact_past_2_63(storage: Any) -> None:
    big = 2**53 - 1
    for period in range(3):
        lines = tuple((f"02{i:04x}", big, 1, 0) for i in range(400))
        storage.insert_work_report(report("10.0.0.1", period, *lines))
    (total,) = storage.work_totals(
        by="worker", from_period=None, to_period=None, ip_address=None, subscriber=None
    )
    assert total.requests == 1200 * big > 2**63
    assert total.input_tokens == 1200
