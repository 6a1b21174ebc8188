"""``GET /v1/state``: the stored head's height and the state hash at it, read together."""

import httpx

from tests.conftest import ADMIN, register_msg
from tests.helpers import ex
from worker_manager.node import Node
from worker_manager.store import Store
from worker_manager.store.state_hash import state_hash


def _hash(store: Store) -> str:
    with store.read() as session:
        return state_hash(session)


def test_state_answers_the_height_and_the_state_hash(
    base_url: str, node: Node, store: Store
) -> None:
    first = httpx.get(f"{base_url}/v1/state")
    assert first.status_code == 200
    assert first.json() == {"height": 1, "state_hash": _hash(store)}
    ex(node, ADMIN, register_msg("10.0.0.1"))
    second = httpx.get(f"{base_url}/v1/state").json()
    assert second == {"height": 2, "state_hash": _hash(store)}
    assert second["state_hash"] != first.json()["state_hash"]
    assert httpx.get(f"{base_url}/v1/state").json() == second  # nothing moved: the same


def test_state_is_documented_in_the_openapi_description(base_url: str) -> None:
    paths = httpx.get(f"{base_url}/openapi.json").json()["paths"]
    assert "reads the whole state" in paths["/v1/state"]["get"]["summary"]
