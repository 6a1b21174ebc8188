"""The README's first steps with real processes: init, serve, query; and the first-try home."""

import json
import os
from pathlib import Path

import httpx

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
    assert "shown ONCE" in log
    home = tmp_path / "data" / "worker-manager"
    assert str(home) in log
    words = next(line.strip() for line in log.splitlines() if len(line.strip().split()) == 24)
    admin = key_from_mnemonic(words).address
    info = json.loads(cli("info", "--json", env={**env, "WM_HOME": str(home)}).stdout)
    assert info["admin"] == admin
    assert info["chain_id"] == "worker-manager-dev"
    # the second start reuses the home and never prints the mnemonic again
    log_path2 = tmp_path / "second.log"
    process = start_serve(["--port", str(port)], env, log_path2, url)
    stop(process)
    assert words not in log_path2.read_text()
