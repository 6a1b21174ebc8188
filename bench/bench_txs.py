"""Signed txs per second through one node: checked, queued and committed in blocks.

Every tx is signed beforehand, each by its own account (the pattern of workers
answering a liveliness challenge: many signers, one tx each), and posted with
``wrk`` (``apt-get install wrk``) so the load generator measures the node, not
itself. The rate is what the node committed during the run. Prints JSON with the
target beside the figure.
"""

import argparse
import base64
import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import bench_node, rss_mb

from worker_manager.keys import PrivateKey
from worker_manager.node.deliver import account_number_for
from worker_manager.tx import build_execute_tx

TARGET_TPS = 1700
HERE = Path(__file__).resolve().parent


def sign_register_txs(contract: str, chain_id: str, count: int) -> list[str]:
    """One register_worker tx per new account (sequence 0), as JSON bodies for /v1/txs."""
    bodies = []
    for i in range(count):
        key = PrivateKey(hashlib.sha256(f"bench sender {i}".encode()).digest())
        msg = {
            "register_worker": {
                "ip_address": f"10.{i // 62500}.{i // 250 % 250}.{i % 250 + 1}",
                "payment_wallet": key.address,
                "attestation_report": "00" * 64,
                "worker_type": f"model-{i % 8}",
            }
        }
        tx = build_execute_tx(
            key,
            contract,
            json.dumps(msg).encode(),
            chain_id=chain_id,
            account_number=account_number_for(key.address),
            sequence=0,
        )
        bodies.append(json.dumps({"tx_bytes": base64.b64encode(tx).decode(), "mode": "sync"}))
    return bodies


def run_wrk(url: str, bodies_file: Path, *, seconds: int, connections: int, threads: int) -> str:
    wrk = shutil.which("wrk")
    if wrk is None:
        raise SystemExit("wrk is not installed: apt-get install wrk")
    return subprocess.run(
        [
            wrk,
            "-t",
            str(threads),
            "-c",
            str(connections),
            "-d",
            f"{seconds}s",
            "--latency",
            "-s",
            str(HERE / "wrk_txs.lua"),
            url,
            "--",
            str(bodies_file),
            str(threads),
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--txs", type=int, default=40_000, help="pre-signed txs (upper bound)")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    admin = PrivateKey(hashlib.sha256(b"bench admin").digest()).address
    with bench_node(admin, registration_mode="open") as node, tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        bodies = sign_register_txs(
            str(node.info["contract_address"]), str(node.info["chain_id"]), args.txs
        )
        signing_s = time.perf_counter() - t0
        bodies_file = Path(tmp) / "bodies.jsonl"
        bodies_file.write_text("\n".join(bodies) + "\n")
        before = httpx.get(f"{node.url}/v1/info").json()
        start = time.perf_counter()
        report = run_wrk(
            node.url,
            bodies_file,
            seconds=args.seconds,
            connections=args.connections,
            threads=args.threads,
        )
        # let the last blocks commit
        time.sleep(0.5)
        after = httpx.get(f"{node.url}/v1/info").json()
        elapsed = time.perf_counter() - start
        rss = rss_mb(node.process.pid)
    committed = after["workers"] - before["workers"]
    if committed >= args.txs:
        print(
            "warning: every pre-signed tx was used; raise --txs for a full-length run",
            file=sys.stderr,
        )
    latency = [line.strip() for line in report.splitlines() if "%" in line and "ms" in line]
    print(
        json.dumps(
            {
                "benchmark": "register_worker, signed, one account per tx, SQLite, one node",
                "seconds": round(elapsed, 1),
                "committed_txs": committed,
                "tx_per_s": round(committed / elapsed),
                "target_tx_per_s": TARGET_TPS,
                "meets_target": committed / elapsed >= TARGET_TPS,
                "blocks": after["height"] - before["height"],
                "mean_txs_per_block": round(
                    committed / max(1, after["height"] - before["height"]), 1
                ),
                "accept_latency": latency[:4],
                "node_rss_mb": round(rss, 1),
                "presign_s": round(signing_s, 1),
                "wrk": f"-t{args.threads} -c{args.connections} -d{args.seconds}s",
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
