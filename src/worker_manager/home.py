"""The node's home directory: config, database, secrets and keyring, nothing outside it.

Layout::

    HOME/
      config.toml          chain id, server address, database URL, log level
      worker-manager.db    SQLite database (unless [database] url points elsewhere)
      secrets/             owner-only: node.seed (32 random bytes, never logged)
      keyring/             owner-only: encrypted account keys
"""

import os
import secrets
from pathlib import Path

import tomli_w

from worker_manager.settings import (
    CONFIG_FILE,
    DEFAULT_BLOCK_INTERVAL_MS,
    DEFAULT_HOST,
    DEFAULT_MAX_TX_BYTES,
    DEFAULT_PORT,
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


def _private_dir(path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(0o700)


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def write_home(
    home: Path,
    *,
    chain_id: str,
    database_url: str = "",
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
) -> None:
    """Create the home's files. Refuses a home that already has a config."""
    if is_initialised(home):
        raise HomeError(f"{home} is already a worker-manager home (it has {CONFIG_FILE})")
    home.mkdir(parents=True, exist_ok=True)
    _private_dir(home / SECRETS_DIR)
    _private_dir(home / KEYRING_DIR)
    seed = home / SECRETS_DIR / NODE_SEED_FILE
    if not seed.exists():
        _write_private(seed, secrets.token_bytes(SEED_BYTES))
    config = {
        "chain_id": chain_id,
        "server": {"host": host, "port": port},
        "database": {"url": database_url},
        "log": {"level": "info"},
        "node": {
            "block_interval_ms": DEFAULT_BLOCK_INTERVAL_MS,
            "max_tx_bytes": DEFAULT_MAX_TX_BYTES,
        },
    }
    header = (
        "# worker-manager node configuration.\n"
        "# [database] url: empty means the SQLite file worker-manager.db in this home;\n"
        "# set postgresql+psycopg://user:pass@host/db to share state between nodes.\n"
        "# Environment overrides: WM_DATABASE_URL, WM_HOST, WM_PORT, WM_LOG_LEVEL.\n\n"
    )
    (home / CONFIG_FILE).write_text(header + tomli_w.dumps(config), encoding="utf-8")


def node_seed(settings: Settings) -> bytes:
    """The node's secret seed (challenges and the x25519 key derive from it)."""
    path = settings.secrets_dir / NODE_SEED_FILE
    try:
        seed = path.read_bytes()
    except FileNotFoundError as exc:
        raise HomeError(f"{path} is missing; copy it from the node that created the home") from exc
    if len(seed) != SEED_BYTES:
        raise HomeError(f"{path} must hold {SEED_BYTES} bytes, found {len(seed)}")
    return seed
