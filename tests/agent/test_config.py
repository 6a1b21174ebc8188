"""The agent's config: a worker key file open to group or others is refused, and so is
a misspelt or unknown key, a value of the wrong type or out of range, each naming the
file, the section and the key, with exit code 2 from the command line (no traceback)."""

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


# -- unknown keys, wrong types and out-of-range values: refused, naming the key ----------

KEY = '[key]\nfile = "worker.key"\n'
REGISTER = (
    '[register]\npayment_wallet = "secret1x"\nworker_type = "m"\nattestation_report_file = "q"\n'
)


def _write(tmp_path: Path, top: str = "", tables: str = KEY) -> Path:
    """An agent.toml: the required keys, ``top`` at the top level, then ``tables``."""
    path = tmp_path / "agent.toml"
    path.write_text(f'node = "{NODE}"\nip_address = "10.7.0.9:21434"\n{top}\n{tables}')
    return path


def _refusal(path: Path) -> list[str]:
    with pytest.raises(AgentConfigError) as err:
        AgentConfig.load(path)
    return str(err.value).splitlines()


@pytest.mark.parametrize(
    ("top", "tables", "says"),
    [
        # misspelt or unknown keys and sections
        (
            "",
            KEY + REGISTER.replace("payment_wallet", "payment_walet"),
            "[register] payment_walet: unknown key; did you mean payment_wallet?",
        ),
        ("", KEY + "[registr]\n", "[registr]: unknown section; did you mean [register]?"),
        (
            "",
            '[key]\nfile = "worker.key"\nworker_kee = true\n',
            "[key] worker_kee: unknown key; did you mean worker_key?",
        ),
        ("setle_seconds = 2", KEY, "setle_seconds: unknown key; did you mean settle_seconds?"),
        (
            "",
            KEY + '[usage]\nur = "http://127.0.0.1:9100/usage"\n',
            "[usage] ur: unknown key; did you mean url?",
        ),
        (
            "",
            KEY + "[metering]\n",
            "[metering]: unknown section; known here: node, ip_address, state_dir, load_file, "
            "poll_fraction, settle_seconds, [key], [register], [usage]",
        ),
        # wrong types: nothing is coerced
        (
            "",
            '[key]\nfile = "worker.key"\nworker_key = "false"\n',
            '[key] worker_key must be true or false (got "false")',
        ),
        (
            'poll_fraction = "0.5"',
            KEY,
            'poll_fraction must be a number above 0 and at most 1 (got "0.5")',
        ),
        ("settle_seconds = true", KEY, "settle_seconds must be a number from 0 to 3600 (got true)"),
        (
            "",
            KEY + REGISTER + 'capacity = "2"\n',
            '[register] capacity must be a whole number (got "2")',
        ),
        ("", KEY + REGISTER + "url = 443\n", "[register] url must be text (got 443)"),
        ('key = "worker.key"', "", '[key] must be a table (got "worker.key")'),
        ("", "[key]\nfile = 7\n", "[key] file must be text (got 7)"),
        # out of range
        ("poll_fraction = 0", KEY, "poll_fraction must be a number above 0 and at most 1 (got 0)"),
        (
            "poll_fraction = 1.5",
            KEY,
            "poll_fraction must be a number above 0 and at most 1 (got 1.5)",
        ),
        ("settle_seconds = -1", KEY, "settle_seconds must be a number from 0 to 3600 (got -1)"),
        ("settle_seconds = 3601", KEY, "settle_seconds must be a number from 0 to 3600 (got 3601)"),
        # missing, and checks across keys
        ("", "", "[key] is required"),
        ("", "[key]\nworker_key = true\n", "[key] file is required"),
        ("", KEY + '[register]\nworker_type = "m"\n', "[register] payment_wallet is required"),
        (
            "",
            KEY + '[usage]\nurl = "127.0.0.1:9100/usage"\n',
            "[usage] url must be an http(s) URL, got 127.0.0.1:9100/usage",
        ),
        (
            "",
            KEY + '[usage]\nfile = "u.jsonl"\nurl = "http://127.0.0.1:9100/usage"\n',
            "[usage] gives file and url; give one, not both",
        ),
        (
            "",
            KEY + REGISTER + "tls_certificate_from_url = true\n",
            "[register] tls_certificate_from_url needs url",
        ),
    ],
)
def test_a_bad_key_or_value_is_refused_naming_file_section_and_key(
    tmp_path: Path, top: str, tables: str, says: str
) -> None:
    path = _write(tmp_path, top, tables)
    assert f"{path}: {says}" in _refusal(path)


def test_a_misspelt_key_is_named_with_what_it_leaves_missing(tmp_path: Path) -> None:
    path = _write(tmp_path, "", KEY + REGISTER.replace("payment_wallet", "payment_walet"))
    assert _refusal(path) == [
        f"{path}: [register] payment_wallet is required",
        f"{path}: [register] payment_walet: unknown key; did you mean payment_wallet?",
    ]


@pytest.mark.parametrize(
    ("top", "field", "value"),
    [
        ("poll_fraction = 1", "poll_fraction", 1.0),
        ("settle_seconds = 0", "settle_seconds", 0.0),
        ("settle_seconds = 3600", "settle_seconds", 3600.0),
        ("settle_seconds = 2", "settle_seconds", 2.0),  # a whole number is a number
    ],
)
def test_both_ends_of_a_range_are_taken(tmp_path: Path, top: str, field: str, value: float) -> None:
    assert getattr(AgentConfig.load(_write(tmp_path, top)), field) == value


def test_relative_paths_are_relative_to_the_config_file(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        'load_file = "run/load"\nstate_dir = "/var/lib/agent"',
        KEY + REGISTER + '[usage]\nfile = "usage.jsonl"\n',
    )
    config = AgentConfig.load(path)
    assert config.key_file == tmp_path / "worker.key"
    assert config.load_file == tmp_path / "run" / "load"
    assert config.state_dir == Path("/var/lib/agent")
    assert config.usage_file == tmp_path / "usage.jsonl"
    assert config.registration is not None
    assert config.registration.attestation_report_file == tmp_path / "q"


def test_the_command_refuses_a_misspelt_key_with_exit_code_2(tmp_path: Path) -> None:
    path = _write(tmp_path, "", KEY + REGISTER.replace("payment_wallet", "payment_walet"))
    result = cli("agent", "--config", str(path), check=False)
    assert result.returncode == 2
    assert result.stderr.startswith("error: ")
    assert f"{path}: [register] payment_walet: unknown key; did you mean payment_wallet?" in (
        result.stderr
    )
    assert "Traceback" not in result.stderr + result.stdout
    assert not (tmp_path / "agent-state").exists()  # refused before doing anything
