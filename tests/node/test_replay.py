"""The tx log, replayed from height 1 into an empty store, gives the same state."""

from pathlib import Path

import pytest
from sqlalchemy import update

from tests.conftest import ADMIN, ADMIN_KEY, API, OTHER_KEY, OWNER, OWNER_KEY, register_msg
from tests.node.test_ante import send, signed
from worker_manager.node import Node
from worker_manager.node.replay import ReplayError, replay
from worker_manager.store import Store
from worker_manager.store.tables import workers


def _history(node: Node) -> None:
    """Signed and trusted txs, successes and refusals, several per block."""
    send(node, signed(node, ADMIN_KEY, register_msg("10.0.0.1")))
    send(node, signed(node, ADMIN_KEY, register_msg("10.0.0.2", payment_wallet=OTHER_KEY.address)))
    send(node, signed(node, OTHER_KEY, register_msg("10.0.0.3")))  # refused: not the admin
    node.execute(ADMIN, {"set_config": {"url_template": "https://{host}:21434"}})
    first = node.broadcast(
        signed(node, OWNER_KEY, {"set_worker_type": {"ip_address": "10.0.0.1", "worker_type": "m"}})
    )
    second = node.broadcast(
        signed(node, OWNER_KEY, {"remove_worker": {"ip_address": "10.0.0.2"}}, sequence=1)
    )
    first.future.result(10)
    second.future.result(10)
    send(
        node,
        signed(
            node,
            OTHER_KEY,
            {"set_worker_address": {"old_ip_address": "10.0.0.2", "new_ip_address": "10.0.0.9"}},
        ),
    )
    node.execute(ADMIN, {"add_subscriber": {"public_key": OWNER_KEY.public_key.hex()}})


def _fresh(tmp_path: Path) -> Store:
    target = Store(f"sqlite:///{tmp_path / 'replay.db'}")
    target.migrate()
    return target


def test_replaying_the_log_rebuilds_the_same_state(
    node: Node, store: Store, tmp_path: Path
) -> None:
    _history(node)
    target = _fresh(tmp_path)
    report = replay(store, target, API)
    assert report.ok, report.mismatches
    assert report.state_hash == report.replayed_state_hash
    assert len(report.state_hash) == 64
    assert report.blocks == node.height
    assert report.txs >= 9
    replayed = Node(target, node.clock, api=API)
    assert replayed.query(b'{"get_urls":{}}') == node.query(b'{"get_urls":{}}')
    assert replayed.get_account(OWNER) == node.get_account(OWNER)
    target.close()


def test_a_state_that_disagrees_with_its_log_is_caught(
    node: Node, store: Store, tmp_path: Path
) -> None:
    _history(node)
    with store.write() as session:
        session.connection.execute(
            update(workers).where(workers.c.ip_address == "10.0.0.1").values(worker_type="x")
        )
    report = replay(store, _fresh(tmp_path), API)
    assert report.mismatches == [
        "table workers: replayed state differs from the source",
        "state hash: the replayed state's differs from the source's",
    ]
    assert report.state_hash != report.replayed_state_hash


def test_replay_needs_an_empty_target(node: Node, store: Store) -> None:
    with pytest.raises(ReplayError, match="not empty"):
        replay(store, store, API)
