"""``worker-manager serve``: run a node's HTTP server over its home.

The start-up order and the node's life are :mod:`worker_manager.application.serving`'s;
this command parses the options, sets up logging and shows a first run's mnemonic.
"""

import sys
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from worker_manager.application.processes import MAX_PROCESSES
from worker_manager.cli import inputs
from worker_manager.cli.common import (
    EXIT_USAGE,
    DatabaseOption,
    HomeOption,
    check_database_url,
    fail,
    resolve_home,
    stderr,
    workflow,
)
from worker_manager.home import write_secret
from worker_manager.logs import setup_logging
from worker_manager.settings import LOG_LEVELS, Settings

if TYPE_CHECKING:
    from worker_manager.application.homes import DevHome


def _setup_logging(level: str) -> None:
    # JSON lines unless stderr is a terminal; Alembic narrates every connection it
    # inspects (its news is in our own log lines), so it says warnings only
    setup_logging(level, quiet=("alembic",))


#: Where a first-try home keeps its admin's mnemonic when serve's output is no terminal.
DEV_MNEMONIC_FILE = "dev-admin.mnemonic"


def _show_dev_home(dev: "DevHome") -> None:
    """A first-try home: where its admin key is, and its new admin's mnemonic, shown once
    on the terminal. Not for production. Output that is not a terminal may be a log file
    (``serve 2> node.log``), so then the words go to an owner-only file in the home's
    secrets instead."""
    if dev.passphrase_file is None:
        key = (
            f"Its key is in the home's keyring as {dev.key_name}, under your "
            f"WM_KEYRING_PASSPHRASE: sign with --from {dev.key_name}.\n"
        )
    else:
        key = (
            f"Its key is in the home's keyring as {dev.key_name}, under a development\n"
            f"passphrase kept in clear in {escape(str(dev.passphrase_file))},\n"
            f"so commands sign with --from {dev.key_name} without asking for it.\n"
        )
    if sys.stderr.isatty():
        where = (
            "Its mnemonic is shown ONCE, now. Anyone holding it controls this registry:\n\n"
            f"  [bold]{dev.mnemonic}[/]\n\n"
        )
    else:
        path = write_secret(dev.settings.home, DEV_MNEMONIC_FILE, f"{dev.mnemonic}\n".encode())
        where = (
            "This output is not a terminal (it may be a log), so its mnemonic is not shown:\n"
            f"it is in {escape(str(path))} (owner-only). Anyone holding it controls this\n"
            "registry: keep it somewhere safe, then delete the file.\n\n"
        )
    stderr.print(
        "[bold yellow]WARNING:[/] no node home was found, so a development home was created at\n"
        f"  {escape(str(dev.settings.home))}\n"
        f"with chain id {dev.settings.chain_id} and a NEW admin account {dev.admin}.\n"
        f"{key}{where}"
        "For a real network, create a home with: worker-manager init --home DIR "
        "--chain-id ID --admin ADDRESS",
        markup=True,
    )


def _use_settings(settings: Settings) -> None:
    _setup_logging(settings.log_level)


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
    database_url: DatabaseOption = None,
    workers: Annotated[
        int,
        typer.Option(
            "--workers",
            min=1,
            max=MAX_PROCESSES,
            help="Node processes serving this home (not GPU workers): one per CPU core "
            "lifts the one-interpreter ceiling. They share the port and the database; "
            "a process that dies is started again.",
        ),
    ] = 1,
) -> None:
    """Run the node's HTTP server: health, node info and contract queries (native API).

    With no --home and no home yet, a development home is created on first run
    (on --database-url's database, if given) and its admin mnemonic is printed
    once. Exit code 3 when the port is taken or another node serves the home;
    either way the home is left as it was.

    With --workers N, N node processes serve the home on one port and one database
    (one per CPU core lifts the one-interpreter ceiling; see docs/scaling.md).

    Example:

      worker-manager serve --home ~/wm --host 127.0.0.1 --port 1317 --workers 2
    """
    target, chosen = resolve_home(home)
    if host is not None:
        inputs.host(host, "--host")
    check_database_url(database_url)
    level = log_level.lower() if log_level is not None else None
    if level is not None and level not in LOG_LEVELS:
        fail(f"--log-level must be one of {', '.join(LOG_LEVELS)}", EXIT_USAGE)
    _setup_logging(level or "info")
    from worker_manager.application.serving import ServeOptions, serve_home

    with workflow():
        serve_home(
            target,
            chosen=chosen,
            options=ServeOptions(
                host=host,
                port=port,
                log_level=level,
                database_url=database_url,
                processes=workers,
            ),
            on_settings=_use_settings,
            on_dev_home=_show_dev_home,
        )
