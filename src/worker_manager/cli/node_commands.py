"""``init``, ``info``, ``migrate`` and ``verify``: create and inspect a node's home
(``serve`` runs it: serve_command.py)."""

import shutil
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer

from worker_manager.cli import inputs
from worker_manager.cli.common import (
    EXIT_UNAVAILABLE,
    EXIT_USAGE,
    HomeOption,
    JsonFlag,
    fail,
    load_settings,
    print_fields,
    print_json,
    resolve_home,
    stderr,
)
from worker_manager.contract import ContractError
from worker_manager.home import HomeError, is_initialised, write_home
from worker_manager.node import Node, NodeNotInitialised, SystemClock
from worker_manager.node.bootstrap import build_node, host_api, open_store
from worker_manager.node.identity import InvalidChainId, validate_chain_id
from worker_manager.serve_lock import serving_pid
from worker_manager.settings import DEFAULT_HOST, DEFAULT_PORT, KEYRING_DIR, Settings
from worker_manager.store import SchemaError


def create_home(
    home: Path,
    *,
    chain_id: str,
    admin: str,
    database_url: str = "",
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    instantiate_msg: dict[str, Any] | None = None,
) -> Settings:
    """Write a home and create its chain. On any failure, remove what was created.

    The home may already hold a keyring (``keys add`` before ``init`` is fine).
    """
    existed = home.exists()
    if is_initialised(home):
        raise HomeError(f"{home} is already a worker-manager home; pick another --home")
    before = {p.name for p in home.iterdir()} if existed else set()
    if before - {KEYRING_DIR}:
        raise HomeError(f"{home} exists and is not empty; pick an empty or new directory")
    try:
        write_home(home, chain_id=chain_id, database_url=database_url, host=host, port=port)
        settings = load_settings(home)
        store = open_store(settings, migrate=True)
        try:
            Node.genesis(
                store,
                chain_id=chain_id,
                admin=admin,
                clock=SystemClock(),
                api=host_api(settings),
                instantiate_msg=instantiate_msg,
            )
        finally:
            store.close()
    except BaseException:
        if existed:
            for child in home.iterdir():
                if child.name in before:
                    continue
                if child.is_dir():
                    shutil.rmtree(child)
                else:
                    child.unlink()
        else:
            shutil.rmtree(home, ignore_errors=True)
        raise
    return settings


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
        int | None, typer.Option(help="Missed served epochs before stale (default 3).")
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
    try:
        validate_chain_id(chain_id)
    except InvalidChainId as exc:
        fail(str(exc), EXIT_USAGE)
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
    try:
        settings = create_home(
            target,
            chain_id=chain_id,
            admin=admin,
            database_url=database_url,
            host=host,
            port=port,
            instantiate_msg=msg,
        )
    except ContractError as exc:
        fail(exc.message, EXIT_USAGE)
    except (HomeError, SchemaError) as exc:
        fail(str(exc))
    _show_info(settings, json_output, title=f"Created {target}")


def _node_info(settings: Settings) -> dict[str, Any]:
    try:
        node = build_node(settings)
    except (SchemaError, NodeNotInitialised) as exc:
        fail(str(exc))
    try:
        data = asdict(node.info())
    finally:
        node.store.close()
    data["lcd_url"] = settings.lcd_url
    data["home"] = str(settings.home)
    data["database"] = node.store.safe_url
    return data


def _show_info(settings: Settings, json_output: bool, title: str) -> None:
    data = _node_info(settings)
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
    settings = load_settings(target)
    serving = serving_pid(target)
    if serving is not None:
        fail(
            f"{target} is served by a node (pid {serving}); stop it before migrating its "
            "database (serve migrates by itself when it starts)",
            EXIT_UNAVAILABLE,
        )
    store = open_store(settings)
    try:
        before, after = store.migrate()
    finally:
        store.close()
    stderr.print(f"schema: {before or 'empty'} -> {after}")


def verify(home: HomeOption = None, json_output: JsonFlag = False) -> None:
    """Check the state against the transaction log, by replaying it from height 1.

    Every tx is re-run into a scratch database; each must give its recorded
    result, each block its recorded hash, and the final state must match.

    Example:

      worker-manager verify --home ~/wm
    """
    import tempfile

    from worker_manager.node.replay import ReplayError, replay
    from worker_manager.store import Store

    target, _ = resolve_home(home)
    settings = load_settings(target)
    source = open_store(settings)
    with tempfile.TemporaryDirectory(prefix="wm-verify-") as scratch:
        replica = Store(f"sqlite:///{Path(scratch) / 'replay.db'}")
        try:
            source.check_schema()
            replica.migrate()
            report = replay(source, replica, host_api(settings))
        except (ReplayError, SchemaError) as exc:
            fail(str(exc))
        finally:
            replica.close()
            source.close()
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
