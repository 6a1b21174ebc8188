"""A real ``worker-manager serve`` with its stderr in a file: JSON lines, each request's
lines share its id (also in the response header), one structured line per block, no
mnemonic in a first run's log; and ``/metrics`` of that process, or none when turned off."""

import base64
import json
import os
from pathlib import Path

import httpx

from tests.conftest import ADMIN, ADMIN_KEY, register_msg
from tests.e2e.conftest import cli, free_port, start_serve, stop
from worker_manager.node.deliver import account_number_for
from worker_manager.tx import build_execute_tx


def _init(home: Path, port: int, *extra_config: str) -> dict[str, object]:
    cli(
        "init", "--home", str(home), "--chain-id", "wm-e2e-1", "--admin", ADMIN, "--port", str(port)
    )
    if extra_config:
        with (home / "config.toml").open("a") as config:
            config.write("\n" + "\n".join(extra_config) + "\n")
    info: dict[str, object] = json.loads(cli("info", "--home", str(home), "--json").stdout)
    return info


def _lines(log_path: Path) -> list[dict[str, object]]:
    lines = log_path.read_text().splitlines()
    assert lines
    return [json.loads(line) for line in lines]  # every line is one JSON object


def test_serve_logs_json_lines_with_request_ids(tmp_path: Path) -> None:
    home, port = tmp_path / "home", free_port()
    info = _init(home, port)
    url = str(info["lcd_url"])
    log_path = tmp_path / "serve.log"
    process = start_serve(
        ["--home", str(home), "--log-level", "debug"], os.environ.copy(), log_path, url
    )
    try:
        tx = build_execute_tx(
            ADMIN_KEY,
            str(info["contract_address"]),
            json.dumps(register_msg("10.0.0.1")).encode(),
            chain_id="wm-e2e-1",
            account_number=account_number_for(ADMIN),
            sequence=0,
        )
        body = {"tx_bytes": base64.b64encode(tx).decode(), "mode": "commit"}
        sent = httpx.post(
            f"{url}/v1/txs", json=body, headers={"X-Request-Id": "e2e-tx-1"}, timeout=30
        )
        assert sent.json()["code"] == 0
        assert sent.headers["x-request-id"] == "e2e-tx-1"
        generated = httpx.get(f"{url}/v1/info").headers["x-request-id"]
        replaced = httpx.get(f"{url}/v1/info", headers={"X-Request-Id": "no spaces allowed"})
        assert replaced.headers["x-request-id"] != "no spaces allowed"
        metrics = httpx.get(f"{url}/metrics")
        assert metrics.status_code == 200
        assert f'worker_manager_process_info{{pid="{process.pid}"}} 1.0' in metrics.text
        assert 'worker_manager_txs_total{message="register_worker",result="ok"} 1.0' in metrics.text
    finally:
        assert stop(process) == 0
    lines = _lines(log_path)
    assert {"time", "level", "logger", "message", "pid"} <= set(lines[0])
    of_tx = [line for line in lines if line.get("request_id") == "e2e-tx-1"]
    messages = [str(line["message"]) for line in of_tx]
    assert any(m.startswith("accepted tx ") for m in messages), messages
    assert any("POST /v1/txs" in m for m in messages), messages  # uvicorn's access line
    assert [line for line in lines if line.get("request_id") == generated]
    assert not [line for line in lines if line.get("request_id") == "no spaces allowed"]
    blocks = [line for line in lines if str(line["message"]).startswith("block ")]
    register_block = [b for b in blocks if b["txs"] == 1 and b["height"] == 2]
    assert register_block, blocks
    assert register_block[0]["failed"] == 0
    assert isinstance(register_block[0]["commit_ms"], float)
    assert "request_id" not in register_block[0]  # the producer's, no request's


def test_metrics_turned_off_answer_404(tmp_path: Path) -> None:
    home, port = tmp_path / "home", free_port()
    info = _init(home, port, "[metrics]", "enabled = false")
    url = str(info["lcd_url"])
    process = start_serve(["--home", str(home)], os.environ.copy(), tmp_path / "serve.log", url)
    try:
        r = httpx.get(f"{url}/metrics")
        assert r.status_code == 404
        assert r.json()["code"] == "not_found"
    finally:
        stop(process)


def test_a_first_run_log_holds_no_mnemonic(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "WM_HOME"}
    env["XDG_DATA_HOME"] = str(tmp_path / "data")
    env["HOME"] = str(tmp_path)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = tmp_path / "first.log"
    process = start_serve(["--port", str(port), "--log-level", "debug"], env, log_path, url)
    stop(process)
    words = (tmp_path / "data" / "worker-manager" / "secrets" / "dev-admin.mnemonic").read_text()
    log = log_path.read_text()
    assert len(words.split()) == 24
    assert words.strip() not in log
    # no run of the mnemonic's words either (the warning's own text is not JSON: skip it)
    phrase = words.split()
    for line in log.splitlines():
        for i in range(len(phrase) - 3):
            assert " ".join(phrase[i : i + 4]) not in line
