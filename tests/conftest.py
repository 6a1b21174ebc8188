"""Shared fixtures: real stores (a SQLite file, a database on a real PostgreSQL), actors
with real keys, a node."""

import hashlib
import itertools
import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from sqlalchemy import select

from tests.postgres import PostgresServer, start_server
from worker_manager.keys import PrivateKey
from worker_manager.node import FixedClock, Node
from worker_manager.node.host_api import HostApi
from worker_manager.secret.aliases import CONTRACT_ALIASES
from worker_manager.secret.node_key import node_io_key
from worker_manager.store import Store
from worker_manager.store.tables import metadata

GENESIS_NS = 1_767_225_600 * 1_000_000_000  # 2026-01-01T00:00:00Z
CHAIN_ID = "wm-test-1"
#: The host functions of every test node, from a fixed seed (the real implementation).
API = HostApi(b"worker-manager test seed".ljust(32, b"."))
#: The seed of every test node's x25519 key (Secret's encrypted messages).
NODE_SEED = b"\x07" * 32
#: The migrated database each PostgreSQL test database is copied from.
PG_TEMPLATE = "wm_template"
_DATABASE_NUMBERS = itertools.count()


def make_node(store: Store, clock: FixedClock, **parts: Any) -> Node:
    """A node over ``store`` built as ``build_node`` builds one (its x25519 key, the
    contract aliases, blocks that close at once), with any part replaced by ``parts``."""
    whole: dict[str, Any] = {
        "api": API,
        "io_key": node_io_key(NODE_SEED),
        "contract_aliases": CONTRACT_ALIASES,
        "block_interval_s": 0,
        **parts,
    }
    return Node(store, clock, **whole)


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


@pytest.fixture(scope="session")
def migrated_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated to this code's schema, once per test process: each
    ``store`` starts from a copy instead of running every migration again."""
    path = tmp_path_factory.mktemp("template") / "migrated.db"
    template = Store(f"sqlite:///{path}")
    template.migrate()
    template.close()
    return path


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A real PostgreSQL server for this test process (skips, or fails under
    ``WM_REQUIRE_POSTGRES=1``, where there is none), with a migrated template database."""
    server = start_server()
    template = Store(server.create_database(PG_TEMPLATE))
    template.migrate()
    template.close()
    yield server
    server.stop()


@contextmanager
def postgres_database(server: PostgresServer, *, migrated: bool) -> Iterator[str]:
    """A new database on ``server`` (a copy of the migrated template, or empty), dropped
    afterwards; yields its URL."""
    name = f"t_{os.getpid()}_{next(_DATABASE_NUMBERS)}"
    url = server.create_database(name, template=PG_TEMPLATE if migrated else None)
    try:
        yield url
    finally:
        server.drop_database(name)


ENGINES = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
]


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> str:
    """The database engine a test runs on: every test that uses a store runs on both."""
    return str(request.param)


@pytest.fixture
def database_url(
    request: pytest.FixtureRequest, engine: str, tmp_path: Path, migrated_database: Path
) -> Iterator[str]:
    """The URL of a new, migrated, empty database on ``engine``: a SQLite file as a home
    keeps one, or a database of its own on a real PostgreSQL server."""
    if engine == "sqlite":
        path = tmp_path / "test.db"
        shutil.copyfile(migrated_database, path)
        yield f"sqlite:///{path}"
        return
    with postgres_database(request.getfixturevalue("postgres"), migrated=True) as url:
        yield url


@pytest.fixture
def empty_database_url(
    request: pytest.FixtureRequest, engine: str, tmp_path: Path
) -> Iterator[str]:
    """The URL of a new database on ``engine`` with no schema at all (for migrations)."""
    if engine == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    with postgres_database(request.getfixturevalue("postgres"), migrated=False) as url:
        yield url


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    """A migrated, empty store (storage backends are held to one behaviour by
    tests/store/test_conformance.py; node, HTTP and end-to-end tests run on both
    engines, since several nodes share one PostgreSQL database)."""
    s = Store(database_url)
    yield s
    s.close()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(GENESIS_NS)


@pytest.fixture
def node(store: Store, clock: FixedClock) -> Iterator[Node]:
    """A node whose contract was instantiated by ADMIN at height 1 (blocks close at once)."""
    Node.genesis(store, chain_id=CHAIN_ID, admin=ADMIN, clock=clock, api=API)
    n = make_node(store, clock)
    yield n
    n.close()


def register_msg(ip: str = "10.0.0.1", **fields: Any) -> dict[str, Any]:
    body = {
        "ip_address": ip,
        "payment_wallet": OWNER,
        "attestation_report": "quote:" + ip,
        "worker_type": "llama3.3:70b",
        **fields,
    }
    return {"register_worker": body}


CONTRACT_TABLES = ("contract_state", "workers", "subscribers", "revoked_permits")


def snapshot(store: Store, *, everything: bool = False) -> dict[str, list[tuple[Any, ...]]]:
    """Rows of the contract's tables (or of every table), in a stable order."""
    tables: dict[str, list[tuple[Any, ...]]] = {}
    with store.read() as session:
        for table in metadata.sorted_tables:
            if not everything and table.name not in CONTRACT_TABLES:
                continue
            rows = session.connection.execute(select(table))
            tables[table.name] = sorted(tuple(r) for r in rows)
    return tables


@pytest.fixture
def unchanged(store: Store) -> Callable[..., Any]:
    """``with unchanged(): ...`` fails if the block changes the contract's state.

    A refused execute is still recorded in the tx log (as on a chain), so only
    ``unchanged(everything=True)`` (for refusals before a block) checks every table.
    """

    @contextmanager
    def check(*, everything: bool = False) -> Iterator[None]:
        before = snapshot(store, everything=everything)
        yield
        assert snapshot(store, everything=everything) == before, "a refusal changed the store"

    return check


@pytest.fixture(scope="session")
def secret_clients() -> ModuleType:
    """``tests/secret_clients.py``, with the real secret-sdk clients' virtualenv built."""
    from tests import secret_clients as module

    module.client_venv()
    return module


@pytest.fixture(scope="session")
def test_venvs() -> ModuleType:
    """``tests/secret_clients.py`` only, for tests that build other cached virtualenvs."""
    from tests import secret_clients as module

    return module


@pytest.fixture(params=["front-door", "framework-only"])
def base_url(request: pytest.FixtureRequest, node: Node) -> Iterator[str]:
    """The test node served over real HTTP on 127.0.0.1: through the hot-path front
    door as ``serve`` runs it, and through the FastAPI routes alone (same answers)."""
    from tests.server_thread import ServerThread

    with ServerThread(node, front_door=request.param == "front-door") as url:
        yield url
