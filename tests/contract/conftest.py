"""The contract tier: handlers on memory storage, no node, no database, no block thread.

``node`` here is a :class:`~tests.contract.harness.ContractHarness`: the contract
tests call it as they would call a node (``ex``/``q`` in tests/helpers.py), and
``unchanged`` compares the memory state before and after. Tests of what only a node
does ask for ``real_node`` (a node over SQLite, as tests/conftest.py builds it).
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from tests.conftest import ADMIN, API, CHAIN_ID, make_node
from tests.contract.harness import ContractHarness
from worker_manager.node import FixedClock, Node
from worker_manager.store import Store


@pytest.fixture
def node(clock: FixedClock) -> ContractHarness:
    """The contract instantiated by ADMIN on memory storage."""
    return ContractHarness(clock, API, chain_id=CHAIN_ID, admin=ADMIN)


@pytest.fixture
def unchanged(node: ContractHarness) -> Callable[..., Any]:
    """``with unchanged(): ...`` fails if the block changes the contract's state."""

    @contextmanager
    def check(**_: object) -> Iterator[None]:
        before = node.storage.snapshot()
        yield
        assert node.storage.snapshot() == before, "a refusal changed the state"

    return check


@pytest.fixture
def real_node(tmp_path: Any, clock: FixedClock) -> Iterator[Node]:
    """A node over a SQLite file, for the few contract tests of node behaviour (caches)."""
    store = Store(f"sqlite:///{tmp_path / 'node.db'}")
    store.migrate()
    Node.genesis(store, chain_id=CHAIN_ID, admin=ADMIN, clock=clock, api=API)
    node = make_node(store, clock)
    try:
        yield node
    finally:
        node.close()
        store.close()
