"""The agent's config: a worker key file open to group or others is refused, with a
clear error and exit code 2 from the command line (no traceback)."""

from pathlib import Path

import pytest

from tests.agent.conftest import agent_config
from tests.e2e.conftest import cli
from worker_manager.agent import AgentConfigError
from worker_manager.agent.config import AgentConfig

NODE = "http://127.0.0.1:9"


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o620, 0o602, 0o660])
def test_a_key_file_open_to_group_or_others_is_refused(tmp_path: Path, mode: int) -> None:
    config = agent_config(tmp_path, NODE)
    config.key_file.chmod(mode)
    with pytest.raises(AgentConfigError) as err:
        config.private_key()
    message = str(err.value)
    assert str(config.key_file) in message
    assert f"chmod 600 {config.key_file}" in message
    assert f"mode {mode:04o}" in message


@pytest.mark.parametrize("mode", [0o600, 0o400])
def test_a_private_key_file_is_read(tmp_path: Path, mode: int) -> None:
    config = agent_config(tmp_path, NODE)
    config.key_file.chmod(mode)
    assert config.private_key().secret.hex() == config.key_file.read_text()


def test_the_command_refuses_an_open_key_file_with_exit_code_2(tmp_path: Path) -> None:
    config = agent_config(tmp_path, NODE)
    config.key_file.chmod(0o644)
    path = tmp_path / "agent.toml"
    path.write_text(f'node = "{NODE}"\nip_address = "10.7.0.9:21434"\n[key]\nfile = "worker.key"\n')
    result = cli("agent", "--config", str(path), check=False)
    assert result.returncode == 2
    assert f"chmod 600 {config.key_file}" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert not (tmp_path / "agent-state").exists()  # refused before doing anything


@pytest.mark.parametrize(
    ("setting", "says"),
    [
        ({"poll_fraction": 0}, "poll_fraction"),
        ({"settle_seconds": -1}, "settle_seconds"),
        ({"usage": {"url": "127.0.0.1:9100/usage"}}, "must be an http"),
    ],
)
def test_bad_settings_are_refused(tmp_path: Path, setting: dict[str, object], says: str) -> None:
    data = {"node": NODE, "ip_address": "10.7.0.9:21434", "key": {"file": "k"}, **setting}
    with pytest.raises(AgentConfigError, match=says):
        AgentConfig.from_dict(data, base=tmp_path)
