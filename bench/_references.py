"""The references every figure is measured beside, in the same run: a bare Starlette
app returning constant bytes of the same size, and etcd (one member, durable, its
JSON gateway) for durable writes and reads."""

import base64
import contextlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from bench._harness import _free_port
from bench._wrk import wrk

HERE = Path(__file__).resolve().parent


def _wait(url: str, process: subprocess.Popen[bytes], what: str, **request: object) -> None:
    deadline = time.monotonic() + 30
    while True:
        with contextlib.suppress(httpx.TransportError):
            if httpx.request(url=url, timeout=1, **request).status_code == 200:  # type: ignore[arg-type]
                return
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not start")
        time.sleep(0.05)


@contextlib.contextmanager
def bare_starlette(body_bytes: int) -> Iterator[str]:
    """A bare Starlette app on uvicorn answering ``body_bytes`` constant bytes."""
    port = _free_port()
    env = {**os.environ, "BARE_BODY_BYTES": str(body_bytes)}
    process = subprocess.Popen([sys.executable, str(HERE / "_bare_app.py"), str(port)], env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait(f"{url}/v1/urls", process, "the bare Starlette app", method="GET")
        yield url
    finally:
        process.terminate()
        process.wait(10)


def bare_run(
    body_bytes: int,
    seconds: float,
    connections: int,
    *,
    script: str | None = None,
    args: tuple[str, ...] = (),
) -> dict[str, Any]:
    """The bare app's req/s and latency for the same wrk load as a node path (the same
    requests, the same answer size), after a short warm-up."""
    with bare_starlette(body_bytes) as url:
        target = url if script else f"{url}/v1/urls"
        wrk(target, seconds=1, connections=connections, script=script, args=args)
        result = wrk(target, seconds=seconds, connections=connections, script=script, args=args)
    return {**result, "body_bytes": body_bytes}


@contextlib.contextmanager
def etcd_server() -> Iterator[str]:
    """One etcd member (Debian's ``etcd-server``) in a temporary directory: durable,
    every put synced to its write-ahead log before it answers."""
    binary = shutil.which("etcd")
    if binary is None:
        raise SystemExit("etcd is not installed: apt-get install etcd-server")
    client, peer = _free_port(), _free_port()
    with tempfile.TemporaryDirectory(prefix="wm-bench-etcd-") as tmp:
        log = (Path(tmp) / "etcd.log").open("wb")
        process = subprocess.Popen(
            [
                binary,
                "--name",
                "bench",
                "--data-dir",
                str(Path(tmp) / "data"),
                "--listen-client-urls",
                f"http://127.0.0.1:{client}",
                "--advertise-client-urls",
                f"http://127.0.0.1:{client}",
                "--listen-peer-urls",
                f"http://127.0.0.1:{peer}",
                "--initial-advertise-peer-urls",
                f"http://127.0.0.1:{peer}",
                "--initial-cluster",
                f"bench=http://127.0.0.1:{peer}",
                "--log-level",
                "error",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{client}"
        try:
            _wait(f"{url}/v3/kv/range", process, "etcd", method="POST", json={"key": "eA=="})
            yield url
        finally:
            process.terminate()
            process.wait(30)
            log.close()


def etcd_runs(seconds: float, connections: int, value_bytes: int) -> dict[str, dict[str, Any]]:
    """etcd's durable puts (a new key each) and its reads of one key, per second."""
    with etcd_server() as url, tempfile.TemporaryDirectory() as tmp:
        put: dict[str, Any] = {"value_bytes": value_bytes}
        wrk(
            url,
            seconds=1,
            connections=connections,
            script="wrk_etcd_put.lua",
            args=(str(value_bytes),),
        )
        put.update(
            wrk(
                url,
                seconds=seconds,
                connections=connections,
                script="wrk_etcd_put.lua",
                args=(str(value_bytes),),
            )
        )
        key = base64.b64encode(b"worker/000000000001").decode()
        bodies = Path(tmp) / "range.jsonl"
        bodies.write_text(f'{{"key":"{key}"}}\n')
        args = (str(bodies), "POST", "/v3/kv/range")
        wrk(url, seconds=1, connections=connections, script="wrk_lines.lua", args=args)
        read = wrk(url, seconds=seconds, connections=connections, script="wrk_lines.lua", args=args)
    return {"etcd_put": put, "etcd_range": read}


def combined(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Several short wrk runs as one: mean req/s, median latencies, summed counts."""
    return {
        "req_per_s": round(statistics.fmean(r["req_per_s"] for r in runs), 1),
        "requests": sum(r["requests"] for r in runs),
        "p50_ms": statistics.median(r["p50_ms"] for r in runs),
        "p99_ms": statistics.median(r["p99_ms"] for r in runs),
        "non_2xx": sum(r["non_2xx"] for r in runs),
        "socket_errors": sum(r["socket_errors"] for r in runs),
        "rounds": len(runs),
    }


def side_by_side(
    node_url: str,
    body_bytes: int,
    seconds: float,
    connections: int,
    *,
    rounds: int,
    args: tuple[str, ...],
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The node and a bare app answering the same requests, measured in turns
    (``rounds`` of ``seconds / rounds`` each), so that a machine whose speed drifts
    during the run (shared cores, turbo, neighbours) drifts for both alike."""
    script = "wrk_lines.lua"
    with bare_starlette(body_bytes) as bare_url:
        for url in (node_url, bare_url):  # warm both
            wrk(url, seconds=max(1, seconds / 3), connections=connections, script=script, args=args)
        node_runs, bare_runs = [], []
        share = max(1.0, seconds / rounds)
        for _ in range(rounds):
            node_runs.append(
                wrk(node_url, seconds=share, connections=connections, script=script, args=args)
            )
            bare_runs.append(
                wrk(bare_url, seconds=share, connections=connections, script=script, args=args)
            )
    return combined(node_runs), {**combined(bare_runs), "body_bytes": body_bytes}
