"""The systemd units: well-formed, hardened, and running real commands.

Each unit is read section by section (configparser) and its ExecStart held to the
command line's own commands and options; where ``systemd-analyze`` is installed it
verifies the units too (with ExecStart pointed at this environment's worker-manager:
verify checks that the program exists) and rates their exposure offline.
"""

import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.deploy.files import ROOT, SYSTEMD, check_cli_args, unit

NODE = "worker-manager.service"
AGENT = "worker-manager-agent.service"
UNITS = [NODE, AGENT]
INSTALLED = "/opt/worker-manager/bin/worker-manager"

HARDENING = {
    "NoNewPrivileges": "yes",
    "ProtectSystem": "strict",
    "PrivateTmp": "yes",
    "ProtectHome": "yes",
    "Restart": "on-failure",
}


@pytest.mark.parametrize("name", UNITS)
def test_the_unit_has_its_sections(name: str) -> None:
    parsed = unit(name)
    assert parsed.sections() == ["Unit", "Service", "Install"]
    assert parsed["Unit"]["Description"]
    assert "network-online.target" in parsed["Unit"]["After"]
    assert parsed["Install"]["WantedBy"] == "multi-user.target"


@pytest.mark.parametrize("name", UNITS)
def test_the_service_is_hardened_and_runs_as_its_own_user(name: str) -> None:
    service = unit(name)["Service"]
    for key, value in HARDENING.items():
        assert service[key] == value, key
    assert service["User"] not in ("root", "0")
    assert service["Group"] == service["User"]
    # the one writable path is the service's state directory, created owner-only
    state = f"/var/lib/{service['StateDirectory']}"
    assert service["ReadWritePaths"] == state
    assert service["StateDirectoryMode"] == "0700"
    assert service["UMask"] == "0077"
    assert service["CapabilityBoundingSet"] == ""
    assert service["RestartPreventExitStatus"] == "2"


def test_the_users_differ() -> None:
    assert unit(NODE)["Service"]["User"] != unit(AGENT)["Service"]["User"]


def _exec_start(name: str) -> list[str]:
    argv = shlex.split(unit(name)["Service"]["ExecStart"])
    assert argv[0] == INSTALLED
    return argv[1:]


def test_the_node_serves_its_home() -> None:
    service = unit(NODE)["Service"]
    args = _exec_start(NODE)
    assert args == ["serve"]
    check_cli_args(args)
    assert service["Environment"] == f"WM_HOME={service['ReadWritePaths']}"
    assert service["EnvironmentFile"] == "-/etc/worker-manager/node.env"


def test_the_agent_runs_its_config() -> None:
    args = _exec_start(AGENT)
    assert args == ["agent", "--config", "/etc/worker-manager/agent.toml"]
    check_cli_args(args)
    # the state_dir of docs/agent.md's example config is the writable path
    docs = (ROOT / "docs/agent.md").read_text()
    example = re.search(r"```toml\n(.*?)```", docs, re.DOTALL)
    assert example
    config = tomllib.loads(example[1])
    assert config["state_dir"] == unit(AGENT)["Service"]["ReadWritePaths"]


def _analyze() -> str:
    found = shutil.which("systemd-analyze")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("systemd-analyze is not installed: .ci/run installs systemd")
        pytest.skip("systemd-analyze is not installed")
    return found


def _copies(tmp_path: Path) -> list[Path]:
    """The units, with ExecStart's program this environment's worker-manager."""
    here = str(Path(sys.executable).parent / "worker-manager")
    copies = []
    for name in UNITS:
        copy = tmp_path / name
        copy.write_text((SYSTEMD / name).read_text().replace(INSTALLED, here))
        copies.append(copy)
    return copies


def test_systemd_analyze_verify(tmp_path: Path) -> None:
    analyze = _analyze()
    result = subprocess.run(
        [analyze, "verify", *map(str, _copies(tmp_path))],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    # an unknown or misspelt key is only a warning: any output fails the test
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == ""
    assert result.stdout.strip() == ""


@pytest.mark.parametrize("name", UNITS)
def test_systemd_rates_the_exposure_low(tmp_path: Path, name: str) -> None:
    analyze = _analyze()
    copy = next(c for c in _copies(tmp_path) if c.name == name)
    result = subprocess.run(
        [analyze, "security", "--offline=yes", str(copy)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    level = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", result.stdout)
    if level is None:
        why = f"this systemd-analyze cannot rate a unit offline: {result.stderr.strip()}"
        if os.environ.get("CI"):
            pytest.fail(why)
        pytest.skip(why)
    assert float(level[1]) <= 4.0, result.stdout
