"""A tx can only ever fail itself: when the database refuses one tx's writes, that tx
fails alone (its sequence used) and the rest of its block commits; when the database
refuses every block (disk full), the node says so and recovers when it can write again."""

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import (
    ADMIN,
    ADMIN_KEY,
    API,
    CHAIN_ID,
    OTHER_KEY,
    OWNER_KEY,
    key,
    make_node,
    register_msg,
)
from tests.db_faults import disk_full, refuse_writes
from tests.node.test_ante import signed
from worker_manager.node import AnteError, FixedClock, Node
from worker_manager.node.isolation import BlockWriteFailed
from worker_manager.node.replay import replay
from worker_manager.store import Store

POISON = "https://poison.example"


@pytest.fixture
def batching(store: Store, clock: FixedClock) -> Iterator[Node]:
    """A node whose blocks wait 300 ms for more txs, so txs sent together share one."""
    Node.genesis(store, chain_id=CHAIN_ID, admin=ADMIN, clock=clock, api=API)
    node = make_node(store, clock, block_interval_s=0.3)
    yield node
    node.close()


def _refuse_poisoned_urls(store: Store) -> None:
    """A real database refusal of one tx's data, which every check before it let through."""
    refuse_writes(
        store,
        "poison",
        table="workers",
        event="INSERT",
        when="NEW.url LIKE '%poison%'",
        message="this value cannot be stored",
    )


def test_a_tx_the_database_refuses_fails_alone_and_the_block_commits(
    batching: Node, store: Store
) -> None:
    node = batching
    _refuse_poisoned_urls(store)
    senders = [key(f"honest-{i}") for i in range(4)]
    node.execute(ADMIN, {"set_config": {"registration_mode": "open"}})
    honest = [
        node.broadcast(
            signed(node, k, register_msg(f"10.0.9.{i}", payment_wallet=k.address), sequence=0)
        )
        for i, k in enumerate(senders[:2])
    ]
    poison_tx = signed(node, OTHER_KEY, register_msg("10.0.9.99", url=POISON), sequence=0)
    poisoned = node.broadcast(poison_tx)
    honest += [
        node.broadcast(
            signed(node, k, register_msg(f"10.0.9.{i + 2}", payment_wallet=k.address), sequence=0)
        )
        for i, k in enumerate(senders[2:])
    ]
    results = [p.future.result(10) for p in honest]
    bad = poisoned.future.result(10)

    assert all(r.ok for r in results), [r.log for r in results]
    assert {r.height for r in results} == {bad.height}, "all in one block"
    assert (bad.code, bad.codespace, bad.error) == (4, "worker-manager", "tx_unwritable")
    assert "IntegrityError" in bad.log
    assert node.block_error is None
    # the poison's sequence is used: the same bytes cannot be sent again
    assert node.get_account(OTHER_KEY.address).sequence == 1
    with pytest.raises(AnteError) as err:
        node.broadcast(poison_tx)
    assert err.value.error == "wrong_sequence"
    # its failure is on record, the honest workers are registered, the poisoned one is not
    record = node.get_tx(bad.hash)
    assert record is not None
    assert record.error == "tx_unwritable"
    workers = json.loads(node.query(b'{"get_worker_addresses":{}}'))["addresses"]
    assert workers == ["10.0.9.0", "10.0.9.1", "10.0.9.2", "10.0.9.3"]


def test_a_replay_reproduces_an_isolated_failure(batching: Node, store: Store, tmp_path: Path):
    node = batching
    _refuse_poisoned_urls(store)
    node.broadcast(signed(node, ADMIN_KEY, register_msg("10.0.9.1", url=POISON), sequence=0))
    last = node.broadcast(signed(node, ADMIN_KEY, register_msg("10.0.9.2"), sequence=1))
    assert last.future.result(10).ok
    target = Store(f"sqlite:///{tmp_path / 'replay.db'}")
    target.migrate()
    try:
        report = replay(store, target, API)
    finally:
        target.close()
    assert report.ok, report.mismatches
    assert report.txs == 3


def test_a_full_disk_refuses_the_block_as_a_node_failure_then_recovers(
    node: Node, store: Store, unchanged
) -> None:
    disk_full(store, full=True)
    tx = signed(node, ADMIN_KEY, register_msg("10.0.0.1", attestation_report="x" * 60_000))
    with unchanged(everything=True):
        pending = node.broadcast(tx)
        with pytest.raises(BlockWriteFailed, match=r"full|No space left"):
            pending.future.result(10)
    assert node.height == 1
    assert node.block_error is not None
    assert "full" in node.block_error or "No space left" in node.block_error
    # nothing was used: the same tx goes through once the disk has room again
    assert node.get_account(ADMIN_KEY.address).sequence == 0
    disk_full(store, full=False)
    assert node.broadcast(tx).future.result(10).ok
    assert node.block_error is None
    assert node.get_account(ADMIN_KEY.address).sequence == 1


def test_an_owner_sending_lone_surrogates_cannot_hurt_other_senders(batching: Node) -> None:
    """The attack of issue 10: a worker owner's url with a lone surrogate used to pass every
    check and fail the whole block. Now the ante refuses it and the others commit."""
    node = batching
    node.execute(ADMIN, register_msg("10.0.0.1"))
    poison = {"set_worker_url": {"ip_address": "10.0.0.1", "url": "https://\ud800.example"}}
    with pytest.raises(AnteError) as err:
        node.broadcast(signed(node, OWNER_KEY, poison))
    assert err.value.error == "invalid_unicode"
    honest = node.broadcast(signed(node, ADMIN_KEY, register_msg("10.0.0.2")))
    assert honest.future.result(10).ok
