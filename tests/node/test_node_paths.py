"""The node's own paths around the contract: its epoch tick (a sudo tx of the node),
trusted executes that the contract refuses, a second genesis, and answers cached under
the query's meaning rather than its spelling."""

import pytest

from tests.conftest import ADMIN, API, CHAIN_ID, OTHER, register_msg
from tests.helpers import ex
from worker_manager.contract.error import Unauthorized
from worker_manager.node import FixedClock, Node
from worker_manager.store import SchemaError, Store


def test_the_epoch_tick_marks_the_epoch_up_once(node: Node, clock: FixedClock) -> None:
    epoch_seconds = node.chain.head.config.epoch_seconds
    epoch = clock.now_ns() // 1_000_000_000 // epoch_seconds
    outcome = node.tick()
    assert outcome.ok, outcome.log
    state = node.chain.head.liveliness
    assert state.last_up_epoch == epoch
    again = node.tick()  # the same epoch: counted once
    assert again.ok
    assert node.chain.head.liveliness == state
    clock.advance(epoch_seconds)
    assert node.tick().ok
    assert node.chain.head.liveliness.last_up_epoch == epoch + 1
    assert node.chain.head.liveliness.up_index == state.up_index + 1


def test_a_trusted_execute_the_contract_refuses_raises_and_is_logged(node: Node) -> None:
    height = node.chain.head.height
    with pytest.raises(Unauthorized):
        node.execute(OTHER, {"pause": {}})
    assert node.chain.head.height == height + 1  # the refusal has its block
    assert not node.chain.head.config.paused


def test_genesis_refuses_a_store_that_already_holds_a_chain(
    node: Node, store: Store, clock: FixedClock
) -> None:
    with pytest.raises(SchemaError, match="already holds a chain"):
        Node.genesis(store, chain_id=CHAIN_ID, admin=ADMIN, clock=clock, api=API)


def test_an_answer_is_cached_under_its_meaning_whatever_the_spelling(node: Node) -> None:
    ex(node, ADMIN, register_msg("10.0.0.1"))
    plain = b'{"get_models":{}}'
    spaced = b'{ "get_models" : { } }'
    answer = node.query(plain)
    assert node.cached_query(spaced) is None  # never seen as these bytes
    assert node.query(spaced) == answer  # found under its meaning
    assert node.cached_query(spaced) == answer  # and now kept as these bytes too
