"""Each execute commits whole or not at all: a write that fails half way leaves nothing."""

import pytest

from tests.conftest import ADMIN, OWNER, register_msg
from tests.db_faults import allow_writes, refuse_writes
from tests.helpers import ex, q
from worker_manager.contract.error import WorkerNotFound
from worker_manager.node import Node
from worker_manager.node.isolation import BlockWriteFailed
from worker_manager.store import Store


def _fail_on_height_update(store: Store) -> None:
    """A real database failure: the write after the contract's own writes aborts."""
    refuse_writes(
        store,
        "fail_height",
        table="node_meta",
        event="UPDATE",
        when="NEW.key = 'height'",
        message="disk says no",
    )


def _drop_trigger(store: Store) -> None:
    allow_writes(store, "fail_height", table="node_meta")


def test_a_failed_write_half_way_rolls_back_the_whole_execute(
    node: Node, store: Store, unchanged
) -> None:
    _fail_on_height_update(store)
    with unchanged(), pytest.raises(BlockWriteFailed, match="disk says no"):
        ex(node, ADMIN, register_msg("10.0.0.1"))
    assert node.height == 1
    with pytest.raises(WorkerNotFound):
        q(node, {"get_worker": {"ip_address": "10.0.0.1"}})
    _drop_trigger(store)
    assert ex(node, ADMIN, register_msg("10.0.0.1")).height == 2


def test_a_move_that_fails_half_way_keeps_the_worker_where_it_was(
    node: Node, store: Store, unchanged
) -> None:
    ex(node, ADMIN, register_msg("10.0.0.1"))
    _fail_on_height_update(store)
    with unchanged(), pytest.raises(BlockWriteFailed):
        ex(
            node,
            OWNER,
            {"set_worker_address": {"old_ip_address": "10.0.0.1", "new_ip_address": "10.0.0.2"}},
        )
    assert q(node, {"get_worker": {"ip_address": "10.0.0.1"}})["payment_wallet"] == OWNER


def test_the_store_rolls_back_on_any_exception(store: Store) -> None:
    class Boom(Exception):
        pass

    def write_then_fail() -> None:
        with store.write() as session:
            session.meta.set("a", "1")
            raise Boom

    with pytest.raises(Boom):
        write_then_fail()
    with store.read() as session:
        assert session.meta.get("a") is None
