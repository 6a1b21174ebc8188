"""Options, output and exit codes shared by every command.

Exit codes scripts can trust: 0 success, 1 refused by the contract or the node
(the message says why), 2 bad usage, 3 the node cannot start (its port is taken,
or its home is served by another node).
"""

import contextlib
import json
import sys
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from worker_manager.application.errors import BadInput, Failed
from worker_manager.failures import ServiceUnavailable
from worker_manager.home import HomeError, check_home_path
from worker_manager.keys import PrivateKey
from worker_manager.keys.keyring import KeyNotFound, Keyring, KeyringError, WrongPassphrase
from worker_manager.settings import (
    KEYRING_DIR,
    Settings,
    default_home,
    default_node_url,
    environment,
    keyring_passphrase,
)

EXIT_OK = 0
EXIT_REFUSED = 1
EXIT_USAGE = 2
EXIT_UNAVAILABLE = 3

#: Piped output is read by programs and people with wide windows: do not wrap it at 80.
#: Markup is off unless a call asks for it, so text like ``[server]`` prints as written.
stdout = Console(
    highlight=False, soft_wrap=True, markup=False, width=None if sys.stdout.isatty() else 200
)
stderr = Console(stderr=True, highlight=False, soft_wrap=True, markup=False)


class Output(StrEnum):
    table = "table"
    json = "json"


HomeOption = Annotated[
    Path | None,
    typer.Option(
        "--home",
        help="Node home directory (default: $WM_HOME, else the user's data directory).",
        show_default=False,
    ),
]
OutputOption = Annotated[
    Output, typer.Option("--output", "-o", help="table for people, json for scripts.")
]
JsonFlag = Annotated[
    bool, typer.Option("--json", help="Print JSON for scripts instead of a table.")
]
NewDatabaseOption = Annotated[
    str,
    typer.Option(
        "--database-url",
        "--database",
        help="postgresql+psycopg://… to share state; empty for SQLite in the home.",
    ),
]
DatabaseOption = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        "--database",
        help="Use this database for this run instead of the home's [database] url and "
        "WM_DATABASE_URL: postgresql+psycopg://… or sqlite:///…; empty for SQLite in the home.",
        show_default=False,
    ),
]


def is_text(value: str) -> bool:
    """Whether ``value`` is valid Unicode: no lone surrogates, which is how Python keeps
    bytes that were not UTF-8 in arguments and environment variables."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def print_error(message: str) -> None:
    """One ``error: ...`` message on stderr, printed as written."""
    stderr.print(f"[bold red]error:[/] {escape(message)}", markup=True)


def fail(message: str, code: int = EXIT_REFUSED) -> NoReturn:
    """Print an error to stderr and exit with ``code``."""
    print_error(message)
    raise typer.Exit(code)


def resolve_home(home: Path | None) -> tuple[Path, bool]:
    """The home to use and whether the user chose it (``--home`` or ``WM_HOME``).

    A home that is a file (or inside one) is refused here, once for every command.
    """
    if home is not None:
        target, chosen = home.expanduser(), True
    else:
        environ = environment()
        target, chosen = default_home(environ), bool(environ.get("WM_HOME"))
    try:
        check_home_path(target)
    except HomeError as exc:
        fail(str(exc), EXIT_USAGE)
    return target, chosen


def check_database_url(url: str | None, option: str = "--database-url") -> None:
    """Exit 2 unless ``url`` is empty or a database URL worker-manager can use."""
    if not url:
        return
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        backend = make_url(url).get_backend_name()
    except ArgumentError:
        fail(f"{option} is not a database URL (postgresql+psycopg://…, sqlite:///…)", EXIT_USAGE)
    if backend not in ("sqlite", "postgresql"):
        fail(f"{option}: worker-manager keeps its state in SQLite or PostgreSQL", EXIT_USAGE)


def load_settings(home: Path, database_url: str | None = None) -> Settings:
    """The home's settings, or exit 2 saying what is wrong (or how to create a home).
    ``database_url`` (``--database-url``) replaces the home's database for this run."""
    from worker_manager.application.homes import load_settings as read_settings

    check_database_url(database_url)
    with workflow():
        return read_settings(home, database_url=database_url)


@contextlib.contextmanager
def workflow() -> Iterator[None]:
    """Run a workflow of :mod:`worker_manager.application`; its errors become one
    ``error:`` line and the documented exit code."""
    try:
        yield
    except BadInput as exc:
        fail(str(exc), EXIT_USAGE)
    except ServiceUnavailable as exc:  # Unavailable, or the database cannot be reached
        fail(str(exc), EXIT_UNAVAILABLE)
    except Failed as exc:
        fail(str(exc), EXIT_REFUSED)


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=True) + "\n")
    sys.stdout.flush()


def print_fields(title: str, data: dict[str, Any]) -> None:
    """A two-column table of names and values, for people."""
    table = Table(title=title, show_header=False, title_justify="left")
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    for key, value in data.items():
        table.add_row(key, "" if value is None else str(value))
    stdout.print(table)


NodeOption = Annotated[
    str | None,
    typer.Option(
        "--node",
        help="Node URL (default: $WM_NODE, else http://127.0.0.1:1317).",
        show_default=False,
    ),
]
FromOption = Annotated[
    str, typer.Option("--from", help="Name of the keyring key that signs (see: keys list).")
]


def node_url(node: str | None) -> str:
    return node or default_node_url(environment())


def passphrase(*, confirm: bool = False) -> str:
    """The keyring passphrase: ``WM_KEYRING_PASSPHRASE``, else a hidden prompt."""
    return ask_passphrase(
        keyring_passphrase(environment()),
        variable="WM_KEYRING_PASSPHRASE",
        what="the keyring",
        ways="set WM_KEYRING_PASSPHRASE",
        prompt="Keyring passphrase",
        confirm=confirm,
    )


def ask_passphrase(
    given: str | None, *, variable: str, what: str, ways: str, prompt: str, confirm: bool
) -> str:
    """``given`` (from ``variable``) if set, else a hidden prompt on a terminal; a clear
    usage error naming ``ways`` to give one when there is no terminal to ask on."""
    if given:
        if not is_text(given):
            fail(f"{variable} is not valid UTF-8 text", EXIT_USAGE)
        return given
    if not sys.stdin.isatty():
        fail(f"{what} needs a passphrase: {ways}, or run in a terminal", EXIT_USAGE)
    text: str = typer.prompt(prompt, hide_input=True, confirmation_prompt=confirm, err=True)
    if not text:
        fail("the passphrase must not be empty", EXIT_USAGE)
    return text


def _development_passphrase(ring: Keyring) -> str | None:
    """A development home's passphrase (``create_dev_home`` in
    worker_manager.application.homes), when no WM_KEYRING_PASSPHRASE is set."""
    if keyring_passphrase(environment()) is not None:
        return None
    from worker_manager.application.homes import dev_passphrase

    return dev_passphrase(ring.directory.parent)


def keyring(home: Path | None) -> Keyring:
    """The keyring in the home (which need not hold a node: clients keep keys too)."""
    target, _ = resolve_home(home)
    return Keyring(target / KEYRING_DIR)


def load_key(home: Path | None, name: str) -> PrivateKey:
    ring = keyring(home)
    try:
        development = _development_passphrase(ring)
        if development is not None:
            with contextlib.suppress(WrongPassphrase):  # a key added under another one
                return ring.get(name, passphrase=development)
        return ring.get(name, passphrase=passphrase())
    except KeyNotFound:
        fail(f"no key named {name!r} in {ring.directory}; see: worker-manager keys list")
    except WrongPassphrase:
        fail(f"wrong passphrase for key {name!r}")
    except KeyringError as exc:
        fail(str(exc))
