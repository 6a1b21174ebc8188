"""GET /v1/urls at 100 and 100,000 workers, beside a bare Starlette app serving the
same number of bytes, measured in one run with wrk (``apt-get install wrk``).

Targets (DESIGN section 9): at least half the bare app's requests per second, and
p99 latency at 100,000 workers no more than twice p99 at 100. Subscribers cycle
through 1000 keys, so the node serves 1000 buckets' ready answers.
"""

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import bench_node, rss_mb
from _population import populate

from worker_manager.keys import PrivateKey

HERE = Path(__file__).resolve().parent


def wrk(url: str, seconds: int, connections: int, script: Path | None, *args: str) -> dict:
    binary = shutil.which("wrk") or sys.exit("wrk is not installed: apt-get install wrk")
    command = [binary, "-t1", f"-c{connections}", f"-d{seconds}s", "--latency"]
    if script is not None:
        command += ["-s", str(script)]
    out = subprocess.run(
        [*command, url, "--", *args], check=True, capture_output=True, text=True
    ).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]

    def ms(label: str) -> float:
        match = re.search(rf"{label}%\s+([\d.]+)(us|ms|s)", out)
        assert match, out
        value, unit = float(match.group(1)), match.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "req_per_s": round(rate),
        "p50_ms": ms("50"),
        "p99_ms": ms("99"),
        "errors": int(non2xx.group(1)) if non2xx else 0,
    }


def node_run(workers: int, seconds: int, connections: int) -> tuple[dict, int]:
    admin = PrivateKey(b"\x02" * 32).address
    with bench_node(
        admin, prepare=lambda home: populate(home, workers, models=10, with_keys=False)
    ) as node:
        sample = httpx.get(
            f"{node.url}/v1/urls", params={"model": "model-3", "subscriber": "02" + "00" * 32}
        )
        size = len(sample.content)
        wrk(node.url, 3, connections, HERE / "wrk_urls.lua", "model-3", "1000")  # warm up
        result = wrk(node.url, seconds, connections, HERE / "wrk_urls.lua", "model-3", "1000")
        result["rss_mb"] = round(rss_mb(node.process.pid), 1)
        result["answer_bytes"] = size
        result["urls"] = len(sample.json()["urls"])
    return result, size


def bare_run(size: int, seconds: int, connections: int) -> dict:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "BARE_BODY_BYTES": str(size)}
    process = subprocess.Popen([sys.executable, str(HERE / "_bare_app.py"), str(port)], env=env)
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                httpx.get(f"{url}/v1/urls", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.05)
        wrk(f"{url}/v1/urls", 3, connections, None)
        return wrk(f"{url}/v1/urls", seconds, connections, None)
    finally:
        process.terminate()
        process.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=64)
    args = parser.parse_args()
    small, size = node_run(100, args.seconds, args.connections)
    large, _ = node_run(100_000, args.seconds, args.connections)
    bare = bare_run(size, args.seconds, args.connections)
    print(
        json.dumps(
            {
                "benchmark": "GET /v1/urls?model=&subscriber= (1000 subscribers), wrk -c64",
                "bare_starlette": bare,
                "node_100_workers": small,
                "node_100000_workers": large,
                "share_of_bare_at_100000": round(large["req_per_s"] / bare["req_per_s"], 2),
                "target_share": 0.5,
                "p99_ratio_100000_vs_100": round(large["p99_ms"] / max(small["p99_ms"], 0.001), 2),
                "target_p99_ratio": 2.0,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
