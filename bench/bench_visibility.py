"""Cross-node visibility: how soon node B's answers show a tx node A committed.

Two homes on one database (``init`` a, ``join`` b), each served by its own process.
Each of ``--txs`` registrations is sent to A in commit mode (the answer comes once
it is durable); from that moment B's ``/v1/info`` is polled every millisecond until
its height reaches the tx's block. On PostgreSQL B hears each block at once
(LISTEN/NOTIFY); on SQLite (homes of one machine sharing one file) it looks at the
stored head every 50 ms.

Run: ``python bench/bench_visibility.py --engine postgresql`` (starts its own
PostgreSQL server with the machine's initdb/pg_ctl, as the tests do).
"""

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _harness import _cli, _free_port  # noqa: E402

from worker_manager.client import Client  # noqa: E402
from worker_manager.keys import PrivateKey  # noqa: E402


@contextlib.contextmanager
def database(engine: str, tmp: Path) -> Iterator[list[str]]:
    if engine == "sqlite":
        yield ["--database-url", f"sqlite:///{tmp / 'shared.db'}"]
        return
    from tests.postgres import PostgresServer

    server = PostgresServer(durable=True).start()
    try:
        yield ["--database-url", server.create_database("wm_bench")]
    finally:
        server.stop()


@contextlib.contextmanager
def served(home: Path, log: Path, url: str) -> Iterator[None]:
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "worker_manager", "serve", "--home", str(home),
             "--log-level", "warning"],
            stdout=out, stderr=subprocess.STDOUT, env=os.environ.copy(),
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError(f"node did not start: {log.read_text()}")
            time.sleep(0.05)
        yield
    finally:
        process.terminate()
        process.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--engine", choices=["postgresql", "sqlite"], default="postgresql")
    parser.add_argument("--txs", type=int, default=1000)
    args = parser.parse_args()
    admin = PrivateKey(b"\x01" * 32)
    with tempfile.TemporaryDirectory(prefix="wm-bench-") as tmp_name:
        tmp = Path(tmp_name)
        with database(args.engine, tmp) as db:
            a, b = tmp / "a", tmp / "b"
            port_a, port_b = _free_port(), _free_port()
            _cli("init", "--home", str(a), "--chain-id", "wm-bench-1", "--admin", admin.address,
                 "--port", str(port_a), *db)  # fmt: skip
            _cli("join", "--home", str(b), "--port", str(port_b), *db,
                 "--node-seed-file", str(a / "secrets" / "node.seed"))  # fmt: skip
            url_a, url_b = f"http://127.0.0.1:{port_a}", f"http://127.0.0.1:{port_b}"
            delays: list[float] = []
            with (
                served(a, tmp / "a.log", url_a),
                served(b, tmp / "b.log", url_b),
                Client(url_a, key=admin) as client,
                httpx.Client() as poll,
            ):
                for i in range(args.txs):
                    ip = f"10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}"
                    result = client.register_worker(ip, admin.address, "quote", "m")
                    seen = time.perf_counter()
                    while poll.get(f"{url_b}/v1/info").json()["height"] < result.height:
                        time.sleep(0.001)
                    delays.append((time.perf_counter() - seen) * 1000)
    delays.sort()
    print(
        json.dumps(
            {
                "benchmark": "cross-node visibility: commit answer on A to B's /v1/info height",
                "engine": args.engine,
                "txs": len(delays),
                "median_ms": round(statistics.median(delays), 2),
                "p99_ms": round(delays[int(len(delays) * 0.99) - 1], 2),
                "worst_ms": round(delays[-1], 2),
                "bound_ms": 1000,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
