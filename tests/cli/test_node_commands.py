"""init, info and migrate through the real command line (in-process Typer runner)."""

import json
import os
import stat
import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.conftest import ADMIN
from worker_manager.cli.main import app
from worker_manager.store.migrate import head_revision

runner = CliRunner()


def invoke(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


def init(home: Path, *extra: str) -> tuple[int, str, str]:
    return invoke(
        "init", "--home", str(home), "--chain-id", "wm-cli-1", "--admin", ADMIN, "--json", *extra
    )


def test_init_creates_a_home_and_info_reads_it(tmp_path: Path) -> None:
    home = tmp_path / "home"
    code, out, _ = init(home)
    assert code == 0
    created = json.loads(out)
    assert created["chain_id"] == "wm-cli-1"
    assert created["admin"] == ADMIN
    assert created["height"] == 1
    assert created["workers"] == 0
    assert created["lcd_url"] == "http://127.0.0.1:1317"
    assert created["contract_address"].startswith("secret1")
    assert len(created["code_hash"]) == 64
    code, out, _ = invoke("info", "--home", str(home), "--json")
    assert code == 0
    assert json.loads(out) == created
    assert stat.S_IMODE((home / "secrets").stat().st_mode) == 0o700
    assert stat.S_IMODE((home / "secrets" / "node.seed").stat().st_mode) == 0o600
    assert len((home / "secrets" / "node.seed").read_bytes()) == 32


def test_init_writes_the_server_timeouts_into_the_config(tmp_path: Path) -> None:
    init(tmp_path / "h")
    config = tomllib.loads((tmp_path / "h" / "config.toml").read_text())
    assert config["server"]["request_timeout_s"] == 10
    assert config["server"]["keep_alive_timeout_s"] == 5


def test_info_prints_a_table_for_people(tmp_path: Path) -> None:
    init(tmp_path / "h")
    code, out, _ = invoke("info", "--home", str(tmp_path / "h"))
    assert code == 0
    assert "wm-cli-1" in out
    assert ADMIN in out


def test_wm_home_names_the_home(tmp_path: Path) -> None:
    init(tmp_path / "h")
    code, out, _ = invoke("info", "--json", env={"WM_HOME": str(tmp_path / "h")})
    assert code == 0
    assert json.loads(out)["chain_id"] == "wm-cli-1"


def test_init_options_reach_the_contract_config(tmp_path: Path) -> None:
    code, _, _ = init(
        tmp_path / "h", "--registration-mode", "open", "--port", "2317",
        "--epoch-seconds", "30", "--grace-epochs", "2", "--offline-after-epochs", "7",
        "--work-period-seconds", "600",
    )  # fmt: skip
    assert code == 0
    code, out, _ = invoke("info", "--home", str(tmp_path / "h"), "--json")
    assert json.loads(out)["lcd_url"] == "http://127.0.0.1:2317"
    from worker_manager.contract.auth import load_config
    from worker_manager.store import Store

    store = Store(f"sqlite:///{tmp_path / 'h' / 'worker-manager.db'}")
    with store.read() as session:
        config = load_config(session.contract)
    store.close()
    assert config.registration_mode.value == "open"
    assert (config.epoch_seconds, config.grace_epochs) == (30, 2)
    assert (config.offline_after_epochs, config.work_period_seconds) == (7, 600)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--chain-id", "bad chain", "--admin", ADMIN], "chain id"),
        (["--chain-id", "ok-1", "--admin", "secret1nope"], "admin"),
        (["--chain-id", "ok-1", "--admin", ADMIN, "--registration-mode", "all"], "registration"),
        (["--chain-id", "ok-1", "--admin", ADMIN, "--url-template", "x"], "url_template"),
    ],
)
def test_init_refuses_bad_input_and_leaves_no_home(
    tmp_path: Path, args: list[str], message: str
) -> None:
    home = tmp_path / "h"
    code, _, err = invoke("init", "--home", str(home), *args)
    assert code == 2
    assert message in err
    assert not home.exists()


def test_init_refuses_an_existing_home(tmp_path: Path) -> None:
    init(tmp_path / "h")
    before = sorted(os.listdir(tmp_path / "h"))
    code, _, err = init(tmp_path / "h")
    assert code == 1
    assert "already a worker-manager home" in err
    assert sorted(os.listdir(tmp_path / "h")) == before


def test_init_keeps_a_keyring_made_before_it(tmp_path: Path) -> None:
    home = tmp_path / "h"
    env = {"WM_KEYRING_PASSPHRASE": "pw"}
    code, _, _ = invoke("keys", "add", "first", "--home", str(home), env=env)
    assert code == 0
    # this init fails after writing the home's files: only what it wrote goes away
    code, _, err = invoke(
        "init", "--home", str(home), "--chain-id", "ok-1", "--admin", ADMIN, "--url-template", "x"
    )
    assert code == 2
    assert "url_template" in err
    assert sorted(p.name for p in home.iterdir()) == ["keyring"]
    assert (home / "keyring" / "first.json").exists()
    code, _, _ = init(home)
    assert code == 0
    code, out, _ = invoke("keys", "list", "--home", str(home), "-o", "json")
    assert [k["name"] for k in json.loads(out)] == ["first"]


def test_init_refuses_a_non_empty_directory(tmp_path: Path) -> None:
    (tmp_path / "h").mkdir()
    (tmp_path / "h" / "notes.txt").write_text("mine")
    code, _, err = init(tmp_path / "h")
    assert code == 1
    assert "not empty" in err
    assert (tmp_path / "h" / "notes.txt").read_text() == "mine"


def test_info_on_a_missing_home_says_how_to_make_one(tmp_path: Path) -> None:
    code, _, err = invoke("info", "--home", str(tmp_path / "none"))
    assert code == 2
    assert "worker-manager init" in err


def test_info_on_a_broken_config_names_the_file(tmp_path: Path) -> None:
    init(tmp_path / "h")
    (tmp_path / "h" / "config.toml").write_text("chain_id = ")
    code, _, err = invoke("info", "--home", str(tmp_path / "h"))
    assert code == 2
    assert "config.toml" in err


def test_migrate_reports_the_schema(tmp_path: Path) -> None:
    init(tmp_path / "h")
    code, _, err = invoke("migrate", "--home", str(tmp_path / "h"))
    assert code == 0
    assert f"{head_revision()} -> {head_revision()}" in err


def test_migrate_refuses_a_home_a_node_serves(tmp_path: Path) -> None:
    from worker_manager.serve_lock import serve_lock

    init(tmp_path / "h")
    with serve_lock(tmp_path / "h"):
        code, _, err = invoke("migrate", "--home", str(tmp_path / "h"))
    assert code == 3
    assert f"pid {os.getpid()}" in err
    assert invoke("migrate", "--home", str(tmp_path / "h"))[0] == 0


def test_serve_refuses_an_explicit_home_that_does_not_exist(tmp_path: Path) -> None:
    code, _, err = invoke("serve", "--home", str(tmp_path / "none"))
    assert code == 2
    assert "worker-manager init" in err


def test_version(tmp_path: Path) -> None:
    code, out, _ = invoke("--version")
    assert code == 0
    assert out.startswith("worker-manager ")


def test_bare_worker_manager_shows_the_help_and_succeeds() -> None:
    import subprocess
    import sys

    run = subprocess.run(
        [sys.executable, "-m", "worker_manager"], capture_output=True, text=True, check=False
    )
    assert run.returncode == 0, run.stderr
    assert "Usage: " in run.stdout
    assert "worker-manager serve" in run.stdout
