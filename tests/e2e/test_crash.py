"""``kill -9`` under load: every tx acknowledged in ``commit`` mode survives, exactly once,
and ``worker-manager verify`` agrees with the state after each restart.

CI runs a short variant (``WM_CRASH_CYCLES``, default 2 cycles of about a second of
load each); raise it locally for the long one, e.g. ``WM_CRASH_CYCLES=20``.
"""

import base64
import json
import os
import random
import signal
import threading
import time
from pathlib import Path

import httpx

from tests.conftest import ADMIN_KEY, key
from tests.e2e.conftest import RunningNode, cli, start_serve
from worker_manager.keys import PrivateKey
from worker_manager.node.deliver import account_number_for
from worker_manager.tx import build_execute_tx

CYCLES = int(os.environ.get("WM_CRASH_CYCLES", "2"))
SENDERS = 6


class Sender(threading.Thread):
    """Registers workers one signed tx at a time, in commit mode, until told to stop;
    keeps the hash of every tx the node acknowledged as committed."""

    def __init__(self, node: RunningNode, index: int, private_key: PrivateKey) -> None:
        super().__init__(daemon=True)
        self.node = node
        self.index = index  # distinct per sender and cycle: every address is new
        self.key = private_key
        self.acknowledged: list[str] = []
        self.stopping = threading.Event()
        self.info = node.info

    def run(self) -> None:
        with httpx.Client(base_url=self.node.url, timeout=10) as client:
            while not self.stopping.is_set():
                try:
                    sequence = client.get(f"/v1/accounts/{self.key.address}").json()["sequence"]
                    n = len(self.acknowledged)
                    msg = {
                        "register_worker": {
                            "ip_address": f"w{self.index}-{n}.crash.example",
                            "payment_wallet": self.key.address,
                            "attestation_report": "quote",
                            "worker_type": "crash-test",
                        }
                    }
                    tx = build_execute_tx(
                        self.key,
                        str(self.info["contract_address"]),
                        json.dumps(msg).encode(),
                        chain_id=str(self.info["chain_id"]),
                        account_number=account_number_for(self.key.address),
                        sequence=sequence,
                    )
                    body = {"tx_bytes": base64.b64encode(tx).decode(), "mode": "commit"}
                    answer = client.post("/v1/txs", json=body)
                except (httpx.TransportError, ValueError, KeyError):
                    time.sleep(0.05)  # the node is down or restarting: try again
                    continue
                if answer.status_code == 200 and answer.json()["code"] == 0:
                    self.acknowledged.append(answer.json()["txhash"])
                else:
                    time.sleep(0.01)


def _load(node: RunningNode, cycle: int, seconds: float) -> list[Sender]:
    senders = [Sender(node, cycle * SENDERS + i, key(f"crash-{i}")) for i in range(SENDERS)]
    for sender in senders:
        sender.start()
    time.sleep(seconds)
    return senders


def test_kill_9_under_load_loses_no_acknowledged_tx(running_node: RunningNode) -> None:
    node = running_node
    with httpx.Client(base_url=node.url) as client:
        from worker_manager.client import Client

        with Client(node.url, key=ADMIN_KEY) as admin:
            admin.set_config(registration_mode="open")
        acknowledged: list[str] = []
        rng = random.Random(20261130)
        for cycle in range(CYCLES):
            senders = _load(node, cycle, 0.4 + rng.random())
            node.process.send_signal(signal.SIGKILL)
            node.process.wait()
            for sender in senders:
                sender.stopping.set()
            for sender in senders:
                sender.join(15)
                acknowledged += sender.acknowledged
            log_path = node.log_path.with_name(f"serve-{cycle}.log")
            node.process = start_serve(
                ["--home", str(node.home)], os.environ.copy(), log_path, node.url
            )
            for txhash in acknowledged:
                found = client.get(f"/v1/txs/{txhash}")
                assert found.status_code == 200, f"acknowledged tx {txhash} was lost"
                assert found.json()["code"] == 0
        workers = client.get("/v1/info").json()["workers"]
    assert len(acknowledged) == len(set(acknowledged)) >= 10 * CYCLES
    # every committed registration is there once: one worker per acknowledged tx, or more
    # (a tx whose answer the kill cut off may have committed without being acknowledged)
    assert workers >= len(acknowledged)
    report = json.loads(cli("verify", "--home", str(Path(node.home)), "--json").stdout)
    assert report["ok"] is True, report["mismatches"]
    print(
        f"crash test: {CYCLES} kill -9 under load, {len(acknowledged)} txs acknowledged "
        f"(commit mode), 0 lost, {workers} workers committed, verify: ok "
        f"({report['blocks']} blocks, {report['txs']} txs replayed)"
    )
