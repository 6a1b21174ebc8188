"""``GET /v1/state``: the stored head's height and the state hash at it, read together."""

import httpx
import pytest

from tests.conftest import ADMIN, register_msg
from tests.helpers import ex
from worker_manager.node import Node, state_summary
from worker_manager.store import Store
from worker_manager.store.state_hash import state_hash


def _hash(store: Store) -> str:
    with store.read() as session:
        return state_hash(session)


def test_state_answers_the_height_and_the_state_hash(
    base_url: str, node: Node, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(state_summary, "MIN_RECOMPUTE_S", 0.0)
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


def test_state_is_computed_at_most_once_a_second_whoever_asks(
    base_url: str, node: Node, store: Store
) -> None:
    """The route is public and reads the whole state: within a second of a computation
    every caller shares it (its height says which state it is)."""
    first = httpx.get(f"{base_url}/v1/state").json()
    ex(node, ADMIN, register_msg("10.0.0.1"))
    assert httpx.get(f"{base_url}/v1/state").json() == first
    assert first == {"height": 1, "state_hash": first["state_hash"]}
