"""``worker-manager serve``: run a node's HTTP server over its home.

Start-up runs in an order that leaves nothing half done. The port is taken first,
so a taken port changes nothing in the home (not even a first-run development home
is created); then the development home is created if there is none; then the home's
serve lock is taken, so a home another node serves is refused before its database is
touched; only then is the database migrated and served. Both refusals exit with 3.
"""

import contextlib
import logging
import socket
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from worker_manager.cli import inputs
from worker_manager.cli.common import (
    EXIT_UNAVAILABLE,
    EXIT_USAGE,
    HomeOption,
    fail,
    load_settings,
    resolve_home,
    stderr,
)
from worker_manager.cli.node_commands import create_home
from worker_manager.contract import ContractError
from worker_manager.home import HomeError, exposed_files, is_initialised
from worker_manager.serve_lock import HomeInUse, serve_lock, serving_pid
from worker_manager.settings import LOG_LEVELS, Settings, SettingsError, environment, listen_address
from worker_manager.store import SchemaError

log = logging.getLogger("worker_manager")

DEV_CHAIN_ID = "worker-manager-dev"
GIL_SWITCH_INTERVAL_S = 0.0005


def _setup_logging(level: str) -> None:
    logging.basicConfig(format="%(asctime)s %(levelname)-7s %(name)s: %(message)s")
    logging.getLogger().setLevel(level.upper())
    # Alembic narrates every connection it inspects; its news is in our own log lines.
    logging.getLogger("alembic").setLevel(max(logging.WARNING, logging.getLogger().level))


def _dev_home(target: Path) -> None:
    """A first-try home: new admin key, printed once. Not for production."""
    from worker_manager.keys.mnemonic import generate_mnemonic, key_from_mnemonic

    mnemonic = generate_mnemonic()
    admin = key_from_mnemonic(mnemonic).address
    try:
        create_home(target, chain_id=DEV_CHAIN_ID, admin=admin)
    except (HomeError, SchemaError, ContractError) as exc:
        fail(str(exc))
    stderr.print(
        "[bold yellow]WARNING:[/] no node home was found, so a development home was created at\n"
        f"  {escape(str(target))}\n"
        f"with chain id {DEV_CHAIN_ID} and a NEW admin account {admin}.\n"
        "Its mnemonic is shown ONCE, now. Anyone holding it controls this registry:\n\n"
        f"  [bold]{mnemonic}[/]\n\n"
        "For a real network, create a home with: worker-manager init --home DIR "
        "--chain-id ID --admin ADDRESS",
        markup=True,
    )


def _settings(target: Path, host: str | None, port: int | None, level: str | None) -> Settings:
    """The home's settings with the command line's options on top."""
    settings = load_settings(target)
    return settings.with_changes(
        host=host or settings.host,
        port=port or settings.port,
        log_level=level or settings.log_level,
    )


def _listen(target: Path, host: str, port: int) -> list[socket.socket]:
    from worker_manager.api.server import ListenError, bind_listeners

    try:
        return bind_listeners(host, port)
    except ListenError as exc:
        pid = serving_pid(target) if exc.taken else None
        served = f"\n  (the node with pid {pid} serves {target})" if pid else ""
        fail(f"{exc}{served}", EXIT_UNAVAILABLE)


def _warn_if_exposed(settings: Settings) -> None:
    exposed = exposed_files(settings)
    if exposed:
        log.warning(
            "other users may read %s; the config may hold a database password: chmod 600 %s",
            ", ".join(f"{path} (mode {mode:o})" for path, mode in exposed),
            " ".join(str(path) for path, _ in exposed),
        )


def _run(settings: Settings, listeners: list[socket.socket]) -> None:
    """Open the node over the (locked) home and serve it until a stop signal."""
    from worker_manager.api import create_app
    from worker_manager.api.rate_limit import RateLimiter
    from worker_manager.api.server import run_server
    from worker_manager.node import NodeNotInitialised
    from worker_manager.node.bootstrap import build_node

    _warn_if_exposed(settings)
    try:
        node = build_node(settings, migrate=True)
    except (SchemaError, NodeNotInitialised) as exc:
        fail(str(exc))
    log.info(
        "node for chain %s, contract %s (code hash %s) at height %d; database %s",
        node.identity.chain_id,
        node.identity.contract_address,
        node.identity.code_hash,
        node.height,
        node.store.safe_url,
    )
    log.info("listening on %s", settings.lcd_url)
    node.ticker.start()
    # The block producer and the HTTP loop share the GIL; each database call of the
    # producer gives it up, and by default it waits up to 5 ms to get it back.
    # A shorter switch interval keeps blocks flowing under load (see bench/README.md).
    sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)
    try:
        limiter = RateLimiter(settings.tx_rate_per_client, settings.tx_burst_per_client)
        run_server(create_app(node, tx_limiter=limiter), listeners, settings)
    finally:
        node.close()  # commit what is queued before the store closes
        node.store.close()
        log.info("stopped")


def serve(
    home: HomeOption = None,
    host: Annotated[
        str | None, typer.Option(help="Listen address (default: from config.toml).")
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(min=1, max=65535, help="Listen port (default: from config.toml)."),
    ] = None,
    log_level: Annotated[
        str | None,
        typer.Option(help=f"One of {', '.join(LOG_LEVELS)} (default: from config.toml)."),
    ] = None,
) -> None:
    """Run the node's HTTP server: health, node info and contract queries (native API).

    With no --home and no home yet, a development home is created on first run
    and its admin mnemonic is printed once. Exit code 3 when the port is taken
    or another node serves the home; either way the home is left as it was.

    Example:

      worker-manager serve --home ~/wm --host 127.0.0.1 --port 1317
    """
    target, chosen = resolve_home(home)
    if host is not None:
        inputs.host(host, "--host")
    level = log_level.lower() if log_level is not None else None
    if level is not None and level not in LOG_LEVELS:
        fail(f"--log-level must be one of {', '.join(LOG_LEVELS)}", EXIT_USAGE)
    initialised = is_initialised(target)
    if initialised:
        settings = _settings(target, host, port, level)
        address = (settings.host, settings.port)
    elif chosen:
        fail(
            f"{target} is not a worker-manager home. Create one with:\n"
            f"  worker-manager init --home {target} --chain-id ID --admin secret1...",
            EXIT_USAGE,
        )
    else:
        try:
            default_host, default_port = listen_address(environment())
        except SettingsError as exc:
            fail(str(exc), EXIT_USAGE)
        address = (host or default_host, port or default_port)
    _setup_logging(settings.log_level if initialised else level or "info")
    with contextlib.ExitStack() as stack:
        listeners = _listen(target, *address)
        for sock in listeners:
            stack.callback(sock.close)
        if not initialised:
            _dev_home(target)
            settings = _settings(target, host, port, level)
            _setup_logging(settings.log_level)
        try:
            stack.enter_context(serve_lock(target))
        except HomeInUse as exc:
            fail(str(exc), EXIT_UNAVAILABLE)
        _run(settings, listeners)
