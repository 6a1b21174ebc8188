"""The write paths: signed ``report_liveliness`` answers (the design load: every
worker answers each epoch's challenge) with new and with known accounts, and signed
``register_worker`` txs. Every tx is signed beforehand, each by its own key, and
posted with wrk; the rate is what the node committed during the run."""

import base64
import hashlib
import json
import sqlite3
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench import _references
from bench._harness import BenchNode, bench_node, rss_mb
from bench._population import populate, worker_address
from bench._wrk import wrk
from worker_manager.keys import PrivateKey
from worker_manager.node.deliver import account_number_for
from worker_manager.tx import build_execute_tx


def _signed(key: PrivateKey, node: BenchNode, msg: dict[str, Any]) -> str:
    tx = build_execute_tx(
        key,
        str(node.info["contract_address"]),
        json.dumps(msg).encode(),
        chain_id=str(node.info["chain_id"]),
        account_number=account_number_for(key.address),
        sequence=0,
    )
    return json.dumps({"tx_bytes": base64.b64encode(tx).decode()})


#: the answer to an accepted tx: {"txhash": ..., "code": 0, "status": "queued"}
ACCEPT_ANSWER_BYTES = len('{"txhash":"%s","code":0,"status":"queued"}' % ("0" * 64))


def _post_all(node: BenchNode, bodies: Path, seconds: float, connections: int) -> dict[str, Any]:
    return wrk(
        node.url, seconds=seconds, connections=connections, script="wrk_lines.lua",
        args=(str(bodies), "POST", "/v1/txs"),
    )  # fmt: skip


def _bodies_file(directory: Path, bodies: list[str]) -> Path:
    path = directory / "bodies.jsonl"
    path.write_text("\n".join(bodies) + "\n")
    return path


def liveliness(
    workers: int,
    seconds: float,
    connections: int,
    *,
    known_accounts: bool,
    processes: int,
    with_reference: bool = False,
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """Committed ``report_liveliness`` txs per second, each worker signing its own; and,
    ``with_reference``, a bare Starlette app's req/s for the same POSTs."""
    admin = PrivateKey(b"\x01" * 32).address
    keys: list[PrivateKey] = []

    def prepare(home: Path) -> None:
        keys.extend(
            populate(home, workers, models=10, with_keys=True, known_accounts=known_accounts)
        )

    with (
        tempfile.TemporaryDirectory() as tmp,
        bench_node(
            admin,
            init_args=("--epoch-seconds", "3600"),
            serve_args=("--workers", str(processes)),
            prepare=prepare,
        ) as node,
    ):
        challenge = httpx.get(f"{node.url}/v1/liveliness/challenge").json()["challenge"]
        signed_from = time.perf_counter()
        bodies = _bodies_file(Path(tmp), [
            _signed(key, node, {"report_liveliness": {
                "ip_address": worker_address(i), "challenge": challenge, "load": 10}})
            for i, key in enumerate(keys)
        ])  # fmt: skip
        presign_s = time.perf_counter() - signed_from
        db = sqlite3.connect(f"file:{node.home / 'worker-manager.db'}?mode=ro", uri=True)
        query = "SELECT count(*) FROM workers WHERE last_seen_epoch IS NOT NULL"
        before = db.execute(query).fetchone()[0]
        started = time.perf_counter()
        accepted = _post_all(node, bodies, seconds, connections)
        time.sleep(0.5)  # the last blocks commit
        elapsed = time.perf_counter() - started
        committed = db.execute(query).fetchone()[0] - before
        db.close()
        rss = rss_mb(node.process.pid, with_children=True)
        node.process.terminate()
        node.process.wait(30)
        reference = None
        if with_reference:
            reference = _references.bare_run(
                ACCEPT_ANSWER_BYTES, seconds, connections, script="wrk_lines.lua",
                args=(str(bodies), "POST", "/v1/txs"),
            )  # fmt: skip
    if committed >= workers:
        print(f"warning: all {workers} workers answered; the run was shorter than measured")
    return {
        "workers": workers,
        "known_accounts": known_accounts,
        "node_processes": processes,
        "seconds": round(elapsed, 2),
        "committed": committed,
        "tx_per_s": round(committed / elapsed, 1),
        "accepted": accepted,
        "node_rss_mb": round(rss, 1),
        "presign_s": round(presign_s, 1),
        "start_s": round(node.start_s, 2),
    }, reference


def registration(txs: int, seconds: float, connections: int) -> dict[str, Any]:
    """Committed ``register_worker`` txs per second, one new account each (open mode)."""
    admin = PrivateKey(hashlib.sha256(b"bench admin").digest()).address
    with bench_node(admin, registration_mode="open") as node, tempfile.TemporaryDirectory() as tmp:
        bodies = []
        for i in range(txs):
            key = PrivateKey(hashlib.sha256(f"bench sender {i}".encode()).digest())
            bodies.append(
                _signed(
                    key,
                    node,
                    {
                        "register_worker": {
                            "ip_address": worker_address(i),
                            "payment_wallet": key.address,
                            "attestation_report": "00" * 64,
                            "worker_type": f"model-{i % 8}",
                        }
                    },
                )
            )
        before = httpx.get(f"{node.url}/v1/info").json()
        started = time.perf_counter()
        accepted = _post_all(node, _bodies_file(Path(tmp), bodies), seconds, connections)
        time.sleep(0.5)
        after = httpx.get(f"{node.url}/v1/info").json()
        elapsed = time.perf_counter() - started
    committed = after["workers"] - before["workers"]
    if committed >= txs:
        print(f"warning: all {txs} pre-signed registrations were used; the run ran dry")
    return {
        "seconds": round(elapsed, 2),
        "committed": committed,
        "tx_per_s": round(committed / elapsed, 1),
        "blocks": after["height"] - before["height"],
        "accepted": accepted,
    }
