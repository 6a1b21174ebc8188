"""The acceptance check of "many nodes, one network" with real processes: a home with
real traffic is exported, imported on the other database engine, and the new home
exports the same bytes, serves the same answers and state hash, and verifies.

SQLite -> PostgreSQL and PostgreSQL -> SQLite, through the command line a user types:

    worker-manager export --home A > a.jsonl
    worker-manager import a.jsonl --home B --database-url URL --node-seed-file A/secrets/node.seed
    worker-manager export --home B > b.jsonl      # identical to a.jsonl
    worker-manager serve --home B                 # same get_workers, same GET /v1/state
    worker-manager verify --home B
"""

import contextlib
import json
import os
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import (
    ADMIN,
    ADMIN_KEY,
    OTHER_KEY,
    OWNER_KEY,
    SUBSCRIBER_KEY,
    WORKER_KEY,
    postgres_database,
    subscriber_proof,
)
from tests.e2e.conftest import cli, free_port, start_serve, stop
from tests.postgres import PostgresServer
from worker_manager.client import Client, TxFailed

pytestmark = pytest.mark.slow

ODD = "𝄞🙂𐍈"


def export_to(path: Path, *args: str) -> None:
    """``worker-manager export ARGS > path``."""
    with path.open("wb") as out:
        subprocess.run(
            [sys.executable, "-m", "worker_manager", "export", *args],
            stdout=out,
            stderr=subprocess.PIPE,
            check=True,
            timeout=120,
        )


@contextlib.contextmanager
def serving(home: Path, log: Path, *extra: str) -> Iterator[str]:
    info = json.loads(cli("info", "--home", str(home), "--json", *extra).stdout)
    process = start_serve(["--home", str(home), *extra], os.environ.copy(), log, info["lcd_url"])
    try:
        yield str(info["lcd_url"])
    finally:
        stop(process)


def traffic(url: str) -> None:
    """Real signed txs: workers, a liveliness answer and a work report signed by a worker
    key, subscribers, a refusal, text beyond the BMP."""
    with Client(url, key=ADMIN_KEY) as admin:
        admin.register_worker("10.0.0.1", OWNER_KEY.address, f"quote:{ODD}", "llama3.3:70b")
        admin.register_worker(
            "10.0.0.2",
            OWNER_KEY.address,
            "quote:" + "ab" * 20_000,
            "mistral",
            url=f"https://gpu.example/{ODD}",
            worker_public_key=WORKER_KEY.public_key.hex(),
        )
        admin.add_subscriber(SUBSCRIBER_KEY.public_key.hex())
        admin.execute({"add_subscriber": {"public_key": OWNER_KEY.public_key.hex()}}, memo=ODD)
    with Client(url, key=OWNER_KEY) as owner:
        owner.report_liveliness("10.0.0.2", worker_key=WORKER_KEY, load=5)
        period = int(time.time()) // 3600 - 1  # the hour that ended last
        usage = [{"subscriber": SUBSCRIBER_KEY.public_key.hex(), "requests": 2**53 - 1}]
        usage[0] |= {"input_tokens": 10, "output_tokens": 20}
        owner.report_work("10.0.0.2", period, usage, worker_key=WORKER_KEY)
        owner.set_worker_paused("10.0.0.1", True)
    with Client(url, key=OTHER_KEY) as other, pytest.raises(TxFailed):
        other.register_worker("10.0.0.3", OTHER_KEY.address, "quote", "m")


def answers(url: str) -> tuple[object, object]:
    workers = httpx.post(f"{url}/v1/query", json={"get_workers": subscriber_proof()}).json()
    return workers, httpx.get(f"{url}/v1/state").json()


@pytest.mark.postgres
@pytest.mark.parametrize(("source", "target"), [("sqlite", "postgresql"), ("postgresql", "sqlite")])
def test_a_network_moves_to_the_other_engine_and_serves_the_same_state(
    postgres: PostgresServer, tmp_path: Path, source: str, target: str
) -> None:
    with contextlib.ExitStack() as stack:

        def database(engine: str) -> list[str]:
            if engine == "sqlite":
                return []
            url = stack.enter_context(postgres_database(postgres, migrated=False))
            return ["--database-url", url]

        home_a, home_b = tmp_path / "a", tmp_path / "b"
        cli(
            "init", "--home", str(home_a), "--chain-id", "wm-move-1", "--admin", ADMIN,
            "--port", str(free_port()), "--epoch-seconds", "86400", *database(source),
        )  # fmt: skip
        with serving(home_a, tmp_path / "a.log") as url_a:
            traffic(url_a)
            a_jsonl, b_jsonl = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
            export_to(a_jsonl, "--home", str(home_a))  # while A serves
            seed = home_a / "secrets" / "node.seed"
            imported = cli(
                "import", str(a_jsonl), "--home", str(home_b), "--node-seed-file", str(seed),
                "--port", str(free_port()), *database(target), "--json",
            )  # fmt: skip
            assert json.loads(imported.stdout)["node_seed_kept"] is True
            export_to(b_jsonl, "--home", str(home_b))
            assert b_jsonl.read_bytes() == a_jsonl.read_bytes()
            trailer = json.loads(a_jsonl.read_bytes().splitlines()[-1])
            header = json.loads(a_jsonl.read_bytes().splitlines()[0])
            with serving(home_b, tmp_path / "b.log") as url_b:
                workers_a, state_a = answers(url_a)
                workers_b, state_b = answers(url_b)
                assert workers_b == workers_a
                assert len(workers_a["workers"]) == 2  # type: ignore[index]
                assert state_b == state_a
                assert state_b == {"height": header["height"], "state_hash": trailer["state_hash"]}
                verified = cli("verify", "--home", str(home_b), "--json")
                report = json.loads(verified.stdout)
                assert report["ok"] is True
                assert report["state_hash"] == trailer["state_hash"]
                assert report["replayed_state_hash"] == trailer["state_hash"]


def test_serve_takes_another_database_for_one_run(tmp_path: Path) -> None:
    """Home y is a copy of home x's chain (with x's seed: a node refuses a database of
    another seed) that moved on; x served with y's database serves y's state."""
    home_x, home_y = tmp_path / "x", tmp_path / "y"
    cli("init", "--home", str(home_x), "--chain-id", "wm-x-1", "--admin", ADMIN,
        "--port", str(free_port()))  # fmt: skip
    export_to(tmp_path / "x.jsonl", "--home", str(home_x))
    seed = home_x / "secrets" / "node.seed"
    cli("import", str(tmp_path / "x.jsonl"), "--home", str(home_y), "--node-seed-file", str(seed),
        "--port", str(free_port()))  # fmt: skip
    with serving(home_y, tmp_path / "y.log") as url, Client(url, key=ADMIN_KEY) as admin:
        admin.register_worker("10.0.0.1", OWNER_KEY.address, "quote", "llama3.3:70b")
    other = f"sqlite:///{home_y / 'worker-manager.db'}"
    with serving(home_x, tmp_path / "x.log", "--database", other) as url:
        assert httpx.get(f"{url}/v1/info").json()["workers"] == 1
    with serving(home_x, tmp_path / "x2.log") as url:
        assert httpx.get(f"{url}/v1/info").json()["workers"] == 0


def test_a_first_run_serve_creates_its_home_on_the_database_it_is_given(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WM_")}
    env["XDG_DATA_HOME"] = str(tmp_path / "data")
    env["HOME"] = str(tmp_path)
    port = free_port()
    database = f"sqlite:///{tmp_path / 'dev.db'}"
    args = ["--port", str(port), "--database-url", database]
    stop(start_serve(args, env, tmp_path / "first.log", f"http://127.0.0.1:{port}"))
    home = tmp_path / "data" / "worker-manager"
    assert tomllib.loads((home / "config.toml").read_text())["database"]["url"] == database
    assert (tmp_path / "dev.db").exists()
    assert not (home / "worker-manager.db").exists()
