"""``serve --workers N``: N node processes on one home and one port, on both engines.

Real processes: txs sent over many connections (so the kernel hands them to
different processes) form one chain; a process killed with ``kill -9`` is started
again while the others serve; SIGTERM stops them all; a parent killed with
``kill -9`` takes its processes with it.
"""

import json
import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.conftest import ADMIN, key
from tests.e2e.conftest import cli, free_port, start_serve, stop
from worker_manager.client import Client

pytestmark = pytest.mark.slow


def node_processes(parent: int) -> set[int]:
    """The pids of ``parent``'s node processes (its children started by spawn, not
    multiprocessing's resource tracker)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == parent and b"spawn_main" in cmdline and b"resource_tracker" not in cmdline:
            found.add(int(entry.name))
    return found


def wait_for(condition: "object", timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def register_many(url: str, sender: int, count: int) -> list[str]:
    """``count`` registrations by one new sender over its own connection (commit mode)."""
    signer = key(f"sender-{sender}")
    with Client(url, key=signer) as client:
        return [
            client.register_worker(
                f"10.1.{sender}.{i}", signer.address, "quote", "llama3.3:70b"
            ).txhash
            for i in range(count)
        ]


@pytest.fixture
def workers_home(tmp_path: Path, home_database: list[str]) -> tuple[Path, str]:
    home = tmp_path / "home"
    port = free_port()
    cli("init", "--home", str(home), "--chain-id", "wm-procs-1", "--admin", ADMIN,
        "--port", str(port), "--registration-mode", "open", *home_database)  # fmt: skip
    return home, f"http://127.0.0.1:{port}"


def test_processes_of_one_home_make_one_chain_and_outlive_a_kill(
    workers_home: tuple[Path, str], tmp_path: Path
) -> None:
    home, url = workers_home
    log = tmp_path / "serve.log"
    process = start_serve(["--home", str(home), "--workers", "2"], os.environ.copy(), log, url)
    try:
        wait_for(lambda: len(node_processes(process.pid)) == 2)
        wait_for(lambda: log.read_text().count("Application startup complete") == 2)
        # 8 senders at once, each on its own connections: both processes take txs
        with ThreadPoolExecutor(8) as pool:
            hashes = [
                h for batch in pool.map(register_many, [url] * 8, range(8), [5] * 8) for h in batch
            ]
        assert len(set(hashes)) == 40
        workers = httpx.get(f"{url}/v1/info").json()["workers"]
        assert workers == 40
        # the log is not a terminal: JSON lines, each naming the node process it came from
        lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
        assert {line.get("process") for line in lines} >= {0, 1}

        victim = min(node_processes(process.pid))
        os.kill(victim, signal.SIGKILL)
        # the other process serves on while the parent starts a new one
        with Client(url, key=key("after-kill")) as client:
            client.register_worker("10.200.0.1", client.address, "quote", "mistral")
        wait_for(lambda: len(node_processes(process.pid) - {victim}) == 2)
        assert f"(pid {victim}) exited with code -9" in log.read_text()
        for tx in hashes:
            assert httpx.get(f"{url}/v1/txs/{tx}").json()["code"] == 0
    finally:
        children = node_processes(process.pid)
        assert stop(process) == 0
    wait_for(lambda: not any(alive(pid) for pid in children), timeout=10)
    report = json.loads(cli("verify", "--home", str(home), "--json").stdout)
    assert report["ok"] is True
    last = json.loads(log.read_text().rstrip().splitlines()[-1])
    assert (last["logger"], last["message"]) == ("worker_manager", "stopped")


@pytest.mark.parametrize("engine", ["sqlite"])
def test_node_processes_stop_when_their_parent_is_killed(
    workers_home: tuple[Path, str], tmp_path: Path
) -> None:
    home, url = workers_home
    process = start_serve(
        ["--home", str(home), "--workers", "2"], os.environ.copy(), tmp_path / "serve.log", url
    )
    wait_for(lambda: len(node_processes(process.pid)) == 2)
    children = node_processes(process.pid)
    process.kill()
    process.wait()
    wait_for(lambda: not any(alive(pid) for pid in children), timeout=15)


def test_a_bad_workers_count_is_a_usage_error(tmp_path: Path) -> None:
    result = cli("serve", "--home", str(tmp_path), "--workers", "0", check=False)
    assert result.returncode == 2
    assert "--workers" in result.stderr
