"""deploy/docker/entrypoint.sh, run for real as the compose services run it, without
Docker: on a real PostgreSQL (an empty database, as the postgres container's), with the
environment compose.yaml gives each node and the command it runs.

node-1's first start creates the chain (``init``); its second start creates nothing and
serves the same chain; node-2 joins that chain with node-1's seed; both serve it at
once. Each node is served on its own port (``WM_PORT``): in compose each has its own
network namespace.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import ADMIN, postgres_database
from tests.deploy.files import ENTRYPOINT, compose, dockerfile, interpolate
from tests.e2e.conftest import cli, free_port
from tests.postgres import PostgresServer

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

STARTUP_TIMEOUT_S = 60


@pytest.fixture
def database(postgres: PostgresServer) -> Iterator[str]:
    with postgres_database(postgres, migrated=False) as url:
        yield url


def _environment(service: str, home: Path, url: str, seed_home: Path | None) -> dict[str, str]:
    """The environment compose.yaml gives ``service``, with the image's ``WM_HOME`` and
    its database, volumes and port made local: this test's home, database and port."""
    env = {**os.environ}
    for name in ("WM_HOME", "WM_DATABASE_URL", "WM_CHAIN_ID", "WM_ADMIN", "WM_NODE_SEED_FILE"):
        env.pop(name, None)
    given = compose()["services"][service]["environment"]
    for name, value in given.items():
        env[name] = interpolate(str(value), {"WM_ADMIN": ADMIN, "WM_DB_PASSWORD": "x"})
    assert dockerfile().env()["WM_HOME"]
    env["WM_HOME"] = str(home)
    env["WM_DATABASE_URL"] = url
    if seed_home is not None:
        mounted = "/mnt/node-1-home"
        assert env["WM_NODE_SEED_FILE"].startswith(mounted + "/")
        env["WM_NODE_SEED_FILE"] = env["WM_NODE_SEED_FILE"].replace(mounted, str(seed_home))
    # the installed worker-manager (the image's /usr/local/bin) comes first on PATH
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["WM_PORT"] = str(free_port())
    return env


class Container:
    """One run of the entrypoint with a service's command, as its container would."""

    def __init__(self, service: str, env: dict[str, str], log: Path, shell: str) -> None:
        self.env = env
        self.log = log
        self.url = f"http://127.0.0.1:{env['WM_PORT']}"
        command = compose()["services"][service]["command"]
        with log.open("w") as out:
            self.process = subprocess.Popen(
                [shell, str(ENTRYPOINT), *command],
                env=env, stdout=out, stderr=subprocess.STDOUT, text=True,
            )  # fmt: skip
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while True:
            if self.process.poll() is not None:
                raise AssertionError(f"exited {self.process.returncode}:\n{log.read_text()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                self.process.kill()
                raise AssertionError(f"did not answer in time:\n{log.read_text()}")
            time.sleep(0.1)

    def healthcheck(self) -> int:
        """The service's healthcheck command, as Docker runs it in the container."""
        test = compose()["services"]["node-1"]["healthcheck"]["test"]
        assert test[:2] == ["CMD", "python"]
        argv = [sys.executable, *test[2:]]
        return subprocess.run(argv, env=self.env, timeout=30, check=False).returncode

    def stop(self) -> None:
        """``docker stop``: SIGTERM to the entrypoint's process, which exec'd the node."""
        self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise
        assert code == 0, self.log.read_text()


def _info(home: Path, env: dict[str, str]) -> dict[str, object]:
    info = json.loads(cli("info", "--home", str(home), "--json", env=env).stdout)
    assert isinstance(info, dict)
    return info


def _files(home: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(home)): p.read_bytes()
        for p in sorted(home.rglob("*"))
        if p.is_file() and p.name != "serve.lock"
    }


def test_node_1_inits_once_and_node_2_joins(tmp_path: Path, database: str) -> None:
    first_home, second_home = tmp_path / "node-1", tmp_path / "node-2"
    first_home.mkdir(mode=0o700)  # the image's empty volume
    shell = "/bin/sh"  # the script's own interpreter, dash on Debian as in the image
    env_1 = _environment("node-1", first_home, database, None)

    # first start: no home, so the chain is created, then served
    node_1 = Container("node-1", env_1, tmp_path / "node-1.log", shell)
    try:
        assert node_1.healthcheck() == 0
    finally:
        node_1.stop()
    log = (tmp_path / "node-1.log").read_text()
    assert "no home at" in log
    assert "creating the chain" in log
    config = (first_home / "config.toml").read_text()
    assert f'url = "{database}"' in config
    assert 'host = "0.0.0.0"' in config
    assert (first_home / "secrets" / "node.seed").stat().st_size == 32
    assert (first_home.stat().st_mode & 0o777) == 0o700
    info = _info(first_home, env_1)
    assert info["chain_id"] == "worker-manager-1"  # compose's default WM_CHAIN_ID
    assert info["admin"] == ADMIN
    before = _files(first_home)

    # second start (a restart, with bash this time): the home exists, nothing is created
    node_1 = Container("node-1", env_1, tmp_path / "node-1-again.log", "bash")
    log = (tmp_path / "node-1-again.log").read_text()
    assert "no home at" not in log
    assert _files(first_home) == before
    assert _info(first_home, env_1)["contract_address"] == info["contract_address"]

    # node-2, with node-1 serving: joins the chain in the database with node-1's seed
    env_2 = _environment("node-2", second_home, database, first_home)
    assert "WM_CHAIN_ID" not in env_2
    assert "WM_ADMIN" not in env_2
    try:
        node_2 = Container("node-2", env_2, tmp_path / "node-2.log", "bash")
        try:
            assert "joining the chain" in (tmp_path / "node-2.log").read_text()
            assert node_2.healthcheck() == 0
            assert node_1.healthcheck() == 0
            joined = _info(second_home, env_2)
            for field in ("chain_id", "contract_address", "code_hash", "admin"):
                assert joined[field] == info[field], field
            seed = (first_home / "secrets" / "node.seed").read_bytes()
            assert (second_home / "secrets" / "node.seed").read_bytes() == seed
            # both answer the one state: the same height and state hash, read in turn
            nodes = (node_1, node_2)
            for _ in range(20):
                states = [httpx.get(f"{n.url}/v1/state", timeout=10).json() for n in nodes]
                if states[0] == states[1]:
                    break
                time.sleep(0.2)
            assert states[0] == states[1]
        finally:
            node_2.stop()
    finally:
        node_1.stop()

    # node-2 restarted: nothing to create either
    second_before = _files(second_home)
    node_2 = Container("node-2", env_2, tmp_path / "node-2-again.log", "bash")
    node_2.stop()
    assert "no home at" not in (tmp_path / "node-2-again.log").read_text()
    assert _files(second_home) == second_before


def test_a_join_without_the_seed_fails_and_leaves_no_home(tmp_path: Path, database: str) -> None:
    """node-2 started before node-1 made its seed: it exits non-zero with nothing written,
    so its restart (``restart: unless-stopped``) tries the join again."""
    home = tmp_path / "node-2"
    env = _environment("node-2", home, database, tmp_path / "no-node-1")
    command = compose()["services"]["node-2"]["command"]
    result = subprocess.run(
        ["bash", str(ENTRYPOINT), *command], env=env, capture_output=True, text=True,
        timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode != 0
    assert "node-seed-file" in result.stderr
    assert not (home / "config.toml").exists()


def test_init_needs_the_admin(tmp_path: Path) -> None:
    env = _environment("node-1", tmp_path / "node-1", "", None)
    del env["WM_ADMIN"]
    result = subprocess.run(
        ["bash", str(ENTRYPOINT), "serve"], env=env, capture_output=True, text=True,
        timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode != 0
    assert "WM_ADMIN" in result.stderr
    assert not (tmp_path / "node-1").exists()


def test_other_commands_run_as_they_are(tmp_path: Path) -> None:
    """Only ``serve`` creates a home: ``info`` on a volume with none says so, and
    ``--version`` just runs."""
    env = _environment("node-1", tmp_path / "node-1", "", None)
    info = subprocess.run(
        ["bash", str(ENTRYPOINT), "info"], env=env, capture_output=True, text=True,
        timeout=60, check=False,
    )  # fmt: skip
    assert info.returncode != 0
    assert "is not a worker-manager home" in info.stderr
    assert not (tmp_path / "node-1").exists()
    version = subprocess.run(
        ["bash", str(ENTRYPOINT), "--version"], env=env, capture_output=True, text=True,
        timeout=60, check=True,
    )  # fmt: skip
    assert version.stdout.strip()


def test_the_script_is_valid_posix_sh() -> None:
    for shell in ("sh", "bash"):
        subprocess.run([shell, "-n", str(ENTRYPOINT)], check=True)
    if shutil.which("shellcheck"):
        subprocess.run(["shellcheck", "--shell=sh", str(ENTRYPOINT)], check=True)
