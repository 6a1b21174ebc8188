"""The ``worker-manager`` console script."""

import os
import sys

import typer

from worker_manager import __version__
from worker_manager.cli import (
    agent_command,
    attestation_commands,
    keys_commands,
    node_commands,
    query_commands,
    serve_command,
    snapshot_commands,
    tx_commands,
)
from worker_manager.cli.common import EXIT_REFUSED, EXIT_USAGE, is_text, print_error

app = typer.Typer(
    name="worker-manager",
    help=(
        "Run and use a Secret AI WorkerManager node: a registry of confidential GPU "
        "workers, their models and URLs.\n\n"
        "Start here: worker-manager serve   (creates a development home on first run)"
    ),
    no_args_is_help=True,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    rich_markup_mode="rich",
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"worker-manager {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version and exit."
    ),
) -> None:
    """Run and use a Secret AI WorkerManager node."""


app.command()(node_commands.init)
app.command()(node_commands.join)
app.command()(serve_command.serve)
app.command()(node_commands.info)
app.command()(node_commands.migrate)
app.command()(node_commands.verify)
app.command()(snapshot_commands.export)
app.command(name="import")(snapshot_commands.import_)
app.command()(agent_command.agent)
app.add_typer(keys_commands.app, name="keys")
app.add_typer(tx_commands.app, name="tx")
app.add_typer(query_commands.app, name="query")
app.add_typer(attestation_commands.app, name="attestation")


def _shown(argument: str) -> bytes:
    """The bytes the user typed (Python keeps those that are not UTF-8 as surrogates)."""
    try:
        return os.fsencode(argument)[:60]
    except UnicodeEncodeError:  # a surrogate no byte maps to
        return argument.encode("utf-8", "backslashreplace")[:60]


def _error(message: str, code: int) -> None:
    print_error(message)
    sys.exit(code)


def run() -> None:
    """Entry point of the console script.

    Commands check what they are given and say what is wrong; two mistakes are caught
    here for all of them: an argument that is not UTF-8 text, and a file or directory
    the system refuses (permissions, a full disk), which end in one ``error:`` line
    instead of a traceback.
    """
    for position, argument in enumerate(sys.argv[1:], start=1):
        if not is_text(argument):
            _error(
                f"argument {position} ({_shown(argument)!r}) is not valid UTF-8 text", EXIT_USAGE
            )
    if len(sys.argv) == 1:  # a newcomer's first try: the help, and success (click says 2)
        sys.argv.append("--help")
    try:
        app()
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        _error(f"{where}{exc.strerror or exc}", EXIT_REFUSED)
