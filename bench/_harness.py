"""Shared bench helpers: a real node process in a temporary home."""

import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx


@dataclass
class BenchNode:
    home: Path
    url: str
    info: dict[str, object]
    process: subprocess.Popen[bytes]
    #: seconds from ``serve`` to its first healthy answer
    start_s: float
    database_url: str


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cli(*args: str) -> str:
    return subprocess.run(
        [sys.executable, "-m", "worker_manager", *args],
        check=True,
        capture_output=True,
        text=True,
    ).stdout


@contextlib.contextmanager
def bench_node(
    admin: str,
    *,
    registration_mode: str = "admin",
    log_level: str = "warning",
    init_args: tuple[str, ...] = (),
    serve_args: tuple[str, ...] = (),
    prepare: Callable[[Path], object] | None = None,
    database_url: str | None = None,
) -> Iterator[BenchNode]:
    """A served node in a temporary home; ``prepare(home)`` runs between init and serve.

    ``database_url``: a PostgreSQL database for the node (default: SQLite in the home)."""
    with tempfile.TemporaryDirectory(prefix="wm-bench-") as tmp:
        home = Path(tmp) / "home"
        port = _free_port()
        _cli(
            "init",
            "--home",
            str(home),
            "--chain-id",
            "wm-bench-1",
            "--admin",
            admin,
            "--port",
            str(port),
            "--registration-mode",
            registration_mode,
            *(("--database-url", database_url) if database_url else ()),
            *init_args,
        )
        # one load generator stands for many clients: no per-address rate limit
        with (home / "config.toml").open("a") as config:
            config.write("\n[limits]\ntx_rate_per_client = 0\n")
        if prepare is not None:
            prepare(home)
        info = json.loads(_cli("info", "--home", str(home), "--json"))
        url = str(info["lcd_url"])
        log = (Path(tmp) / "serve.log").open("wb")
        started = time.perf_counter()
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "worker_manager",
                "serve",
                "--home",
                str(home),
                "--log-level",
                log_level,
                *serve_args,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=os.environ.copy(),
        )
        try:
            deadline = time.monotonic() + 120
            while True:
                try:
                    if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError(
                        f"bench node did not start: {(Path(tmp) / 'serve.log').read_text()}"
                    )
                time.sleep(0.02)
            start_s = time.perf_counter() - started
            if "--workers" in serve_args:  # /healthz answers once the first process is up
                time.sleep(6)
            yield BenchNode(
                home,
                url,
                info,
                process,
                start_s,
                database_url or f"sqlite:///{home / 'worker-manager.db'}",
            )
        finally:
            process.terminate()
            process.wait(30)
            log.close()


def child_pids(pid: int) -> list[int]:
    """The direct children of ``pid`` (``serve --workers N``'s node processes), from /proc."""
    children = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                children.append(int(entry.name))
    return children


def rss_mb(pid: int, *, with_children: bool = False) -> float:
    """Resident memory of a process (and its children), from /proc (Linux)."""
    total = 0.0
    for each in [pid, *(child_pids(pid) if with_children else [])]:
        for line in Path(f"/proc/{each}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1]) / 1024
    return total


def database_mb(node: BenchNode) -> float:
    """The node's database on disk: the SQLite file (and its WAL) or the PostgreSQL database."""
    if node.database_url.startswith("sqlite"):
        base = node.home / "worker-manager.db"
        files = [base, base.with_name(base.name + "-wal")]
        return sum(f.stat().st_size for f in files if f.exists()) / 2**20
    import psycopg

    dsn = node.database_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn) as conn:
        row = conn.execute("SELECT pg_database_size(current_database())").fetchone()
    return float(row[0]) / 2**20 if row else 0.0
