"""The node's query cache: ready answers kept until the state they depend on moves on,
and never emptied by a message that changes nothing."""

import json

from tests.conftest import ADMIN, OWNER, register_msg
from tests.helpers import ex, q
from worker_manager.node import Node


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
