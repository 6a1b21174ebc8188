"""Settings: ``config.toml`` in the home, overridden by ``WM_*`` variables, read once.

This is the only module that reads the environment. Everything else gets a
frozen :class:`Settings` passed down.

The file is described by pydantic-settings models, one per TOML table, that refuse
what they do not know: a misspelt key, an unknown section or a value of the wrong
type stops the node with a :class:`SettingsError` naming the file, the section and
the key (``config.toml: [server] prot: unknown key; did you mean port?``), rather
than being ignored for a default. Priority: command-line options (applied by the
caller with :meth:`Settings.with_changes`) > ``WM_*`` variables > the file > defaults.
"""

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal, Self, get_args

import platformdirs

CONFIG_FILE = "config.toml"
DATABASE_FILE = "worker-manager.db"
SECRETS_DIR = "secrets"
KEYRING_DIR = "keyring"
DEFAULT_HOST = "127.0.0.1"
#: The port Secret LCD clients expect.
DEFAULT_PORT = 1317
DEFAULT_NODE_URL = f"http://{DEFAULT_HOST}:{DEFAULT_PORT}"
LogLevel = Literal["debug", "info", "warning", "error"]
LOG_LEVELS: tuple[str, ...] = get_args(LogLevel)
#: A block closes this long after its first tx arrived (or when it is full).
DEFAULT_BLOCK_INTERVAL_MS = 20
#: How old (ms) the head a query answers from may be, when other nodes write blocks too.
DEFAULT_MAX_STALENESS_MS = 1000
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
#: The endpoint checker ([endpoints]): "auto" checks once an attestation policy exists;
#: a round every interval, a timeout per connection, so many connections at once.
EndpointCheckMode = Literal["auto", "on", "off"]
DEFAULT_ENDPOINT_CHECK_INTERVAL_S = 60
DEFAULT_ENDPOINT_CHECK_TIMEOUT_S = 5
DEFAULT_ENDPOINT_CHECK_CONCURRENCY = 16
#: The collateral refresher ([collateral]): with a PCCS URL (empty: never fetch), fetch a
#: platform's bundle this long before its nextUpdate, look every interval, warn this long
#: before a bundle ends with no fresh one.
DEFAULT_COLLATERAL_REFRESH_BEFORE_S = 7 * 86_400
DEFAULT_COLLATERAL_CHECK_INTERVAL_S = 3600
DEFAULT_COLLATERAL_WARN_BEFORE_S = 3 * 86_400
#: The dashboard's pages refresh themselves this often (seconds; 0: never).
DEFAULT_DASHBOARD_REFRESH_S = 10

#: The ``WM_*`` variables that override a key of config.toml, and the key (table, name).
ENV_OVERRIDES: Mapping[str, tuple[str, str]] = {
    "WM_DATABASE_URL": ("database", "url"),
    "WM_HOST": ("server", "host"),
    "WM_PORT": ("server", "port"),
    "WM_LOG_LEVEL": ("log", "level"),
}


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


def database_url_for(home: Path, url: str) -> str:
    """The database a ``[database] url`` (or ``--database-url``) names for ``home``:
    empty means the SQLite file in the home."""
    return url or sqlite_url(home / DATABASE_FILE)


def listen_address(environ: Mapping[str, str]) -> tuple[str, int]:
    """Where ``serve`` listens for a home not created yet: ``WM_HOST``/``WM_PORT``,
    else 127.0.0.1:1317."""
    from worker_manager.settings_file import listen_address_from

    return listen_address_from(environ)


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
    max_staleness_ms: int = DEFAULT_MAX_STALENESS_MS
    max_tx_bytes: int = DEFAULT_MAX_TX_BYTES
    request_timeout_s: int = DEFAULT_REQUEST_TIMEOUT_S
    keep_alive_timeout_s: int = DEFAULT_KEEP_ALIVE_TIMEOUT_S
    #: Each client's tx rate on the write routes (0: no limit) and the burst it may send.
    tx_rate_per_client: int = DEFAULT_TX_RATE_PER_CLIENT
    tx_burst_per_client: int = DEFAULT_TX_BURST_PER_CLIENT
    endpoint_checks: EndpointCheckMode = "auto"
    endpoint_check_interval_s: int = DEFAULT_ENDPOINT_CHECK_INTERVAL_S
    endpoint_check_timeout_s: int = DEFAULT_ENDPOINT_CHECK_TIMEOUT_S
    endpoint_check_concurrency: int = DEFAULT_ENDPOINT_CHECK_CONCURRENCY
    #: ``GET /metrics`` and the request latency it reports ([metrics] enabled).
    metrics_enabled: bool = True
    #: ``[collateral]``: the PCCS to refresh Intel collateral from ("" never fetches).
    collateral_pccs_url: str = ""
    collateral_refresh_before_s: int = DEFAULT_COLLATERAL_REFRESH_BEFORE_S
    collateral_check_interval_s: int = DEFAULT_COLLATERAL_CHECK_INTERVAL_S
    collateral_warn_before_s: int = DEFAULT_COLLATERAL_WARN_BEFORE_S
    #: ``[dashboard]``: the pages at / and /dashboard/*, the operator token ("": the one
    #: kept in secrets/dashboard.token) and how often the pages refresh themselves.
    dashboard_enabled: bool = True
    dashboard_token: str = ""
    dashboard_refresh_s: int = DEFAULT_DASHBOARD_REFRESH_S

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
        """A copy with the command line's options on top (they win over everything)."""
        return replace(self, **changes)

    @classmethod
    def load(cls, home: Path, environ: Mapping[str, str]) -> Self:
        """Read ``home/config.toml`` and apply ``WM_DATABASE_URL``, ``WM_HOST``,
        ``WM_PORT`` and ``WM_LOG_LEVEL`` on top; refuse anything unknown or malformed
        (the file's schema: :mod:`worker_manager.settings_file`)."""
        from worker_manager.settings_file import read_config

        config = read_config(home, environ)
        return cls(
            home=home,
            chain_id=config.chain_id,
            database_url=database_url_for(home, config.database.url),
            host=config.server.host,
            port=config.server.port,
            log_level=config.log.level,
            block_interval_ms=config.node.block_interval_ms,
            max_staleness_ms=config.node.max_staleness_ms,
            max_tx_bytes=config.node.max_tx_bytes,
            request_timeout_s=config.server.request_timeout_s,
            keep_alive_timeout_s=config.server.keep_alive_timeout_s,
            tx_rate_per_client=config.limits.tx_rate_per_client,
            tx_burst_per_client=config.limits.tx_burst_per_client,
            endpoint_checks=config.endpoints.checks,
            endpoint_check_interval_s=config.endpoints.interval_s,
            endpoint_check_timeout_s=config.endpoints.timeout_s,
            endpoint_check_concurrency=config.endpoints.concurrency,
            metrics_enabled=config.metrics.enabled,
            collateral_pccs_url=config.collateral.pccs_url,
            collateral_refresh_before_s=config.collateral.refresh_before_s,
            collateral_check_interval_s=config.collateral.check_interval_s,
            collateral_warn_before_s=config.collateral.warn_before_s,
            dashboard_enabled=config.dashboard.enabled,
            dashboard_token=config.dashboard.token,
            dashboard_refresh_s=config.dashboard.refresh_s,
        )
