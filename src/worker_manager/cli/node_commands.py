"""``init``, ``join``, ``info``, ``migrate`` and ``verify``: create and inspect a node's home
(``serve`` runs it: serve_command.py; ``export`` and ``import`` move it:
snapshot_commands.py). The workflows are in
:mod:`worker_manager.application`; these commands parse and print."""

from pathlib import Path
from typing import Annotated, Any

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
    print_fields,
    print_json,
    resolve_home,
    stderr,
    workflow,
)
from worker_manager.settings import DEFAULT_HOST, DEFAULT_PORT, Settings


def init(
    chain_id: Annotated[
        str, typer.Option("--chain-id", help="Chain id clients sign for, e.g. secret-4.")
    ],
    admin: Annotated[
        str, typer.Option("--admin", help="secret1… address of the contract's admin.")
    ],
    home: HomeOption = None,
    database_url: NewDatabaseOption = "",
    host: Annotated[str, typer.Option(help="Address serve listens on.")] = DEFAULT_HOST,
    port: Annotated[
        int, typer.Option(min=1, max=65535, help="Port serve listens on.")
    ] = DEFAULT_PORT,
    registration_mode: Annotated[
        str, typer.Option(help="Who may register workers: admin or open.")
    ] = "admin",
    url_template: Annotated[
        str | None,
        typer.Option(help="URL of workers that register none, e.g. https://{host}:21434"),
    ] = None,
    epoch_seconds: Annotated[
        int | None, typer.Option(help="Liveliness epoch length (default 60).")
    ] = None,
    grace_epochs: Annotated[
        int | None, typer.Option(help="Missed up epochs before stale (default 3).")
    ] = None,
    offline_after_epochs: Annotated[
        int | None,
        typer.Option(help="Missed up epochs before a worker shows offline (default 10)."),
    ] = None,
    work_period_seconds: Annotated[
        int | None, typer.Option(help="Work-report period length (default 3600).")
    ] = None,
    json_output: JsonFlag = False,
) -> None:
    """Create a node home: config, database, and the contract instantiated with ADMIN.

    Example:

      worker-manager init --home ~/wm --chain-id worker-manager-1 \\
          --admin secret1snf0y77qz9hgh69fefffjdv5tedfd6rmewzzsz
    """
    target, _ = resolve_home(home)
    inputs.account(admin, "--admin")
    inputs.host(host, "--host")
    check_database_url(database_url)
    msg: dict[str, Any] = {"registration_mode": registration_mode}
    optional = {
        "url_template": url_template,
        "epoch_seconds": epoch_seconds,
        "grace_epochs": grace_epochs,
        "offline_after_epochs": offline_after_epochs,
        "work_period_seconds": work_period_seconds,
    }
    msg.update({name: value for name, value in optional.items() if value is not None})
    from worker_manager.application.homes import create_home

    with workflow():
        settings = create_home(
            target,
            chain_id=chain_id,
            admin=admin,
            database_url=database_url,
            host=host,
            port=port,
            instantiate_msg=msg,
        )
    show_info(settings, json_output, title=f"Created {target}")


def join(
    database_url: Annotated[
        str,
        typer.Option(
            "--database-url",
            "--database",
            help="The chain's database: postgresql+psycopg://… (or sqlite:///… on this machine).",
        ),
    ],
    node_seed_file: Annotated[
        Path,
        typer.Option(
            "--node-seed-file",
            help="secrets/node.seed of a home of this chain: all its nodes need the same seed.",
        ),
    ],
    home: HomeOption = None,
    host: Annotated[str, typer.Option(help="Address serve listens on.")] = DEFAULT_HOST,
    port: Annotated[
        int, typer.Option(min=1, max=65535, help="Port serve listens on.")
    ] = DEFAULT_PORT,
    json_output: JsonFlag = False,
) -> None:
    """Create a home for one more node of a chain that exists: no genesis, the chain,
    its chain id and its state are the database's.

    Every node on the database writes blocks in turn and serves reads (docs/scaling.md).
    A database without a chain, or a seed of another chain, is refused and leaves no home.

    Example:

      worker-manager join --home ~/wm-b --port 1318 \
          --database-url postgresql+psycopg://wm@db.internal/wm \
          --node-seed-file ~/wm/secrets/node.seed
    """
    target, _ = resolve_home(home)
    inputs.host(host, "--host")
    if not database_url.strip():
        fail("--database-url must name the chain's database", EXIT_USAGE)
    check_database_url(database_url)
    from worker_manager.application.homes import join_home, read_node_seed

    with workflow():
        seed = read_node_seed(node_seed_file)
        settings = join_home(target, database_url=database_url, seed=seed, host=host, port=port)
    show_info(settings, json_output, title=f"Joined {target}")


def show_info(
    settings: Settings, json_output: bool, title: str, extra: dict[str, Any] | None = None
) -> None:
    """What ``info`` shows of a home (``extra``: more fields a command adds)."""
    from worker_manager.application.homes import home_info

    with workflow():
        data = home_info(settings)
    data.update(extra or {})
    if json_output:
        print_json(data)
    else:
        print_fields(title, data)


def info(
    home: HomeOption = None, database_url: DatabaseOption = None, json_output: JsonFlag = False
) -> None:
    """Show the node's chain id, admin, contract address, code hash, height and worker count.

    Example:

      worker-manager info --home ~/wm --json
    """
    target, _ = resolve_home(home)
    settings = load_settings(target, database_url)
    show_info(settings, json_output, title=f"worker-manager node at {target}")


def migrate(home: HomeOption = None, database_url: DatabaseOption = None) -> None:
    """Upgrade the home's database schema to this version of worker-manager.

    Example:

      worker-manager migrate --home ~/wm
    """
    target, _ = resolve_home(home)
    from worker_manager.application.homes import migrate_home

    settings = load_settings(target, database_url)
    with workflow():
        before, after = migrate_home(settings)
    stderr.print(f"schema: {before or 'empty'} -> {after}")


def verify(
    home: HomeOption = None, database_url: DatabaseOption = None, json_output: JsonFlag = False
) -> None:
    """Check the state against the transaction log, by replaying it from height 1.

    Every tx is re-run into a scratch database; each must give its recorded
    result, each block its recorded hash, and the final state must match, table
    by table and by state hash (both hashes are printed).

    Example:

      worker-manager verify --home ~/wm
    """
    target, _ = resolve_home(home)
    from worker_manager.application.verifying import verify_home

    settings = load_settings(target, database_url)
    with workflow():
        report = verify_home(settings)
    data = {
        "blocks": report.blocks,
        "txs": report.txs,
        "ok": report.ok,
        "mismatches": report.mismatches,
        "state_hash": report.state_hash,
        "replayed_state_hash": report.replayed_state_hash,
    }
    if json_output:
        print_json(data)
    else:
        verdict = "the state matches the log" if report.ok else "MISMATCH"
        stderr.print(f"replayed {report.blocks} blocks, {report.txs} txs: {verdict}")
        stderr.print(f"  state hash           {report.state_hash}")
        stderr.print(f"  replayed state hash  {report.replayed_state_hash}")
        for line in report.mismatches:
            stderr.print(f"  {line}")
    if not report.ok:
        raise typer.Exit(1)
