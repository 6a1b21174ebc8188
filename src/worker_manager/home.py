"""The node's home directory: config, database, secrets and keyring, nothing outside it.

Layout (the home itself is owner-only, 0700, whatever the umask)::

    HOME/
      config.toml          owner-only (0600; it may hold a database password)
      worker-manager.db    SQLite database, owner-only (unless [database] url points elsewhere)
      serve.lock           held by the node serving this home (see serve_lock.py)
      secrets/             owner-only: node.seed (32 random bytes, never logged)
      keyring/             owner-only: encrypted account keys
"""

import os
import secrets
import stat
from pathlib import Path

import tomli_w

from worker_manager.settings import (
    CONFIG_FILE,
    DATABASE_FILE,
    DEFAULT_BLOCK_INTERVAL_MS,
    DEFAULT_HOST,
    DEFAULT_KEEP_ALIVE_TIMEOUT_S,
    DEFAULT_MAX_STALENESS_MS,
    DEFAULT_MAX_TX_BYTES,
    DEFAULT_PORT,
    DEFAULT_REQUEST_TIMEOUT_S,
    KEYRING_DIR,
    SECRETS_DIR,
    Settings,
)

NODE_SEED_FILE = "node.seed"
SEED_BYTES = 32


class HomeError(RuntimeError):
    """The home cannot be created or read; the message says what to do."""


def is_initialised(home: Path) -> bool:
    return (home / CONFIG_FILE).is_file()


def check_home_path(home: Path) -> None:
    """Raise HomeError if ``home`` cannot be a directory: it, or the nearest part of its
    path that exists, is a file. (A missing home is fine: commands that need one say so.)"""
    for part in (home, *home.parents):
        if part.is_dir():
            return
        if os.path.lexists(part):
            what = "is not a directory" if part == home else f"is inside {part}, a file"
            raise HomeError(f"the home {home} {what}; --home (or WM_HOME) must name a directory")


def _private_dir(path: Path) -> None:
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.chmod(0o700)


def ensure_home(home: Path) -> None:
    """Create the home owner-only (0700) if it does not exist yet; leave an existing one be."""
    if not home.is_dir():
        _private_dir(home)


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.fchmod(fd, 0o600)  # exactly, whatever the umask
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def write_secret(home: Path, name: str, data: bytes) -> Path:
    """A new owner-only file in the home's secrets directory (refused if it exists)."""
    path = home / SECRETS_DIR / name
    _write_private(path, data)
    return path


def write_home(
    home: Path,
    *,
    chain_id: str,
    database_url: str = "",
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    seed: bytes | None = None,
) -> None:
    """Create the home's files. Refuses a home that already has a config.

    ``seed``: the node seed of the home this one takes over (``import``); None for a
    new random one."""
    if is_initialised(home):
        raise HomeError(f"{home} is already a worker-manager home (it has {CONFIG_FILE})")
    _private_dir(home)
    _private_dir(home / SECRETS_DIR)
    _private_dir(home / KEYRING_DIR)
    seed_path = home / SECRETS_DIR / NODE_SEED_FILE
    if not seed_path.exists():
        _write_private(seed_path, secrets.token_bytes(SEED_BYTES) if seed is None else seed)
    config = {
        "chain_id": chain_id,
        "server": {
            "host": host,
            "port": port,
            "request_timeout_s": DEFAULT_REQUEST_TIMEOUT_S,
            "keep_alive_timeout_s": DEFAULT_KEEP_ALIVE_TIMEOUT_S,
        },
        "database": {"url": database_url},
        "log": {"level": "info"},
        "node": {
            "block_interval_ms": DEFAULT_BLOCK_INTERVAL_MS,
            "max_staleness_ms": DEFAULT_MAX_STALENESS_MS,
            "max_tx_bytes": DEFAULT_MAX_TX_BYTES,
        },
    }
    header = (
        "# worker-manager node configuration.\n"
        "# [database] url: empty means the SQLite file worker-manager.db in this home;\n"
        "# set postgresql+psycopg://user:pass@host/db to share state between nodes.\n"
        "# Environment overrides: WM_DATABASE_URL, WM_HOST, WM_PORT, WM_LOG_LEVEL.\n\n"
    )
    _write_private(home / CONFIG_FILE, (header + tomli_w.dumps(config)).encode("utf-8"))


def exposed_files(settings: Settings) -> list[tuple[Path, int]]:
    """The home's config and SQLite database, with their modes, if other users may read
    or write them (a home made by an older version, or copied with cp)."""
    found = []
    for path in (settings.config_path, settings.home / DATABASE_FILE):
        try:
            mode = stat.S_IMODE(path.stat().st_mode)
        except FileNotFoundError:
            continue
        if mode & 0o077:
            found.append((path, mode))
    return found


def read_seed(path: Path) -> bytes:
    """A node seed file's bytes; :class:`HomeError` if it is missing or not a seed."""
    try:
        with path.open("rb") as handle:
            seed = handle.read(SEED_BYTES + 1)
    except FileNotFoundError as exc:
        raise HomeError(f"{path} is missing; copy it from the node that created the home") from exc
    if len(seed) != SEED_BYTES:
        found = f"{len(seed)}" if len(seed) <= SEED_BYTES else "more"
        raise HomeError(f"{path} must hold {SEED_BYTES} bytes, found {found}")
    return seed


def node_seed(settings: Settings) -> bytes:
    """The node's secret seed (challenges and the x25519 key derive from it)."""
    return read_seed(settings.secrets_dir / NODE_SEED_FILE)
