"""Signed report_liveliness txs per second through one node, with N workers registered.

Each worker answers this epoch's challenge once, signed by its own worker key,
which also signs the Cosmos tx (the pattern of 100,000 workers answering a
60-second challenge: about 1,700 tx/s). Every answer is signed beforehand and
posted with ``wrk`` (``apt-get install wrk``); the rate is what the node committed.
"""

import argparse
import base64
import json
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import bench_node, rss_mb
from _population import populate, worker_address
from bench_urls import bare_run

from worker_manager.keys import PrivateKey
from worker_manager.node.deliver import account_number_for
from worker_manager.tx import build_execute_tx

TARGET_TPS = 1700
#: DESIGN section 9: committed liveliness txs from new accounts, as a share of a bare
#: Starlette app's req/s measured in the same run (0.11 with accounts the node has seen).
TARGET_SHARE_NEW_ACCOUNTS = 0.055
HERE = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workers", type=int, default=100_000)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument(
        "--processes", type=int, default=1, help="node processes (serve --workers N)"
    )
    args = parser.parse_args()
    admin = PrivateKey(b"\x01" * 32).address
    keys: list[PrivateKey] = []

    def prepare(home: Path) -> None:
        keys.extend(populate(home, args.workers, models=10, with_keys=True))

    started = time.perf_counter()
    with (
        bench_node(
            admin,
            init_args=("--epoch-seconds", "3600"),
            serve_args=("--workers", str(args.processes)),
            prepare=prepare,
        ) as node,
        tempfile.TemporaryDirectory() as tmp,
    ):
        setup_s = time.perf_counter() - started
        contract, chain = str(node.info["contract_address"]), str(node.info["chain_id"])
        challenge = httpx.get(f"{node.url}/v1/liveliness/challenge").json()["challenge"]
        t0 = time.perf_counter()
        bodies = []
        for i, key in enumerate(keys):
            ip = worker_address(i)
            # the worker key signs the tx itself: no second signature in the message
            msg = {"report_liveliness": {"ip_address": ip, "challenge": challenge, "load": 10}}
            tx = build_execute_tx(
                key,
                contract,
                json.dumps(msg).encode(),
                chain_id=chain,
                account_number=account_number_for(key.address),
                sequence=0,
            )
            bodies.append(json.dumps({"tx_bytes": base64.b64encode(tx).decode()}))
        sign_s = time.perf_counter() - t0
        path = Path(tmp) / "bodies.jsonl"
        path.write_text("\n".join(bodies) + "\n")
        db = sqlite3.connect(f"file:{node.home / 'worker-manager.db'}?mode=ro", uri=True)
        count = partial(
            db.execute, "SELECT count(*) FROM workers WHERE last_seen_epoch IS NOT NULL"
        )
        before = count().fetchone()[0]
        start = time.perf_counter()
        wrk = shutil.which("wrk") or sys.exit("wrk is not installed: apt-get install wrk")
        report = subprocess.run(
            [
                wrk,
                "-t1",
                f"-c{args.connections}",
                f"-d{args.seconds}s",
                "--latency",
                "-s",
                str(HERE / "wrk_txs.lua"),
                node.url,
                "--",
                str(path),
                "1",
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        time.sleep(0.5)
        elapsed = time.perf_counter() - start
        committed = count().fetchone()[0] - before
        rss = rss_mb(node.process.pid, with_children=True)
        db.close()
    bare = bare_run(100, 10, args.connections)
    share = committed / elapsed / bare["req_per_s"]
    print(
        json.dumps(
            {
                "benchmark": "report_liveliness, signed by each worker's key, SQLite",
                "node_processes": args.processes,
                "workers": args.workers,
                "seconds": round(elapsed, 1),
                "committed_answers": committed,
                "tx_per_s": round(committed / elapsed),
                "bare_starlette_req_per_s": bare["req_per_s"],
                "share_of_bare": round(share, 3),
                "target_share_of_bare": TARGET_SHARE_NEW_ACCOUNTS,
                "meets_target": share >= TARGET_SHARE_NEW_ACCOUNTS,
                "absolute_floor_tx_per_s": TARGET_TPS,
                "accept_latency": [ln.strip() for ln in report.splitlines() if "%" in ln][:4],
                "http": [
                    ln.strip()
                    for ln in report.splitlines()
                    if ln.strip().startswith(("Non-2xx", "Requests/sec", "Socket errors"))
                ],
                "node_rss_mb": round(rss, 1),
                "setup_s": round(setup_s, 1),
                "presign_s": round(sign_s, 1),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
