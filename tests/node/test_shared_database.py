"""Several nodes on one database, as several processes (or machines) run them: each its
own store and connections, all accepting txs and answering queries, on both engines.
Heights, sequences and worker keys stay as one node would keep them."""

import itertools
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from tests.conftest import (
    ADMIN,
    ADMIN_KEY,
    API,
    CHAIN_ID,
    OWNER,
    OWNER_KEY,
    key,
    make_node,
    register_msg,
)
from tests.node.test_ante import signed
from worker_manager.contract.error import WorkerExists
from worker_manager.node import AnteError, FixedClock, Node
from worker_manager.node.chain import ForeignSeed
from worker_manager.node.host_api import HostApi
from worker_manager.store import Store

NodeFactory = Callable[..., Node]


@pytest.fixture
def nodes(database_url: str, clock: FixedClock) -> Iterator[NodeFactory]:
    """``nodes()`` builds another node on the one database (genesis by the first)."""
    built: list[tuple[Node, Store]] = []
    genesis = Store(database_url)
    Node.genesis(genesis, chain_id=CHAIN_ID, admin=ADMIN, clock=clock, api=API)
    genesis.close()

    def another(**parts: object) -> Node:
        store = Store(database_url)
        node = make_node(store, clock, **parts)
        built.append((node, store))
        return node

    yield another
    for node, store in built:
        node.close()
        store.close()


def test_each_node_writes_on_top_of_the_others_blocks(nodes: NodeFactory) -> None:
    """The bug this fixes: node B kept its height in memory and every block it wrote
    after node A's failed on the unique (height, index) of the tx log."""
    a, b = nodes(), nodes()
    heights = []
    for i in range(6):
        node = (a, b)[i % 2]
        heights.append(node.execute(ADMIN, register_msg(f"10.0.0.{i}")).height)
    assert heights == [2, 3, 4, 5, 6, 7]
    a.follower.refresh()  # within the staleness bound A may not have looked yet
    assert a.height == b.height == 7
    for node in (a, b):
        addresses = node.query(b'{"get_worker_addresses":{}}')
        assert addresses.count(b"10.0.0.") == 6


def test_a_query_never_answers_from_a_head_older_than_the_bound(nodes: NodeFactory) -> None:
    """No follower thread runs here: the bound holds by the inline check alone."""
    a, b = nodes(), nodes(max_staleness_s=0.2)
    models = b'{"get_models":{}}'
    assert b.query(models) == b'{"models":[]}'  # cached under B's head
    a.execute(ADMIN, register_msg("10.0.0.1", worker_type="m1"))
    time.sleep(0.25)
    assert b.query(models) == b'{"models":["m1"]}'
    assert b.height == a.height


def test_a_node_hears_another_nodes_block_at_once(nodes: NodeFactory) -> None:
    """The follower thread: LISTEN/NOTIFY on PostgreSQL, a look at the stored height a
    few times per bound on SQLite. Either way well inside the bound."""
    a, b = nodes(), nodes(max_staleness_s=1.0)
    b.follower.start()
    height = a.execute(ADMIN, register_msg("10.0.0.1")).height
    deadline = time.monotonic() + 1.0
    while b.chain.head.height < height:
        assert time.monotonic() < deadline, "node B did not see node A's block in time"
        time.sleep(0.005)


def test_the_same_signed_tx_through_two_nodes_is_committed_once(nodes: NodeFactory) -> None:
    a, b = nodes(block_interval_s=0.2), nodes(block_interval_s=0.2)
    tx = signed(a, ADMIN_KEY, register_msg("10.0.0.1"), sequence=0)
    first, second = a.broadcast(tx), b.broadcast(tx)
    one, other = first.future.result(10), second.future.result(10)
    assert one.ok
    assert other.ok
    assert (one.hash, one.height, one.index) == (other.hash, other.height, other.index)
    assert a.get_account(ADMIN_KEY.address).sequence == 1
    _block, txs = a.get_block(one.height) or (None, [])
    assert [t.hash for t in txs].count(one.hash) == 1


def test_one_sequence_sent_through_two_nodes_is_used_once(nodes: NodeFactory) -> None:
    """Two different txs with the same sequence, one per node: one commits, the other
    fails in its block with wrong_sequence, and the account moved by exactly one."""
    a, b = nodes(block_interval_s=0.1), nodes(block_interval_s=0.1)
    first = a.broadcast(signed(a, ADMIN_KEY, register_msg("10.0.0.1"), sequence=0))
    second = b.broadcast(signed(b, ADMIN_KEY, register_msg("10.0.0.2"), sequence=0))
    results = [first.future.result(10), second.future.result(10)]
    assert sorted(r.ok for r in results) == [False, True]
    (failed,) = [r for r in results if not r.ok]
    assert (failed.code, failed.error) == (32, "wrong_sequence")
    assert a.get_account(ADMIN_KEY.address).sequence == 1
    assert b.get_account(ADMIN_KEY.address).sequence == 1


def test_a_sender_may_move_between_nodes(nodes: NodeFactory) -> None:
    """Each node's sequence view catches up with the database when a claim disagrees."""
    a, b = nodes(), nodes()
    for sequence in range(4):
        node = (a, b)[sequence % 2]
        msg = register_msg(f"10.0.1.{sequence}")
        assert node.broadcast(signed(node, ADMIN_KEY, msg, sequence=sequence)).future.result(10).ok
    with pytest.raises(AnteError) as err:  # an old sequence is still refused, by either
        b.broadcast(signed(b, ADMIN_KEY, register_msg("10.0.1.9"), sequence=1))
    assert err.value.error == "wrong_sequence"


def test_conflicting_registrations_through_three_nodes_have_one_winner(
    nodes: NodeFactory,
) -> None:
    """The same 20 addresses registered by 3 senders, one per node, all at once: one
    registration per address succeeds, every other is refused by the contract."""
    fleet = [nodes(block_interval_s=0.01) for _ in range(3)]
    fleet[0].execute(ADMIN, {"set_config": {"registration_mode": "open"}})
    senders = [key(f"racer-{i}") for i in range(3)]
    outcomes: list[list[object]] = [[] for _ in fleet]

    def race(index: int) -> None:
        node, sender = fleet[index], senders[index]
        for sequence in range(20):
            msg = register_msg(f"10.9.0.{sequence}", payment_wallet=sender.address)
            pending = node.broadcast(signed(node, sender, msg, sequence=sequence))
            outcomes[index].append(pending.future.result(30))

    threads = [threading.Thread(target=race, args=(i,)) for i in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    results = [r for per_node in outcomes for r in per_node]
    assert len(results) == 60
    winners = [r for r in results if r.ok]  # type: ignore[attr-defined]
    assert len(winners) == 20
    losers = [r for r in results if not r.ok]  # type: ignore[attr-defined]
    assert {r.error for r in losers} == {WorkerExists.code}  # type: ignore[attr-defined]
    heights = sorted({r.height for r in results})  # type: ignore[attr-defined]
    assert heights == list(range(heights[0], heights[0] + len(heights)))  # no gaps
    for node in fleet:
        addresses = node.query(b'{"get_worker_addresses":{}}')
        assert addresses.count(b"10.9.0.") == 20


def test_two_nodes_trusted_calls_never_share_a_hash(nodes: NodeFactory) -> None:
    """Both nodes run on the same (fixed) clock: their trusted txs still differ."""
    a, b = nodes(), nodes()
    one = a.execute(ADMIN, register_msg("10.0.0.1"))
    b.execute(OWNER, {"set_worker_paused": {"ip_address": "10.0.0.1", "paused": True}})
    other = b.execute(OWNER, {"set_worker_paused": {"ip_address": "10.0.0.1", "paused": False}})
    assert one.hash != other.hash
    assert a.tick().ok
    assert b.tick().ok  # the same epoch again: changes nothing, and is recorded
    assert OWNER_KEY.address == OWNER


def test_a_node_with_another_seed_refuses_the_shared_chain(
    nodes: NodeFactory, database_url: str, clock: FixedClock
) -> None:
    """Its challenges and encryption key would differ from the other nodes'."""
    nodes()
    store = Store(database_url)
    try:
        with pytest.raises(ForeignSeed, match="another node seed"):
            make_node(store, clock, api=HostApi(b"another seed".ljust(32, b"!")))
    finally:
        store.close()


def test_block_times_never_go_back_when_node_clocks_disagree(
    database_url: str, clock: FixedClock
) -> None:
    """Node A's clock runs an hour ahead of node B's: each block's time is at least its
    parent's plus 1 ns, whichever node writes it (a clock ahead pushes time forward)."""
    genesis = Store(database_url)
    Node.genesis(genesis, chain_id=CHAIN_ID, admin=ADMIN, clock=clock, api=API)
    genesis.close()
    ahead = FixedClock(clock.now_ns() + 3600 * 1_000_000_000)
    stores = [Store(database_url), Store(database_url)]
    fleet = [make_node(stores[0], ahead), make_node(stores[1], clock)]
    try:
        heights = [
            fleet[i % 2].execute(ADMIN, register_msg(f"10.0.3.{i}")).height for i in range(4)
        ]
        with stores[0].read() as session:
            times = [session.ledger.get_block(h).time_ns for h in [1, *heights]]  # type: ignore[union-attr]
    finally:
        for node, store in zip(fleet, stores, strict=True):
            node.close()
            store.close()
    assert all(later > earlier for earlier, later in itertools.pairwise(times))
    assert times[2] == times[1] + 1  # B's clock is behind A's block: parent + 1 ns
