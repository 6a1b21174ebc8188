"""Options, output and exit codes shared by every command.

Exit codes scripts can trust: 0 success, 1 refused by the contract or the node
(the message says why), 2 bad usage.
"""

import json
import sys
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from worker_manager.settings import Settings, SettingsError, default_home, environment

EXIT_OK = 0
EXIT_REFUSED = 1
EXIT_USAGE = 2

stdout = Console(highlight=False, soft_wrap=True)
stderr = Console(stderr=True, highlight=False, soft_wrap=True)


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


def fail(message: str, code: int = EXIT_REFUSED) -> NoReturn:
    """Print an error to stderr and exit with ``code``."""
    stderr.print(f"[bold red]error:[/] {message}", markup=True)
    raise typer.Exit(code)


def resolve_home(home: Path | None) -> tuple[Path, bool]:
    """The home to use and whether the user chose it (``--home`` or ``WM_HOME``)."""
    if home is not None:
        return home.expanduser(), True
    environ = environment()
    return default_home(environ), bool(environ.get("WM_HOME"))


def load_settings(home: Path) -> Settings:
    try:
        return Settings.load(home, environment())
    except SettingsError as exc:
        if not (home / "config.toml").exists():
            fail(
                f"{home} is not a worker-manager home. Create one with:\n"
                f"  worker-manager init --home {home} --chain-id ID --admin secret1...",
                EXIT_USAGE,
            )
        fail(str(exc), EXIT_USAGE)


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


@dataclass(frozen=True)
class Example:
    """Help text with an example block (kept verbatim by Typer's rich help)."""

    summary: str
    example: str

    def __str__(self) -> str:
        lines = "\n".join(f"  {line}" for line in self.example.strip().splitlines())
        return f"{self.summary}\n\n[bold]Example:[/bold]\n\n{lines}"
