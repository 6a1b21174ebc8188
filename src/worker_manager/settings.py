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
#: Abuse limits: a client's txs a second on the write routes, and the burst it may send.
DEFAULT_TX_RATE_PER_CLIENT = 100
DEFAULT_TX_BURST_PER_CLIENT = 1000
#: A connection whose request has not fully arrived this long after it opened (or after
#: the request's first byte, on a kept-alive connection) is closed: slow clients.
DEFAULT_REQUEST_TIMEOUT_S = 10
#: An idle kept-alive connection is closed this long after its last answer.
DEFAULT_KEEP_ALIVE_TIMEOUT_S = 5
MAX_SERVER_TIMEOUT_S = 3600


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


def listen_address(
    environ: Mapping[str, str], server: Mapping[str, Any] | None = None, path: Path | None = None
) -> tuple[str, int]:
    """Where ``serve`` listens: ``WM_HOST``/``WM_PORT``, else ``[server]`` in config.toml,
    else 127.0.0.1:1317. With no ``server`` table: the address of a home not created yet."""
    table = server or {}
    host = environ.get("WM_HOST") or str(table.get("host", DEFAULT_HOST))
    port = _port(environ.get("WM_PORT") or table.get("port", DEFAULT_PORT), path)
    if not host.strip():
        raise SettingsError(f"the listen host (in {path or 'config.toml'} or WM_HOST) is empty")
    return host, port


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
    request_timeout_s: int = DEFAULT_REQUEST_TIMEOUT_S
    keep_alive_timeout_s: int = DEFAULT_KEEP_ALIVE_TIMEOUT_S
    #: Each client's tx rate on the write routes (0: no limit) and the burst it may send.
    tx_rate_per_client: int = DEFAULT_TX_RATE_PER_CLIENT
    tx_burst_per_client: int = DEFAULT_TX_BURST_PER_CLIENT

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
        host, port = listen_address(environ, server, path)
        level = (environ.get("WM_LOG_LEVEL") or str(log.get("level", "info"))).lower()
        if level not in LOG_LEVELS:
            raise SettingsError(f"log level {level!r} is not one of {', '.join(LOG_LEVELS)}")
        interval = _bounded(
            node, "block_interval_ms", DEFAULT_BLOCK_INTERVAL_MS, 0, 10_000, path=path
        )
        max_tx = _bounded(
            node, "max_tx_bytes", DEFAULT_MAX_TX_BYTES, 1024, 16 * 1024 * 1024, path=path
        )
        request_timeout = _bounded(
            server,
            "request_timeout_s",
            DEFAULT_REQUEST_TIMEOUT_S,
            1,
            MAX_SERVER_TIMEOUT_S,
            path=path,
            section="server",
        )
        keep_alive = _bounded(
            server,
            "keep_alive_timeout_s",
            DEFAULT_KEEP_ALIVE_TIMEOUT_S,
            1,
            MAX_SERVER_TIMEOUT_S,
            path=path,
            section="server",
        )
        limits = _table(data, "limits", path)
        tx_rate = _bounded(
            limits,
            "tx_rate_per_client",
            DEFAULT_TX_RATE_PER_CLIENT,
            0,
            1_000_000,
            path=path,
            section="limits",
        )
        tx_burst = _bounded(
            limits,
            "tx_burst_per_client",
            DEFAULT_TX_BURST_PER_CLIENT,
            1,
            1_000_000,
            path=path,
            section="limits",
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
            request_timeout_s=request_timeout,
            keep_alive_timeout_s=keep_alive,
            tx_rate_per_client=tx_rate,
            tx_burst_per_client=tx_burst,
        )


def _table(data: dict[str, Any], name: str, path: Path) -> dict[str, Any]:
    value = data.get(name, {})
    if not isinstance(value, dict):
        raise SettingsError(f"{path}: [{name}] must be a table")
    return value


def _bounded(
    table: dict[str, Any],
    name: str,
    default: int,
    low: int,
    high: int,
    *,
    path: Path,
    section: str = "node",
) -> int:
    value = table.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise SettingsError(f"{path}: [{section}] {name} must be a whole number in {low}-{high}")
    return value


def _port(value: object, path: Path | None) -> int:
    try:
        port = int(str(value))
    except ValueError as exc:
        where = f"in {path} or WM_PORT" if path else "in WM_PORT"
        raise SettingsError(f"port {value!r} ({where}) is not a number") from exc
    if not 0 < port < 65536:
        raise SettingsError(f"port {port} is outside 1-65535")
    return port
