"""A block's write buffers see the block's own earlier txs: limits that count state
(workers per owner) count the workers registered earlier in the same block."""

from tests.conftest import ADMIN, API, CHAIN_ID, OTHER_KEY, make_node, register_msg
from tests.node.test_ante import signed
from worker_manager.node import FixedClock, Node
from worker_manager.store import Store


def test_the_owner_limit_counts_the_workers_of_the_same_block(
    store: Store, clock: FixedClock
) -> None:
    """Three registrations to one wallet in one block, limit two: the third is refused."""
    Node.genesis(store, chain_id=CHAIN_ID, admin=ADMIN, clock=clock, api=API)
    batching = make_node(store, clock, block_interval_s=0.3)
    try:
        batching.execute(
            ADMIN, {"set_config": {"registration_mode": "open", "max_workers_per_owner": 2}}
        )
        pending = [
            batching.broadcast(signed(batching, OTHER_KEY, register_msg(f"10.0.1.{i}"), sequence=i))
            for i in range(3)
        ]
        results = [p.future.result(10) for p in pending]
    finally:
        batching.close()
    assert len({r.height for r in results}) == 1
    assert [r.error for r in results] == [None, None, "too_many_workers"]
