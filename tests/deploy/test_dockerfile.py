"""The Dockerfile builds a small non-root node image that runs the real command line.

Without a Docker daemon the Dockerfile is read instruction by instruction (tests/deploy/
files.py) and held to the package: the user it runs as, the port, the volume, the
entrypoint and command (real commands and options of ``worker-manager``), the files its
build copies (present, and let through ``.dockerignore``), and its healthcheck, which is
run for real against a served node. Where a Docker daemon answers, the image is built.
"""

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.conftest import ADMIN
from tests.deploy.files import (
    ENTRYPOINT,
    ROOT,
    check_cli_args,
    dockerfile,
    dockerignored,
)
from tests.e2e.conftest import cli, free_port, start_serve, stop
from worker_manager.settings import DEFAULT_PORT

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_it_is_multi_stage_on_slim_python_3_11() -> None:
    image = dockerfile()
    assert len(image.stages) == 2
    build, final = image.stages
    assert build.name, "the build stage is named, for the final stage's --mount from="
    for stage in image.stages:
        base = image.expand(stage.base, stage)
        assert base.startswith("python:3.11-slim"), base
    # the build stage makes the wheels; the final stage installs them with the extra
    (wheel,) = [r.args for r in build.all("RUN") if "pip wheel" in r.args]
    assert '".[postgres]"' in wheel
    (install,) = [r.args for r in final.all("RUN") if "pip install" in r.args]
    assert f"from={build.name}" in install
    assert "--no-index" in install, "the final stage installs the built wheels only"
    assert '"worker-manager[postgres]"' in install
    assert "postgres" in PYPROJECT["project"]["optional-dependencies"]
    assert PYPROJECT["project"]["name"] == "worker-manager"


def test_it_runs_as_a_dedicated_user_not_root() -> None:
    image = dockerfile()
    user = image.expand(image.final.one("USER").args)
    uid, _, gid = user.partition(":")
    assert uid.isdigit(), "a numeric uid, so a runtime can check it is not root"
    assert int(uid) >= 1000
    assert gid.isdigit()
    assert int(gid) != 0
    created = " ".join(image.expand(r.args) for r in image.final.all("RUN"))
    assert f"useradd --system --uid {uid}" in created
    assert f"groupadd --system --gid {gid}" in created


def test_its_home_is_a_volume_the_user_owns() -> None:
    image = dockerfile()
    home = image.env()["WM_HOME"]
    assert image.final.one("VOLUME").exec_form() == [home]
    created = " ".join(image.expand(r.args) for r in image.final.all("RUN"))
    assert f"install -d -m 0700 -o worker-manager -g worker-manager {home}" in created


def test_it_exposes_the_lcd_port() -> None:
    assert dockerfile().final.one("EXPOSE").args == str(DEFAULT_PORT) == "1317"


def test_entrypoint_and_command_are_the_real_cli() -> None:
    image = dockerfile()
    entrypoint = image.final.one("ENTRYPOINT").exec_form()
    assert entrypoint == ["worker-manager"]
    assert entrypoint[0] in PYPROJECT["project"]["scripts"]
    command = image.final.one("CMD").exec_form()
    assert command == ["serve", "--host", "0.0.0.0"]
    check_cli_args(command)


def test_what_the_build_copies_is_in_the_context() -> None:
    image = dockerfile()
    sources: list[str] = []
    for stage in image.stages:
        for copy in stage.all("COPY"):
            words = [w for w in copy.args.split() if not w.startswith("--")]
            sources += words[:-1]
    assert sources, "the build copies nothing"
    for source in sources:
        path = ROOT / source.rstrip("/")
        assert path.exists(), f"COPY {source}: no such file in the repository"
        assert not dockerignored(source.rstrip("/")), f".dockerignore leaves out {source}"
    # hatchling's build reads the readme and the license; the wheel needs the package data
    assert PYPROJECT["project"]["readme"] in sources
    assert "LICENSE" in sources
    assert "deploy/docker/entrypoint.sh" in sources
    for needed in [
        "src/worker_manager/__init__.py",
        "src/worker_manager/store/migrations/versions/0001_contract_state.py",
        "src/worker_manager/store/migrations/script.py.mako",
        "src/worker_manager/py.typed",
    ]:
        assert (ROOT / needed).exists()
        assert not dockerignored(needed), needed
    for left_out in [
        ".venv/bin/python",
        ".git/HEAD",
        "tests/conftest.py",
        "bench/README.md",
        "docs/operations.md",
        "src/worker_manager/__pycache__/home.cpython-311.pyc",
        "src/worker_manager/home.pyc",
        "deploy/systemd/worker-manager.service",
    ]:
        assert dockerignored(left_out), f".dockerignore lets in {left_out}"


def test_the_entrypoint_script_is_copied_executable() -> None:
    image = dockerfile()
    (copy,) = [c.args for c in image.final.all("COPY") if "entrypoint.sh" in c.args]
    assert "--chmod=0755" in copy
    assert copy.split()[-1] == "/usr/local/bin/worker-manager-entrypoint"
    assert os.access(ENTRYPOINT, os.X_OK)


def _healthcheck() -> list[str]:
    instruction = dockerfile().final.one("HEALTHCHECK")
    _, _, form = instruction.args.partition(" CMD ")
    argv = json.loads(form)
    assert isinstance(argv, list)
    return [str(a) for a in argv]


def test_the_healthcheck_uses_python_not_curl() -> None:
    argv = _healthcheck()
    assert argv[0] == "python"
    assert "/healthz" in argv[-1]
    assert "curl" not in " ".join(argv)


@pytest.mark.slow
def test_the_healthcheck_passes_on_a_served_node_and_fails_without_one(tmp_path: Path) -> None:
    """The image's healthcheck command, run as Docker would (WM_PORT the node's port)."""
    home = tmp_path / "home"
    port = free_port()
    cli("init", "--home", str(home), "--chain-id", "wm-health-1", "--admin", ADMIN)
    env = {**os.environ, "WM_PORT": str(port)}
    argv = [sys.executable, *_healthcheck()[1:]]
    process = start_serve(
        ["--home", str(home)], env, tmp_path / "serve.log", f"http://127.0.0.1:{port}"
    )
    try:
        passed = subprocess.run(argv, env=env, capture_output=True, timeout=30, check=False)
        assert passed.returncode == 0, passed.stderr
    finally:
        assert stop(process) == 0
    failed = subprocess.run(argv, env=env, capture_output=True, timeout=30, check=False)
    assert failed.returncode != 0


# No test builds the image: no Docker daemon runs where the suite runs (CI included), and
# a test that skips there would prove nothing. The checks above read the Dockerfile and
# run its healthcheck; building it is an operator's step (docs/operations.md, Deploy).
