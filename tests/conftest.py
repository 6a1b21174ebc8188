"""Shared fixtures: real stores (SQLite file, SQLite memory), actors with real keys, a node."""

import hashlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from worker_manager.keys import PrivateKey
from worker_manager.node import FixedClock, Node
from worker_manager.store import Store
from worker_manager.store.tables import metadata

GENESIS_NS = 1_767_225_600 * 1_000_000_000  # 2026-01-01T00:00:00Z
CHAIN_ID = "wm-test-1"


def key(name: str) -> PrivateKey:
    """A fixed, real secp256k1 key per actor name (deterministic across runs)."""
    return PrivateKey(hashlib.sha256(f"worker-manager test key {name}".encode()).digest())


ADMIN_KEY = key("admin")
OWNER_KEY = key("owner")
OTHER_KEY = key("other")
NEW_ADMIN_KEY = key("new-admin")
SUBSCRIBER_KEY = key("subscriber")
WORKER_KEY = key("worker")

ADMIN = ADMIN_KEY.address
OWNER = OWNER_KEY.address
OTHER = OTHER_KEY.address
NEW_ADMIN = NEW_ADMIN_KEY.address


def subscriber_proof(private_key: PrivateKey = SUBSCRIBER_KEY) -> dict[str, str]:
    """The original contract's proof: signature over sha256(public key bytes)."""
    public = private_key.public_key
    return {
        "signature": private_key.sign(public).hex(),
        "subscriber_public_key": public.hex(),
    }


@pytest.fixture(params=["sqlite-file", "sqlite-memory"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A migrated, empty store on a real SQLite database."""
    url = f"sqlite:///{tmp_path / 'test.db'}" if request.param == "sqlite-file" else "sqlite://"
    s = Store(url)
    s.migrate()
    yield s
    s.close()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(GENESIS_NS)


@pytest.fixture
def node(store: Store, clock: FixedClock) -> Node:
    """A node whose contract was instantiated by ADMIN at height 1."""
    Node.genesis(store, chain_id=CHAIN_ID, admin=ADMIN, clock=clock)
    return Node(store, clock)


def register_msg(ip: str = "10.0.0.1", **fields: Any) -> dict[str, Any]:
    body = {
        "ip_address": ip,
        "payment_wallet": OWNER,
        "attestation_report": "quote:" + ip,
        "worker_type": "llama3.3:70b",
        **fields,
    }
    return {"register_worker": body}


def snapshot(store: Store) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in a stable order, to prove that nothing changed."""
    tables: dict[str, list[tuple[Any, ...]]] = {}
    with store.read() as session:
        for table in metadata.sorted_tables:
            rows = session.connection.execute(select(table))
            tables[table.name] = sorted(tuple(r) for r in rows)
    return tables


@pytest.fixture
def unchanged(store: Store) -> Callable[[], Any]:
    """``with unchanged(): ...`` fails if the block changes any row of the store."""

    @contextmanager
    def check() -> Iterator[None]:
        before = snapshot(store)
        yield
        assert snapshot(store) == before, "a refused message changed the store"

    return check
