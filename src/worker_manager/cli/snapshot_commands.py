"""``export`` and ``import``: move a network to another database (SQLite to PostgreSQL
and back) through a snapshot file. The workflows are in
:mod:`worker_manager.application.snapshots`; these commands parse and print."""

import sys
from pathlib import Path
from typing import Annotated, BinaryIO

import typer

from worker_manager.cli import inputs
from worker_manager.cli.common import (
    EXIT_USAGE,
    DatabaseOption,
    HomeOption,
    JsonFlag,
    NewDatabaseOption,
    check_database_url,
    fail,
    load_settings,
    resolve_home,
    stderr,
    workflow,
)
from worker_manager.cli.node_commands import show_info
from worker_manager.settings import DEFAULT_HOST, DEFAULT_PORT

NEW_SEED_WARNING = (
    "warning: no --node-seed-file, so this home has a NEW node seed: its liveliness "
    "challenges and its encryption key (Secret's encrypted messages) differ from the old "
    "network's, and verify cannot check the old liveliness answers. To keep them, import "
    "again with --node-seed-file OLD_HOME/secrets/node.seed."
)


def export(
    home: HomeOption = None,
    database_url: DatabaseOption = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            help="Write the snapshot to this file (owner-only, there once whole) "
            "instead of stdout.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Write a snapshot of the home's database as JSON Lines: state, accounts, tx log, blocks.

    It is read in one transaction, so a serving node may keep running; the same
    state gives the same bytes on SQLite and on PostgreSQL. A header line comes
    first and a trailer line with row counts and a sha256 last, so import
    refuses a truncated or edited file. The node seed is not in it (see import
    --node-seed-file); every message is, in plaintext: keep it private.

    Example:

      worker-manager export --home ~/wm --output wm.jsonl
    """
    target, _ = resolve_home(home)
    settings = load_settings(target, database_url)
    from worker_manager.application.snapshots import export_home, export_home_to

    with workflow():
        if output is None:
            summary = export_home(settings, sys.stdout.buffer)
            sys.stdout.buffer.flush()
        else:
            summary = export_home_to(settings, output)
    header = summary.header
    stderr.print(
        f"exported chain {header.chain_id} at height {header.height}: {summary.total} rows, "
        f"state hash {summary.state_hash}"
    )


def _open(file: str) -> BinaryIO:
    if file == "-":
        return sys.stdin.buffer
    try:
        return Path(file).open("rb")
    except IsADirectoryError:
        fail(f"{file} is a directory, not a snapshot file", EXIT_USAGE)
    except OSError as exc:
        fail(f"cannot read {file}: {exc.strerror or exc}", EXIT_USAGE)


def import_(
    file: Annotated[
        str, typer.Argument(metavar="FILE", help="A snapshot made by export, or - for stdin.")
    ],
    home: HomeOption = None,
    database_url: NewDatabaseOption = "",
    host: Annotated[str, typer.Option(help="Address serve listens on.")] = DEFAULT_HOST,
    port: Annotated[
        int, typer.Option(min=1, max=65535, help="Port serve listens on.")
    ] = DEFAULT_PORT,
    node_seed_file: Annotated[
        Path | None,
        typer.Option(
            "--node-seed-file",
            help="The old home's secrets/node.seed, to keep its liveliness challenges and "
            "encryption key (without it the home gets a new seed).",
            show_default=False,
        ),
    ] = None,
    json_output: JsonFlag = False,
) -> None:
    """Create a home from a snapshot: like init, but the chain comes from the snapshot.

    The snapshot is loaded into the home's empty database in one transaction and
    checked (row counts, state hash) before it commits. A bad snapshot (exit 2),
    a database that already holds a chain or a home that exists (exit 1) leave
    no home and the database as it was.

    Example:

      worker-manager import wm.jsonl --home ~/wm2 \\
          --database-url postgresql+psycopg://wm@db.internal/wm \\
          --node-seed-file ~/wm/secrets/node.seed
    """
    target, _ = resolve_home(home)
    inputs.host(host, "--host")
    check_database_url(database_url)
    from worker_manager.application.homes import read_node_seed
    from worker_manager.application.snapshots import import_home

    with workflow():
        seed = None if node_seed_file is None else read_node_seed(node_seed_file)
    source = _open(file)
    try:
        with workflow():
            imported = import_home(
                target, source, database_url=database_url, host=host, port=port, seed=seed
            )
    finally:
        if source is not sys.stdin.buffer:
            source.close()
    summary = imported.summary
    stderr.print(
        f"imported chain {summary.header.chain_id} at height {summary.header.height}: "
        f"{summary.total} rows, state hash {summary.state_hash}"
    )
    if not imported.kept_seed:
        stderr.print(NEW_SEED_WARNING)
    extra = {"state_hash": summary.state_hash, "node_seed_kept": imported.kept_seed}
    show_info(imported.settings, json_output, title=f"Imported into {target}", extra=extra)
