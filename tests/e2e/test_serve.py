"""The README's first steps with real processes: init, serve, query; the first-try home;
and what serve refuses at start (a taken port, a home another node serves) and the
file modes of what it creates."""

import contextlib
import json
import os
import signal
import socket
import stat
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import ADMIN
from tests.e2e.conftest import RunningNode, cli, free_port, start_serve, stop
from worker_manager.keys.mnemonic import key_from_mnemonic


def test_a_served_home_answers_health_and_queries(running_node: RunningNode) -> None:
    url = running_node.url
    health = httpx.get(f"{url}/healthz").json()
    assert health["status"] == "ok"
    assert health["height"] >= 1  # genesis, then the node's epoch ticks
    assert httpx.post(f"{url}/v1/query", json={"get_models": {}}).json() == {"models": []}
    assert httpx.post(f"{url}/v1/query", json={"get_u_r_ls": {}}).json() == {"urls": []}
    info = httpx.get(f"{url}/v1/info").json()
    assert info["contract_address"] == running_node.info["contract_address"]
    assert info["chain_id"] == "wm-e2e-1"


def test_serve_logs_what_it_serves_and_stops_cleanly(running_node: RunningNode) -> None:
    assert stop(running_node.process) == 0
    log = running_node.log()
    assert "node for chain wm-e2e-1" in log
    assert f"listening on {running_node.url}" in log
    assert "stopped" in log
    assert "alembic" not in log


def test_first_try_serve_creates_a_dev_home_and_prints_its_admin_once(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "WM_HOME"}
    env["XDG_DATA_HOME"] = str(tmp_path / "data")
    env["HOME"] = str(tmp_path)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = tmp_path / "first.log"
    process = start_serve(["--port", str(port)], env, log_path, url)
    try:
        assert httpx.post(f"{url}/v1/query", json={"get_models": {}}).json() == {"models": []}
    finally:
        stop(process)
    log = log_path.read_text()
    assert "WARNING" in log
    home = tmp_path / "data" / "worker-manager"
    assert str(home) in log
    # the output is a file here, not a terminal: the words stay out of it
    secret = home / "secrets" / "dev-admin.mnemonic"
    assert f"it is in {secret} (owner-only)" in log
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    words = secret.read_text().strip()
    assert len(words.split()) == 24
    assert words not in log
    admin = key_from_mnemonic(words).address
    info = json.loads(cli("info", "--json", env={**env, "WM_HOME": str(home)}).stdout)
    assert info["admin"] == admin
    assert info["chain_id"] == "worker-manager-dev"
    # the admin's key is in the home's keyring under the marked development passphrase
    passphrase_file = home / "secrets" / "dev-keyring.passphrase"
    assert f"passphrase kept in clear in {passphrase_file}" in log
    assert stat.S_IMODE(passphrase_file.stat().st_mode) == 0o600
    listed = cli("keys", "list", "-o", "json", env={**env, "WM_HOME": str(home)}).stdout
    assert admin in listed
    # the second start reuses the home and never prints the mnemonic again
    log_path2 = tmp_path / "second.log"
    process = start_serve(["--port", str(port)], env, log_path2, url)
    stop(process)
    assert words not in log_path2.read_text()


def _listing(root: Path) -> dict[str, tuple[int, int, int]]:
    """Every path under ``root`` (and root) with its mode, size and modification time."""
    found = {}
    for path in [root, *sorted(root.rglob("*"))]:
        info = path.lstat()
        found[str(path.relative_to(root))] = (info.st_mode, info.st_size, info.st_mtime_ns)
    return found


def _taken_port() -> socket.socket:
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    return taken


def _init(home: Path, port: int) -> None:
    cli(
        "init", "--home", str(home), "--chain-id", "wm-e2e-1", "--admin", ADMIN, "--port", str(port)
    )


def test_serve_on_a_taken_port_exits_3_and_leaves_the_home_as_it_was(tmp_path: Path) -> None:
    home = tmp_path / "home"
    _init(home, free_port())
    before = _listing(home)
    with _taken_port() as taken:
        port = taken.getsockname()[1]
        result = cli("serve", "--home", str(home), "--port", str(port), check=False)
    assert result.returncode == 3, result.stderr
    assert f"cannot listen on 127.0.0.1:{port}: the port is taken" in result.stderr
    assert "Traceback" not in result.stderr
    assert _listing(home) == before  # no migration, no lock file, no collateral dir


def test_serve_on_an_address_of_another_machine_exits_3(tmp_path: Path) -> None:
    home = tmp_path / "home"
    _init(home, free_port())
    before = _listing(home)
    result = cli("serve", "--home", str(home), "--host", "192.0.2.1", check=False)  # TEST-NET-1
    assert result.returncode == 3, result.stderr
    assert "192.0.2.1" in result.stderr
    assert "is not an address of this machine" in result.stderr
    assert _listing(home) == before


def test_a_first_run_serve_on_a_taken_port_creates_no_home(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WM_")}
    env["XDG_DATA_HOME"] = str(tmp_path / "data")
    env["HOME"] = str(tmp_path)
    with _taken_port() as taken:
        env["WM_PORT"] = str(taken.getsockname()[1])
        result = cli("serve", env=env, check=False)
    assert result.returncode == 3, result.stderr
    assert "the port is taken" in result.stderr
    assert "mnemonic" not in result.stderr + result.stdout
    assert not (tmp_path / "data").exists()


def test_a_second_node_on_a_served_home_is_refused_and_named(running_node: RunningNode) -> None:
    home, pid = running_node.home, running_node.process.pid
    assert (home / "serve.lock").read_text().split() == [str(pid), running_node.url]
    os.kill(pid, signal.SIGSTOP)  # the first node holds its lock but writes nothing now
    try:
        before = _listing(home)
        other_port = cli("serve", "--home", str(home), "--port", str(free_port()), check=False)
        assert _listing(home) == before  # refused before the database was touched
    finally:
        os.kill(pid, signal.SIGCONT)
    assert other_port.returncode == 3, other_port.stderr
    assert f"{home} is already served by another node (pid {pid})" in other_port.stderr
    assert "Several nodes on one home are not supported yet" in other_port.stderr
    same_port = cli("serve", "--home", str(home), check=False)
    assert same_port.returncode == 3
    assert "the port is taken" in same_port.stderr
    assert f"the node with pid {pid} serves {home}" in same_port.stderr
    assert httpx.get(f"{running_node.url}/healthz").json()["status"] == "ok"


def test_a_node_killed_with_sigkill_leaves_no_stale_lock(running_node: RunningNode) -> None:
    running_node.process.kill()
    running_node.process.wait()
    log_path = running_node.log_path.with_name("after-kill.log")
    env = os.environ.copy()
    running_node.process = start_serve(
        ["--home", str(running_node.home)], env, log_path, running_node.url
    )
    lock = (running_node.home / "serve.lock").read_text().split()
    assert lock == [str(running_node.process.pid), running_node.url]


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@contextlib.contextmanager
def _umask(mask: int) -> Iterator[None]:
    """Child processes started inside inherit ``mask``."""
    previous = os.umask(mask)
    try:
        yield
    finally:
        os.umask(previous)


@pytest.mark.parametrize("mask", [0o022, 0o000])
def test_init_makes_the_home_config_and_database_owner_only(tmp_path: Path, mask: int) -> None:
    home = tmp_path / "home"
    with _umask(mask):
        _init(home, free_port())
    assert _mode(home) == 0o700
    assert _mode(home / "config.toml") == 0o600
    assert _mode(home / "worker-manager.db") == 0o600
    assert _mode(home / "secrets") == 0o700
    assert _mode(home / "secrets" / "node.seed") == 0o600


@pytest.mark.parametrize("mask", [0o022, 0o000])
def test_a_first_run_home_and_its_wal_files_are_owner_only(tmp_path: Path, mask: int) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WM_")}
    env["XDG_DATA_HOME"] = str(tmp_path / "data")
    env["HOME"] = str(tmp_path)
    port = free_port()
    with _umask(mask):
        process = start_serve(
            ["--port", str(port)], env, tmp_path / "serve.log", f"http://127.0.0.1:{port}"
        )
    home = tmp_path / "data" / "worker-manager"
    try:
        # while the node runs, SQLite keeps its -wal and -shm files next to the database
        modes = {
            name: _mode(home / name)
            for name in ("config.toml", "worker-manager.db", "worker-manager.db-wal", "serve.lock")
        }
        modes["worker-manager.db-shm"] = _mode(home / "worker-manager.db-shm")
    finally:
        stop(process)
    assert _mode(home) == 0o700
    assert set(modes.values()) == {0o600}, modes


def test_serve_warns_once_when_other_users_may_read_the_config_or_database(
    tmp_path: Path,
) -> None:
    home, port = tmp_path / "home", free_port()
    _init(home, port)
    (home / "config.toml").chmod(0o644)
    (home / "worker-manager.db").chmod(0o640)
    log_path = tmp_path / "serve.log"
    stop(
        start_serve(["--home", str(home)], os.environ.copy(), log_path, f"http://127.0.0.1:{port}")
    )
    warnings = [line for line in log_path.read_text().splitlines() if "other users may" in line]
    assert len(warnings) == 1
    assert f"{home / 'config.toml'} (mode 644)" in warnings[0]
    assert f"{home / 'worker-manager.db'} (mode 640)" in warnings[0]
    assert _mode(home / "config.toml") == 0o644  # warned about, never changed behind the user


def test_the_development_admin_signs_with_from_admin_without_recovering_its_key(
    tmp_path: Path,
) -> None:
    """A first-try home: --from admin works at once (no keys recover, no passphrase), and
    info names the port serve --port serves, not the configured one."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WM_")}
    env["XDG_DATA_HOME"] = str(tmp_path / "data")
    env["HOME"] = str(tmp_path)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = start_serve(["--port", str(port)], env, tmp_path / "serve.log", url)
    try:
        home = tmp_path / "data" / "worker-manager"
        info = json.loads(cli("info", "--json", env=env).stdout)
        assert info["lcd_url"] == url  # not the configured 1317
        admin = str(info["admin"])
        (tmp_path / "quote.hex").write_text("")
        cli(
            "tx",
            "register-worker",
            "10.0.0.1",
            "--wallet",
            admin,
            "--type",
            "m",
            "--report-file",
            str(tmp_path / "quote.hex"),
            "--from",
            "admin",
            "--node",
            url,
            env=env,
        )
        assert httpx.post(f"{url}/v1/query", json={"get_models": {}}).json() == {"models": ["m"]}
    finally:
        stop(process)
    # with nobody serving, info says the configured address
    info = json.loads(cli("info", "--json", env={**env, "WM_HOME": str(home)}).stdout)
    assert info["lcd_url"] == "http://127.0.0.1:1317"
