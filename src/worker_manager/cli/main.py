"""The ``worker-manager`` console script."""

import typer

from worker_manager import __version__
from worker_manager.cli import (
    agent_command,
    attestation_commands,
    keys_commands,
    node_commands,
    query_commands,
    tx_commands,
)

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
app.command()(node_commands.serve)
app.command()(node_commands.info)
app.command()(node_commands.migrate)
app.command()(node_commands.verify)
app.command()(agent_command.agent)
app.add_typer(keys_commands.app, name="keys")
app.add_typer(tx_commands.app, name="tx")
app.add_typer(query_commands.app, name="query")
app.add_typer(attestation_commands.app, name="attestation")


def run() -> None:
    """Entry point of the console script."""
    app()
