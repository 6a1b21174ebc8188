"""Serving a home: start-up in an order that leaves nothing half done, then the node's life.

1. the listening socket is bound, so a taken port changes nothing in the home (not
   even a first-run development home is created);
2. the development home is created if there is none and none was named;
3. the home's serve lock is taken, so a home another node serves is refused before
   its database is touched;
4. the database is migrated, the node built and served until SIGINT/SIGTERM; then
   the queued txs commit, the store closes, and the lock is released. With
   ``--workers N`` the node is checked here once, then N node processes serve the
   home (:mod:`worker_manager.application.processes`).
"""

import contextlib
import gc
import logging
import socket
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from worker_manager.api import create_app
from worker_manager.api.rate_limit import RateLimiter
from worker_manager.api.server import ListenError, bind_listeners, run_server
from worker_manager.application.dashboard_access import announce_dashboard, dashboard_options
from worker_manager.application.errors import BadInput, Failed, Unavailable
from worker_manager.application.homes import DevHome, create_dev_home, load_settings
from worker_manager.application.processes import serve_processes
from worker_manager.home import exposed_files, is_initialised
from worker_manager.node import Node, NodeNotInitialised
from worker_manager.node.bootstrap import build_node
from worker_manager.serve_lock import HomeInUse, serve_lock, serving_pid
from worker_manager.settings import (
    Settings,
    SettingsError,
    environment,
    keyring_passphrase,
    listen_address,
)
from worker_manager.store import SchemaError

log = logging.getLogger("worker_manager")

#: The block producer and the HTTP loop share the GIL; each database call of the
#: producer gives it up, and by default it waits up to 5 ms to get it back. A shorter
#: switch interval keeps blocks flowing under load: 0.1 ms committed 1,087 liveliness
#: tx/s where 0.5 ms committed 734 (one process, 40,000 workers; bench/README.md).
GIL_SWITCH_INTERVAL_S = 0.0001


@dataclass(frozen=True, slots=True)
class ServeOptions:
    """What the command line may set over the home's config (None: the config's)."""

    host: str | None = None
    port: int | None = None
    log_level: str | None = None
    #: ``--database-url``: this run's database (a first run's new home keeps it).
    database_url: str | None = None
    #: ``--workers``: node processes on this home (:mod:`~worker_manager.application.processes`).
    processes: int = 1


def _settings(home: Path, options: ServeOptions) -> Settings:
    settings = load_settings(home, database_url=options.database_url)
    return settings.with_changes(
        host=options.host or settings.host,
        port=options.port or settings.port,
        log_level=options.log_level or settings.log_level,
    )


def _listen(home: Path, host: str, port: int) -> list[socket.socket]:
    try:
        return bind_listeners(host, port)
    except ListenError as exc:
        pid = serving_pid(home) if exc.taken else None
        served = f"\n  (the node with pid {pid} serves {home})" if pid else ""
        raise Unavailable(f"{exc}{served}") from exc


def _warn_if_exposed(settings: Settings) -> None:
    exposed = exposed_files(settings)
    if exposed:
        log.warning(
            "other users may read %s; the config may hold a database password: chmod 600 %s",
            ", ".join(f"{path} (mode {mode:o})" for path, mode in exposed),
            " ".join(str(path) for path, _ in exposed),
        )


def _open_node(settings: Settings, *, migrate: bool) -> Node:
    try:
        node = build_node(settings, migrate=migrate)
    except (SchemaError, NodeNotInitialised) as exc:
        raise Failed(str(exc)) from exc
    log.info(
        "node for chain %s, contract %s (code hash %s) at height %d; database %s",
        node.identity.chain_id,
        node.identity.contract_address,
        node.identity.code_hash,
        node.height,
        node.store.safe_url,
    )
    return node


def _close(node: Node) -> None:
    node.close()  # commit what is queued before the store closes
    node.store.close()


def run_node(settings: Settings, listeners: list[socket.socket], *, migrate: bool = True) -> None:
    """Build the home's node and serve it on ``listeners`` until a stop signal (step 4)."""
    node = _open_node(settings, migrate=migrate)
    log.info("listening on %s", settings.lcd_url)
    node.pipeline.ticker.start()
    node.follower.start()
    node.endpoint_checker.start()
    if node.collateral_refresher is not None:
        node.collateral_refresher.start()
    sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)
    # what start-up built (modules, tables, the node) lives as long as the process: out
    # of the collector's full passes, which would otherwise walk it again and again
    gc.collect()
    gc.freeze()
    try:
        limiter = RateLimiter(settings.tx_rate_per_client, settings.tx_burst_per_client)
        app = create_app(
            node,
            tx_limiter=limiter,
            metrics=settings.metrics_enabled,
            dashboard=dashboard_options(settings),
        )
        run_server(app, listeners, settings)
    finally:
        _close(node)
        log.info("stopped")


def run_nodes(settings: Settings, listeners: list[socket.socket], processes: int) -> None:
    """Serve the home with ``processes`` node processes (one: this process itself)."""
    _warn_if_exposed(settings)
    announce_dashboard(settings, dashboard_options(settings))
    if processes == 1:
        run_node(settings, listeners)
        return
    # migrate and check the home once, here, so a bad one fails before any process starts
    _close(_open_node(settings, migrate=True))
    log.info("listening on %s with %d node processes", settings.lcd_url, processes)
    serve_processes(settings, listeners, processes)


def serve_home(
    home: Path,
    *,
    chosen: bool,
    options: ServeOptions,
    on_settings: Callable[[Settings], None],
    on_dev_home: Callable[[DevHome], None],
) -> None:
    """Serve ``home`` (see the module docstring) until a stop signal.

    ``chosen``: the user named the home (then it must exist). ``on_settings`` is told
    the settings once they are known (to set up logging); ``on_dev_home`` is told of a
    development home created on a first run (to show its admin's mnemonic once).
    Raises :class:`BadInput`, :class:`Unavailable` (a taken port, a home another node
    serves: nothing in the home changed) or :class:`Failed`.
    """
    initialised = is_initialised(home)
    if initialised:
        settings = _settings(home, options)
        address = (settings.host, settings.port)
        on_settings(settings)
    elif chosen:
        raise BadInput(
            f"{home} is not a worker-manager home. Create one with:\n"
            f"  worker-manager init --home {home} --chain-id ID --admin secret1..."
        )
    else:
        try:
            default_host, default_port = listen_address(environment())
        except SettingsError as exc:
            raise BadInput(str(exc)) from exc
        address = (options.host or default_host, options.port or default_port)
    with contextlib.ExitStack() as stack:
        listeners = _listen(home, *address)
        for sock in listeners:
            stack.callback(sock.close)
        if not initialised:
            dev = create_dev_home(
                home,
                database_url=options.database_url or "",
                passphrase=keyring_passphrase(environment()),
            )
            on_dev_home(dev)
            settings = _settings(home, options)
            on_settings(settings)
        try:
            stack.enter_context(serve_lock(home, settings.lcd_url))
        except HomeInUse as exc:
            raise Unavailable(str(exc)) from exc
        run_nodes(settings, listeners, options.processes)
