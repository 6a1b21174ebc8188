"""Real node and real agent processes with a 1-second epoch: a worker goes live, then
stale and offline after its agent stops, and live again after it restarts; work is
reported once per period, survives restarts of the agent and outages of the node."""

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import ADMIN_KEY, OWNER
from tests.e2e.conftest import RunningNode, start_serve, stop
from worker_manager.client import Client, TxFailed, WorkerManagerError
from worker_manager.keys import PrivateKey

WORKER_KEY = PrivateKey(hashlib.sha256(b"agent e2e worker key").digest())
IP = "10.7.0.1:21434"


def wait_for(what: str, check: Callable[[], bool], timeout: float = 20.0) -> None:
    """Poll ``check`` (errors count as "not yet") until it holds."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if check():
                return
        except WorkerManagerError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for: {what}")
        time.sleep(0.1)


def start_agent(config: Path, log: Path) -> subprocess.Popen[str]:
    with log.open("a") as handle:
        return subprocess.Popen(
            [sys.executable, "-m", "worker_manager", "agent", "--config", str(config)],
            stdout=handle,
            stderr=subprocess.STDOUT,
            text=True,
            env=os.environ.copy(),
        )


def agent_config(tmp: Path, node_url: str) -> Path:
    (tmp / "worker.key").write_text(WORKER_KEY.secret.hex())
    (tmp / "quote.hex").write_text("04000200810000")
    config = tmp / "agent.toml"
    config.write_text(
        f'node = "{node_url}"\n'
        f'ip_address = "{IP}"\n'
        f'state_dir = "{tmp / "state"}"\n'
        "poll_fraction = 0.2\n"
        "settle_seconds = 0.2\n"
        "[key]\n"
        'file = "worker.key"\n'
        "worker_key = true\n"
        "[register]\n"
        f'payment_wallet = "{OWNER}"\n'
        'worker_type = "e2e-model"\n'
        'attestation_report_file = "quote.hex"\n'
        "[usage]\n"
        'file = "usage.jsonl"\n'
    )
    return config


def status(client: Client) -> str:
    return client.worker(IP).status


@pytest.mark.slow
def test_agent_liveliness_and_work_end_to_end(running_node: RunningNode, tmp_path: Path) -> None:
    url = running_node.url
    with Client(url, key=ADMIN_KEY) as admin:
        admin.set_config(
            registration_mode="open",
            epoch_seconds=1,
            grace_epochs=2,
            offline_after_epochs=4,
            work_period_seconds=2,
        )
    config = agent_config(tmp_path, url)
    log = tmp_path / "agent.log"
    reader = Client(url)

    # 1. the agent registers its worker and keeps it live
    agent = start_agent(config, log)
    wait_for("registered and answering", lambda: reader.worker(IP).last_seen is not None)
    worker = reader.worker(IP)
    assert worker.worker_public_key == WORKER_KEY.public_key.hex()
    assert worker.status == "live"
    assert reader.urls(model="e2e-model") == ["https://10.7.0.1:21434"]
    time.sleep(3)  # several epochs: still live, answering each
    assert status(reader) == "live"

    # 2. usage lines become one work report per period
    now = time.time()
    lines = [
        {
            "time": now + 0.1,
            "subscriber": "02AA",
            "requests": 2,
            "input_tokens": 20,
            "output_tokens": 30,
        },
        {"time": now + 0.2, "subscriber": "02bb", "input_tokens": 5},
    ]
    (tmp_path / "usage.jsonl").write_text("\n".join(json.dumps(x) for x in lines) + "\nnot json\n")
    wait_for(
        "work reported",
        lambda: any(t["requests"] == 3 for t in reader.work_totals("worker", ip_address=IP)),
        timeout=15,
    )
    reported = reader.work_reports(ip_address=IP)
    period = next(r["period"] for r in reported if r["usage"])
    with Client(url, key=WORKER_KEY) as worker_client, pytest.raises(TxFailed) as err:
        worker_client.report_work(IP, period, [], worker_key=WORKER_KEY)
    assert err.value.code == "report_already_filed"  # never counted twice

    # 3. stopped, the worker goes stale, then offline, and is no longer served
    agent.send_signal(signal.SIGTERM)
    assert agent.wait(timeout=15) == 0
    assert "agent stopped" in log.read_text()
    wait_for("stale", lambda: status(reader) == "stale")
    assert reader.urls(model="e2e-model") == []
    assert reader.worker(IP).not_served_because == ["not_live:stale"]
    wait_for("offline", lambda: status(reader) == "offline")

    # 4. restarted, it is live again and served again
    agent = start_agent(config, log)
    wait_for("live again", lambda: status(reader) == "live")
    assert reader.urls(model="e2e-model") == ["https://10.7.0.1:21434"]

    # 5. the node goes down: the agent backs off and keeps its reports on disk
    stop(running_node.process)
    later = time.time() + 0.5
    with (tmp_path / "usage.jsonl").open("a") as handle:
        handle.write(json.dumps({"time": later, "subscriber": "02cc", "requests": 7}) + "\n")
    pending = tmp_path / "state" / "pending"
    wait_for(
        "a report queued while the node is down",
        lambda: any("02cc" in p.read_text() for p in pending.glob("*.json")),
        timeout=15,
    )
    agent.send_signal(signal.SIGTERM)
    assert agent.wait(timeout=15) == 0
    assert "not answering" in log.read_text()
    assert any("02cc" in p.read_text() for p in pending.glob("*.json"))

    # 6. node and agent back: the pending report is sent and acknowledged
    running_node.process = start_serve(
        ["--home", str(running_node.home)], os.environ.copy(), tmp_path / "serve2.log", url
    )
    agent = start_agent(config, log)
    wait_for(
        "the queued report arrives",
        lambda: any(
            t["key"] == "02cc" and t["requests"] == 7
            for t in reader.work_totals("subscriber", ip_address=IP)
        ),
        timeout=20,
    )
    wait_for("the pending file is gone", lambda: not list(pending.glob("*.json")))
    agent.send_signal(signal.SIGTERM)
    assert agent.wait(timeout=15) == 0
    reader.close()
