"""Settings: ``config.toml`` in the home, overridden by ``WM_*`` variables, read once.

This is the only module that reads the environment. Everything else gets a
frozen :class:`Settings` passed down.
"""

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Self

import platformdirs

CONFIG_FILE = "config.toml"
DATABASE_FILE = "worker-manager.db"
SECRETS_DIR = "secrets"
KEYRING_DIR = "keyring"
DEFAULT_HOST = "127.0.0.1"
#: The port Secret LCD clients expect.
DEFAULT_PORT = 1317
DEFAULT_NODE_URL = f"http://{DEFAULT_HOST}:{DEFAULT_PORT}"
LOG_LEVELS = ("debug", "info", "warning", "error")
#: A block closes this long after its first tx arrived (or when it is full).
DEFAULT_BLOCK_INTERVAL_MS = 20
DEFAULT_MAX_TX_BYTES = 1024 * 1024


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names the file or variable."""


def environment() -> Mapping[str, str]:
    """The process environment (read here and nowhere else)."""
    return os.environ


def default_home(environ: Mapping[str, str]) -> Path:
    """``WM_HOME`` if set, else the user's data directory for worker-manager."""
    if environ.get("WM_HOME"):
        return Path(environ["WM_HOME"]).expanduser()
    return Path(platformdirs.user_data_dir("worker-manager", appauthor=False))


def default_node_url(environ: Mapping[str, str]) -> str:
    """``WM_NODE`` if set, else the local node on the port Secret LCD clients expect."""
    return environ.get("WM_NODE") or DEFAULT_NODE_URL


def keyring_passphrase(environ: Mapping[str, str]) -> str | None:
    """``WM_KEYRING_PASSPHRASE``, for scripts that cannot answer a prompt."""
    return environ.get("WM_KEYRING_PASSPHRASE") or None


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path.resolve()}"


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything a node needs to start, from its home and environment."""

    home: Path
    chain_id: str
    database_url: str
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    log_level: str = "info"
    block_interval_ms: int = DEFAULT_BLOCK_INTERVAL_MS
    max_tx_bytes: int = DEFAULT_MAX_TX_BYTES

    @property
    def config_path(self) -> Path:
        return self.home / CONFIG_FILE

    @property
    def secrets_dir(self) -> Path:
        return self.home / SECRETS_DIR

    @property
    def keyring_dir(self) -> Path:
        return self.home / KEYRING_DIR

    @property
    def lcd_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def with_changes(self, **changes: Any) -> Self:
        return replace(self, **changes)

    @classmethod
    def load(cls, home: Path, environ: Mapping[str, str]) -> Self:
        """Read ``home/config.toml`` and apply ``WM_DATABASE_URL``, ``WM_HOST``,
        ``WM_PORT`` and ``WM_LOG_LEVEL`` on top."""
        path = home / CONFIG_FILE
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise SettingsError(f"no {CONFIG_FILE} in {home}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise SettingsError(f"{path} is not valid TOML: {exc}") from exc
        server = _table(data, "server", path)
        database = _table(data, "database", path)
        log = _table(data, "log", path)
        node = _table(data, "node", path)
        chain_id = data.get("chain_id")
        if not isinstance(chain_id, str) or not chain_id:
            raise SettingsError(f"{path}: chain_id is missing")
        url = environ.get("WM_DATABASE_URL") or str(database.get("url") or "")
        if not url:
            url = sqlite_url(home / DATABASE_FILE)
        host = environ.get("WM_HOST") or str(server.get("host", DEFAULT_HOST))
        port = _port(environ.get("WM_PORT") or server.get("port", DEFAULT_PORT), path)
        level = (environ.get("WM_LOG_LEVEL") or str(log.get("level", "info"))).lower()
        if level not in LOG_LEVELS:
            raise SettingsError(f"log level {level!r} is not one of {', '.join(LOG_LEVELS)}")
        interval = _bounded(
            node, "block_interval_ms", DEFAULT_BLOCK_INTERVAL_MS, 0, 10_000, path=path
        )
        max_tx = _bounded(
            node, "max_tx_bytes", DEFAULT_MAX_TX_BYTES, 1024, 16 * 1024 * 1024, path=path
        )
        return cls(
            home=home,
            chain_id=chain_id,
            database_url=url,
            host=host,
            port=port,
            log_level=level,
            block_interval_ms=interval,
            max_tx_bytes=max_tx,
        )


def _table(data: dict[str, Any], name: str, path: Path) -> dict[str, Any]:
    value = data.get(name, {})
    if not isinstance(value, dict):
        raise SettingsError(f"{path}: [{name}] must be a table")
    return value


def _bounded(
    table: dict[str, Any], name: str, default: int, low: int, high: int, *, path: Path
) -> int:
    value = table.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise SettingsError(f"{path}: [node] {name} must be a whole number in {low}-{high}")
    return value


def _port(value: object, path: Path) -> int:
    try:
        port = int(str(value))
    except ValueError as exc:
        raise SettingsError(f"port {value!r} (in {path} or WM_PORT) is not a number") from exc
    if not 0 < port < 65536:
        raise SettingsError(f"port {port} is outside 1-65535")
    return port
