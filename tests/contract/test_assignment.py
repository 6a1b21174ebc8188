"""Assignment: stable per subscriber while its worker stays live, and even."""

from collections import Counter

from tests.conftest import ADMIN, register_msg
from tests.helpers import ex, q
from worker_manager.contract.assignment import bucket_of, rank, weight_of
from worker_manager.contract.state import ServingWorker
from worker_manager.node import Node


def workers(n: int, capacity: int = 1) -> list[ServingWorker]:
    return [
        ServingWorker(f"10.0.{i // 250}.{i % 250 + 1}", "m", None, capacity, 0) for i in range(n)
    ]


def test_ten_thousand_subscribers_spread_evenly_over_twenty_workers() -> None:
    pool = workers(20)
    first = Counter(
        rank(pool, bucket_of(f"subscriber-{s}"), 1)[0].ip_address for s in range(10_000)
    )
    assert len(first) == 20
    assert max(first.values()) <= 1.3 * 10_000 / 20


def test_a_subscriber_keeps_its_worker_while_it_stays_live() -> None:
    pool = workers(20)
    chosen = {s: rank(pool, bucket_of(f"s{s}"), 1)[0] for s in range(2000)}
    gone = pool[7]
    smaller = [w for w in pool if w is not gone]
    for s, worker in chosen.items():
        again = rank(smaller, bucket_of(f"s{s}"), 1)[0]
        if worker is not gone:
            assert again is worker  # nobody else moves
    bigger = [*pool, ServingWorker("10.9.9.9", "m", None, 1, 0)]
    moved = sum(rank(bigger, bucket_of(f"s{s}"), 1)[0] is not chosen[s] for s in range(2000))
    assert moved < 2000 * 2 / 21  # only about a 21st moves to the newcomer


def test_capacity_and_load_weigh_the_share() -> None:
    pool = [ServingWorker("10.0.0.1", "m", None, 3, 0), ServingWorker("10.0.0.2", "m", None, 1, 0)]
    share = Counter(rank(pool, b, 1)[0].ip_address for b in range(4000))
    assert 2.4 < share["10.0.0.1"] / share["10.0.0.2"] < 3.8
    busy = [
        ServingWorker("10.0.0.1", "m", None, 1, 100),
        ServingWorker("10.0.0.2", "m", None, 1, 0),
    ]
    assert weight_of(busy[0]) < weight_of(busy[1])
    share = Counter(rank(busy, b, 1)[0].ip_address for b in range(4000))
    assert share["10.0.0.1"] > 0  # never all traffic to one worker
    assert share["10.0.0.2"] > 5 * share["10.0.0.1"]


def test_get_urls_follows_the_subscribers_order(node: Node) -> None:
    for i in range(10):
        ex(node, ADMIN, register_msg(f"10.1.0.{i + 1}"))
    first = q(node, {"get_urls": {"subscriber": "02aa"}})["urls"]
    assert sorted(first) == sorted(f"https://10.1.0.{i + 1}" for i in range(10))
    assert q(node, {"get_urls": {"subscriber": "02aa", "limit": 3}})["urls"] == first[:3]
    others = {
        q(node, {"get_urls": {"subscriber": f"02{i:02x}", "limit": 1}})["urls"][0]
        for i in range(64)
    }
    assert len(others) > 3  # different subscribers land on different workers
