"""``init``, ``info``, ``migrate`` and ``verify``: create and inspect a node's home
(``serve`` runs it: serve_command.py). The workflows are in
:mod:`worker_manager.application`; these commands parse and print."""

from typing import Annotated, Any

import typer

from worker_manager.cli import inputs
from worker_manager.cli.common import (
    HomeOption,
    JsonFlag,
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
    database_url: Annotated[
        str,
        typer.Option(
            "--database-url",
            help="postgresql+psycopg://… to share state; empty for SQLite in the home.",
        ),
    ] = "",
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
    msg: dict[str, Any] = {"registration_mode": registration_mode}
    optional = {
        "url_template": url_template,
        "epoch_seconds": epoch_seconds,
        "grace_epochs": grace_epochs,
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
    _show_info(settings, json_output, title=f"Created {target}")


def _show_info(settings: Settings, json_output: bool, title: str) -> None:
    from worker_manager.application.homes import home_info

    with workflow():
        data = home_info(settings)
    if json_output:
        print_json(data)
    else:
        print_fields(title, data)


def info(home: HomeOption = None, json_output: JsonFlag = False) -> None:
    """Show the node's chain id, admin, contract address, code hash, height and worker count.

    Example:

      worker-manager info --home ~/wm --json
    """
    target, _ = resolve_home(home)
    _show_info(load_settings(target), json_output, title=f"worker-manager node at {target}")


def migrate(home: HomeOption = None) -> None:
    """Upgrade the home's database schema to this version of worker-manager.

    Example:

      worker-manager migrate --home ~/wm
    """
    target, _ = resolve_home(home)
    from worker_manager.application.homes import migrate_home

    with workflow():
        before, after = migrate_home(load_settings(target))
    stderr.print(f"schema: {before or 'empty'} -> {after}")


def verify(home: HomeOption = None, json_output: JsonFlag = False) -> None:
    """Check the state against the transaction log, by replaying it from height 1.

    Every tx is re-run into a scratch database; each must give its recorded
    result, each block its recorded hash, and the final state must match.

    Example:

      worker-manager verify --home ~/wm
    """
    target, _ = resolve_home(home)
    from worker_manager.application.verifying import verify_home

    with workflow():
        report = verify_home(load_settings(target))
    data = {
        "blocks": report.blocks,
        "txs": report.txs,
        "ok": report.ok,
        "mismatches": report.mismatches,
    }
    if json_output:
        print_json(data)
    else:
        verdict = "the state matches the log" if report.ok else "MISMATCH"
        stderr.print(f"replayed {report.blocks} blocks, {report.txs} txs: {verdict}")
        for line in report.mismatches:
            stderr.print(f"  {line}")
    if not report.ok:
        raise typer.Exit(1)
