"""Creating a node's home, the development home of a first ``serve``, and reading one back.

A home is created whole or not at all: its files, its migrated database and the
chain's first block (the contract instantiated with the admin). On any failure
what was created is removed, and a keyring already in the home is kept.
"""

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from worker_manager.application.errors import BadInput, Failed, Unavailable
from worker_manager.contract import ContractError
from worker_manager.home import HomeError, is_initialised, read_seed, write_home, write_secret
from worker_manager.keys.keyring import Keyring
from worker_manager.keys.mnemonic import generate_mnemonic, key_from_mnemonic
from worker_manager.node import Node, NodeNotInitialised, SystemClock
from worker_manager.node.bootstrap import build_node, host_api, open_store
from worker_manager.node.identity import ChainIdentity, InvalidChainId, validate_chain_id
from worker_manager.serve_lock import serving_pid, serving_url
from worker_manager.settings import (
    DEFAULT_HOST,
    DEFAULT_PORT,
    KEYRING_DIR,
    SECRETS_DIR,
    Settings,
    SettingsError,
    database_url_for,
    environment,
)
from worker_manager.store import SchemaError, Store
from worker_manager.store.engine import is_sqlite

DEV_CHAIN_ID = "worker-manager-dev"
#: The key a development home's admin is kept under in its keyring.
DEV_ADMIN_KEY = "admin"
#: A development home whose creator set no WM_KEYRING_PASSPHRASE keeps its keyring under
#: this passphrase, written in clear in this file of its secrets: for trying things out
#: only. Commands that sign with a key of that home use it when no passphrase is given.
DEV_PASSPHRASE_FILE = "dev-keyring.passphrase"  # noqa: S105 - a file name
DEV_PASSPHRASE = "development-only-not-secret"  # noqa: S105 - public by design


def load_settings(home: Path, *, database_url: str | None = None) -> Settings:
    """The home's settings (``config.toml`` and ``WM_*``); :class:`BadInput` names what is
    wrong, or says how to create a home where there is none.

    ``database_url`` (``--database-url``) replaces the home's database for this run;
    empty means the SQLite file in the home, None keeps the home's setting.
    """
    try:
        settings = Settings.load(home, environment())
    except SettingsError as exc:
        if not (home / "config.toml").exists():
            raise BadInput(
                f"{home} is not a worker-manager home. Create one with:\n"
                f"  worker-manager init --home {home} --chain-id ID --admin secret1..."
            ) from exc
        raise BadInput(str(exc)) from exc
    if database_url is None:
        return settings
    return settings.with_changes(database_url=database_url_for(home, database_url))


@contextmanager
def new_home(home: Path) -> Iterator[None]:
    """Check that ``home`` may become a home (new, empty, or holding only a keyring:
    ``keys add`` before ``init`` is fine), and remove what the block created if it fails.

    Raises :class:`Failed` for a home that exists already."""
    existed = home.exists()
    if is_initialised(home):
        raise Failed(f"{home} is already a worker-manager home; pick another --home")
    before = {p.name for p in home.iterdir()} if existed else set()
    if before - {KEYRING_DIR}:
        raise Failed(f"{home} exists and is not empty; pick an empty or new directory")
    try:
        yield
    except BaseException:
        _remove_created(home, existed, before)
        raise


def _remove_created(home: Path, existed: bool, before: set[str]) -> None:
    if not existed:
        shutil.rmtree(home, ignore_errors=True)
        return
    for child in home.iterdir():
        if child.name in before:
            continue
        if child.is_dir():
            shutil.rmtree(child)
        else:
            child.unlink()


def create_home(
    home: Path,
    *,
    chain_id: str,
    admin: str,
    database_url: str = "",
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    instantiate_msg: dict[str, Any] | None = None,
) -> Settings:
    """Write a home and create its chain (see the module docstring).

    The home may already hold a keyring (``keys add`` before ``init`` is fine).
    Raises :class:`BadInput` for a bad chain id or instantiate message, and
    :class:`Failed` for a home that exists or cannot be written.
    """
    try:
        validate_chain_id(chain_id)
    except InvalidChainId as exc:
        raise BadInput(str(exc)) from exc
    try:
        with new_home(home):
            write_home(home, chain_id=chain_id, database_url=database_url, host=host, port=port)
            settings = load_settings(home)
            store = open_store(settings, migrate=True)
            try:
                Node.genesis(
                    store,
                    chain_id=chain_id,
                    admin=admin,
                    clock=SystemClock(),
                    api=host_api(settings),
                    instantiate_msg=instantiate_msg,
                )
            finally:
                store.close()
    except ContractError as exc:
        raise BadInput(exc.message) from exc
    except (HomeError, SchemaError) as exc:
        raise Failed(str(exc)) from exc
    return settings


def read_node_seed(path: Path) -> bytes:
    """The node seed in ``path`` (an old home's ``secrets/node.seed``), or :class:`BadInput`."""
    try:
        return read_seed(path)
    except HomeError as exc:
        raise BadInput(f"--node-seed-file: {exc}") from exc
    except OSError as exc:
        raise BadInput(f"--node-seed-file: cannot read {path}: {exc.strerror or exc}") from exc


def join_home(
    home: Path,
    *,
    database_url: str,
    seed: bytes,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
) -> Settings:
    """Write a home for one more node of the chain in ``database_url`` (no genesis: the
    chain exists). ``seed`` must be its nodes' seed (an existing home's
    ``secrets/node.seed``); the chain id is the database's.

    Raises :class:`BadInput` for a database without a chain, and :class:`Failed` for a
    home that exists, a seed of another chain or a database of another schema.
    """
    url = database_url_for(home, database_url)
    if is_sqlite(url) and not Path(make_url(url).database or "").is_file():
        raise BadInput(f"there is no SQLite database at {url}; join names the chain's database")
    store = Store(url)
    try:
        store.check_schema()
        with store.read() as session:
            identity = ChainIdentity.load(session.meta)
    except SchemaError as exc:
        raise Failed(str(exc)) from exc
    finally:
        store.close()
    if identity is None:
        raise BadInput(
            f"{store.safe_url} holds no chain to join; create one with worker-manager init "
            "(or import a snapshot into it)"
        )
    chain_id = identity.chain_id
    try:
        with new_home(home):
            write_home(
                home, chain_id=chain_id, database_url=database_url, host=host, port=port, seed=seed
            )
            settings = load_settings(home)
            try:
                node = build_node(settings)  # checks the schema and the seed
            except (SchemaError, NodeNotInitialised) as exc:
                raise Failed(str(exc)) from exc
            node.store.close()
    except HomeError as exc:
        raise Failed(str(exc)) from exc
    return settings


@dataclass(frozen=True, slots=True)
class DevHome:
    """A first-try home: its settings, and the new admin whose mnemonic is shown once.

    The admin's key is in the home's keyring as :data:`DEV_ADMIN_KEY`, under the
    passphrase its creator chose, or else under the development passphrase in
    ``passphrase_file``."""

    settings: Settings
    admin: str
    mnemonic: str
    passphrase_file: Path | None = None
    key_name: str = DEV_ADMIN_KEY


def create_dev_home(
    home: Path, *, database_url: str = "", passphrase: str | None = None
) -> DevHome:
    """A development home with a NEW admin key (never for production), on the database
    ``database_url`` names (empty: SQLite in the home), the key in the home's keyring
    under ``passphrase`` (None: the development passphrase, kept in the home's secrets)."""
    mnemonic = generate_mnemonic()
    admin = key_from_mnemonic(mnemonic).address
    settings = create_home(home, chain_id=DEV_CHAIN_ID, admin=admin, database_url=database_url)
    passphrase_file = None
    if passphrase is None:
        passphrase = DEV_PASSPHRASE
        passphrase_file = write_secret(home, DEV_PASSPHRASE_FILE, f"{DEV_PASSPHRASE}\n".encode())
    ring = Keyring(home / KEYRING_DIR)
    # a keyring made before the home (keys add, then serve) may hold an "admin" already
    name = DEV_ADMIN_KEY if DEV_ADMIN_KEY not in ring else f"dev-{DEV_ADMIN_KEY}"
    ring.add(name, mnemonic, passphrase=passphrase)
    return DevHome(settings, admin, mnemonic, passphrase_file, name)


def dev_passphrase(home: Path) -> str | None:
    """The development passphrase of ``home``'s keyring, if it is a development home that
    keeps one (see :func:`create_dev_home`); None otherwise."""
    try:
        text = (home / SECRETS_DIR / DEV_PASSPHRASE_FILE).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    return text.strip() or None


def home_info(settings: Settings) -> dict[str, Any]:
    """What ``info`` shows: the chain's coordinates, its height, its worker count."""
    try:
        node = build_node(settings)
    except (SchemaError, NodeNotInitialised) as exc:
        raise Failed(str(exc)) from exc
    try:
        data = asdict(node.info())
    finally:
        node.store.close()
    # where clients reach the node: the address it serves on now (serve --port may
    # differ from the config), else the configured one
    data["lcd_url"] = serving_url(settings.home) or settings.lcd_url
    data["home"] = str(settings.home)
    data["database"] = node.store.safe_url
    return data


def migrate_home(settings: Settings) -> tuple[str | None, str]:
    """Upgrade the home's database to this code's schema: (before, after) revisions.

    Refused (:class:`Unavailable`) while a node serves the home: ``serve`` migrates
    by itself when it starts."""
    serving = serving_pid(settings.home)
    if serving is not None:
        raise Unavailable(
            f"{settings.home} is served by a node (pid {serving}); stop it before migrating "
            "its database (serve migrates by itself when it starts)"
        )
    store = open_store(settings)
    try:
        return store.migrate()
    except SchemaError as exc:
        raise Failed(str(exc)) from exc
    finally:
        store.close()
