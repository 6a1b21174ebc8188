"""Real ``worker-manager`` processes: init a home, serve it on a free port, wait for it."""

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import ADMIN

STARTUP_TIMEOUT_S = 30


def cli(
    *args: str, env: dict[str, str] | None = None, check: bool = True, input_text: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the real command line in a child process."""
    result = subprocess.run(
        [sys.executable, "-m", "worker_manager", *args],
        capture_output=True,
        text=True,
        env=env or os.environ.copy(),
        input=input_text,
        timeout=120,
        check=False,
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"worker-manager {' '.join(args)} exited {result.returncode}\n"
            f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
        )
    return result


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class RunningNode:
    home: Path
    url: str
    process: subprocess.Popen[str]
    info: dict[str, object]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text()


def start_serve(
    args: list[str],
    env: dict[str, str],
    log_path: Path,
    url: str,
    *,
    python: tuple[str, ...] = ("-m", "worker_manager"),
) -> subprocess.Popen[str]:
    """Run ``serve ARGS`` (``python`` says how the interpreter starts the package) and wait
    until it answers ``/healthz``; fail with its log if it exits or does not answer."""
    with log_path.open("w") as log:  # the child keeps its own copy of the descriptor
        process = subprocess.Popen(
            [sys.executable, *python, "serve", *args],
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while True:
        if process.poll() is not None:
            raise AssertionError(f"serve exited {process.returncode}:\n{log_path.read_text()}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return process
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            process.kill()
            raise AssertionError(f"serve did not answer in time:\n{log_path.read_text()}")
        time.sleep(0.05)


def stop(process: subprocess.Popen[str]) -> int:
    process.terminate()
    try:
        return process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.wait()


@pytest.fixture
def home_database(request: pytest.FixtureRequest, engine: str) -> list[str]:
    """``init``'s database options for ``engine``: none for SQLite (the home's own file),
    an empty database on the test PostgreSQL server otherwise."""
    if engine == "sqlite":
        return []
    return ["--database-url", request.getfixturevalue("empty_database_url")]


@pytest.fixture
def running_node(tmp_path: Path, home_database: list[str]) -> Iterator[RunningNode]:
    """``init`` then ``serve`` a fresh home on a free port, on each engine."""
    home = tmp_path / "home"
    port = free_port()
    cli(
        "init",
        "--home",
        str(home),
        "--chain-id",
        "wm-e2e-1",
        "--admin",
        ADMIN,
        "--port",
        str(port),
        *home_database,
    )
    info = json.loads(cli("info", "--home", str(home), "--json").stdout)
    url = str(info["lcd_url"])
    log_path = tmp_path / "serve.log"
    process = start_serve(["--home", str(home)], os.environ.copy(), log_path, url)
    running = RunningNode(home, url, process, info, log_path)
    try:
        yield running
    finally:
        stop(running.process)  # a test may have restarted it
