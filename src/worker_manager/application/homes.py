"""Creating a node's home, the development home of a first ``serve``, and reading one back.

A home is created whole or not at all: its files, its migrated database and the
chain's first block (the contract instantiated with the admin). On any failure
what was created is removed, and a keyring already in the home is kept.
"""

import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from worker_manager.application.errors import BadInput, Failed, Unavailable
from worker_manager.contract import ContractError
from worker_manager.home import HomeError, is_initialised, write_home
from worker_manager.keys.mnemonic import generate_mnemonic, key_from_mnemonic
from worker_manager.node import Node, NodeNotInitialised, SystemClock
from worker_manager.node.bootstrap import build_node, host_api, open_store
from worker_manager.node.identity import InvalidChainId, validate_chain_id
from worker_manager.serve_lock import serving_pid
from worker_manager.settings import (
    DEFAULT_HOST,
    DEFAULT_PORT,
    KEYRING_DIR,
    Settings,
    SettingsError,
    environment,
)
from worker_manager.store import SchemaError

DEV_CHAIN_ID = "worker-manager-dev"


def load_settings(home: Path) -> Settings:
    """The home's settings (``config.toml`` and ``WM_*``); :class:`BadInput` names what is
    wrong, or says how to create a home where there is none."""
    try:
        return Settings.load(home, environment())
    except SettingsError as exc:
        if not (home / "config.toml").exists():
            raise BadInput(
                f"{home} is not a worker-manager home. Create one with:\n"
                f"  worker-manager init --home {home} --chain-id ID --admin secret1..."
            ) from exc
        raise BadInput(str(exc)) from exc


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
    existed = home.exists()
    if is_initialised(home):
        raise Failed(f"{home} is already a worker-manager home; pick another --home")
    before = {p.name for p in home.iterdir()} if existed else set()
    if before - {KEYRING_DIR}:
        raise Failed(f"{home} exists and is not empty; pick an empty or new directory")
    try:
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
    except BaseException as exc:
        _remove_created(home, existed, before)
        if isinstance(exc, ContractError):
            raise BadInput(exc.message) from exc
        if isinstance(exc, HomeError | SchemaError):
            raise Failed(str(exc)) from exc
        raise
    return settings


@dataclass(frozen=True, slots=True)
class DevHome:
    """A first-try home: its settings, and the new admin whose mnemonic is shown once."""

    settings: Settings
    admin: str
    mnemonic: str


def create_dev_home(home: Path) -> DevHome:
    """A development home with a NEW admin key (never for production)."""
    mnemonic = generate_mnemonic()
    admin = key_from_mnemonic(mnemonic).address
    settings = create_home(home, chain_id=DEV_CHAIN_ID, admin=admin)
    return DevHome(settings=settings, admin=admin, mnemonic=mnemonic)


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
    data["lcd_url"] = settings.lcd_url
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
