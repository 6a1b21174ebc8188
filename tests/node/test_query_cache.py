"""The node's query cache: ready answers kept until the state they depend on moves on,
and never emptied by a message that changes nothing."""

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from tests.conftest import ADMIN, OWNER, register_msg
from tests.helpers import ex, q
from worker_manager.node import Node
from worker_manager.node.cache import RankingShelf


def test_answers_are_cached_per_bucket_until_serving_changes(node: Node) -> None:
    ex(node, ADMIN, register_msg("10.2.0.1"))
    raw = b'{"get_urls":{"subscriber":"02aa"}}'
    answer = node.query(raw)
    assert node.cached_query(raw) == answer
    node.execute(
        ADMIN,
        {
            "add_subscriber": {
                "public_key": "02"
                + "79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798"
            }
        },
    )
    assert node.cached_query(raw) == answer  # a new block that serves nothing new
    ex(node, ADMIN, register_msg("10.2.0.2"))
    assert node.cached_query(raw) is None


def test_a_repeated_change_keeps_the_url_answers_cached(node: Node) -> None:
    """A no-op must not let any owner cut get_u_r_ls throughput by emptying its cache."""
    ex(node, ADMIN, register_msg("10.0.0.1"))
    urls = b'{"get_u_r_ls":{"model":"llama3.3:70b"}}'
    node.query(urls)
    repeats = [
        (OWNER, {"set_worker_type": {"ip_address": "10.0.0.1", "worker_type": "llama3.3:70b"}}),
        (OWNER, {"set_worker_url": {"ip_address": "10.0.0.1", "url": None}}),
        (OWNER, {"set_worker_wallet": {"ip_address": "10.0.0.1", "payment_wallet": OWNER}}),
        (OWNER, {"set_worker_paused": {"ip_address": "10.0.0.1", "paused": False}}),
        (
            OWNER,
            {"set_worker_address": {"old_ip_address": "10.0.0.1", "new_ip_address": "10.0.0.1"}},
        ),
        (ADMIN, {"set_config": {"epoch_seconds": 60}}),
        (ADMIN, {"set_attestation_policy": {"policy": None}}),
    ]
    for sender, msg in repeats:
        ex(node, sender, msg)
        assert node.cached_query(urls) is not None, f"{msg} emptied the cache"
    ex(node, OWNER, {"set_worker_type": {"ip_address": "10.0.0.1", "worker_type": "other"}})
    assert node.cached_query(urls) is None
    assert q(node, {"get_u_r_ls": {"model": "llama3.3:70b"}}) == {"urls": []}


def test_queries_are_answered_from_the_cache_until_the_height_moves(node: Node) -> None:
    raw = json.dumps({"get_models": {}}).encode()
    assert node.query(raw) == b'{"models":[]}'
    assert node.cached_query(raw) == b'{"models":[]}'
    ex(node, ADMIN, register_msg("10.0.0.1"))
    assert node.cached_query(raw) is None
    assert node.query(raw) == b'{"models":["llama3.3:70b"]}'


def _urls(subscriber: int, model: str = "llama3") -> bytes:
    return json.dumps(
        {"get_u_r_ls": {"model": model, "subscriber": f"02{subscriber:064x}"}}
    ).encode()


def test_a_new_bucket_is_answered_from_its_models_ranking_without_the_store(node: Node) -> None:
    for i in range(1, 30):
        ex(node, ADMIN, register_msg(f"10.3.0.{i}", worker_type="llama3"))
    expected = {}
    for i in range(200):  # each answer read from the store afresh
        node.queries.cache.clear()
        node.queries.rankings.clear()
        expected[i] = node.query(_urls(i))
    node.queries.cache.clear()
    node.queries.rankings.clear()
    assert node.cached_query(_urls(1)) is None  # nothing kept yet: query() reads the store
    assert node.query(_urls(0)) == expected[0]
    assert node.cached_query(_urls(1, "other-model")) is None  # no ranking of that model
    for i in range(1, 200):  # answered at once, from the model's ranking
        assert node.cached_query(_urls(i)) == expected[i]
    assert len(set(expected.values())) > 5  # buckets are ranked apart, not given one answer
    ex(node, ADMIN, register_msg("10.3.1.1", worker_type="llama3"))  # what is served moved on
    assert node.cached_query(_urls(500)) is None
    assert b"10.3.1.1" in node.query(b'{"get_u_r_ls":{"model":"llama3","limit":100}}')


def test_first_requests_of_a_model_wait_for_one_read_of_the_store(node: Node) -> None:
    for i in range(1, 20):
        ex(node, ADMIN, register_msg(f"10.4.0.{i}", worker_type="llama3"))
    shelf = node.queries.rankings
    computed = []
    put = shelf.put

    def counting_put(*args: Any) -> None:
        computed.append(args[0])
        put(*args)

    shelf.put = counting_put  # type: ignore[method-assign]
    start = threading.Barrier(16)

    def ask(i: int) -> bytes:
        start.wait()
        return node.query(_urls(i))

    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(ask, range(16)))
    assert computed == [("llama3", None)]
    shelf.put = put  # type: ignore[method-assign]
    node.queries.cache.clear()
    node.queries.rankings.clear()
    assert answers == [node.query(_urls(i)) for i in range(16)]


def test_kept_rankings_are_bounded_and_go_stale_with_the_serving_version() -> None:
    from worker_manager.contract.assignment import RankingIndex
    from worker_manager.contract.queries import UrlsRanking

    shelf = RankingShelf(max_entries=3)
    ranking = UrlsRanking(live=RankingIndex.build([]), url_template="https://{ip}", limit=10)
    for n in range(5):
        shelf.put((f"model-{n}", None), 7, ranking)
    assert shelf.get(("model-0", None), 7) is None  # the oldest went first
    assert shelf.get(("model-4", None), 7) is ranking
    assert shelf.get(("model-4", None), 8) is None
