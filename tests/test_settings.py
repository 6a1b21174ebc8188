"""The node's settings: config.toml refuses what it does not know, naming the file, the
section and the key; the WM_* variables override it, and only the mapping passed in is read."""

import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ADMIN
from tests.e2e.conftest import cli
from worker_manager.home import write_home
from worker_manager.settings import (
    DATABASE_FILE,
    Settings,
    SettingsError,
    listen_address,
    sqlite_url,
)

CHAIN = 'chain_id = "wm-settings-1"\n'


def _home(tmp_path: Path, toml: str) -> Path:
    """A home whose config.toml is exactly ``toml``."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    (home / "config.toml").write_text(toml)
    return home


def _refusal(home: Path, environ: dict[str, str] | None = None) -> str:
    with pytest.raises(SettingsError) as err:
        Settings.load(home, environ or {})
    return str(err.value)


def _env_without_wm() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("WM_")}


def test_the_config_init_writes_loads_with_every_default(tmp_path: Path) -> None:
    write_home(tmp_path / "h", chain_id="wm-settings-1")
    settings = Settings.load(tmp_path / "h", {})
    assert settings == Settings(
        home=tmp_path / "h",
        chain_id="wm-settings-1",
        database_url=sqlite_url(tmp_path / "h" / DATABASE_FILE),
    )


@pytest.mark.parametrize(
    ("toml", "says"),
    [
        # misspelt and unknown keys, with the closest known one when there is one
        (CHAIN + "[server]\nprot = 1317\n", "[server] prot: unknown key; did you mean port?"),
        (
            CHAIN + "[node]\nblock_intervall_ms = 20\n",
            "[node] block_intervall_ms: unknown key; did you mean block_interval_ms?",
        ),
        (CHAIN + "chian_id = 2\n", "chian_id: unknown key; did you mean chain_id?"),
        (CHAIN + "[sever]\nport = 1317\n", "[sever]: unknown section; did you mean [server]?"),
        (
            CHAIN + "[limits]\nburst = 5\n",
            "[limits] burst: unknown key; known here: tx_rate_per_client, tx_burst_per_client",
        ),
        (
            CHAIN + "[database]\nurl = ''\npassword = 'x'\n",
            "[database] password: unknown key; known here: url",
        ),
        # wrong types: nothing is coerced, not even a number written as text
        (
            CHAIN + '[server]\nport = "x"\n',
            '[server] port must be a whole number in 1-65535 (got "x")',
        ),
        (
            CHAIN + '[server]\nport = "1317"\n',
            '[server] port must be a whole number in 1-65535 (got "1317")',
        ),
        (
            CHAIN + "[node]\nblock_interval_ms = true\n",
            "[node] block_interval_ms must be a whole number in 0-10000 (got true)",
        ),
        (
            CHAIN + "[node]\nmax_tx_bytes = 2048.0\n",
            "[node] max_tx_bytes must be a whole number in 1024-16777216 (got 2048.0)",
        ),
        (CHAIN + "[server]\nhost = 127\n", "[server] host must be text (got 127)"),
        (CHAIN + "[database]\nurl = 5\n", "[database] url must be text (got 5)"),
        (
            CHAIN + '[log]\nlevel = "verbose"\n',
            '[log] level must be one of debug, info, warning, error (got "verbose")',
        ),
        (CHAIN + "server = 1317\n", "[server] must be a table (got 1317)"),
        ("chain_id = 7\n", "chain_id must be non-empty text (got 7)"),
        # missing or empty
        ("[server]\nport = 1317\n", "chain_id is required"),
        ('chain_id = ""\n', 'chain_id must be non-empty text (got "")'),
        (CHAIN + '[server]\nhost = " "\n', "[server] host must not be empty"),
    ],
)
def test_a_bad_key_or_value_is_refused_naming_file_section_and_key(
    tmp_path: Path, toml: str, says: str
) -> None:
    home = _home(tmp_path, toml)
    assert _refusal(home) == f"{home / 'config.toml'}: {says}"


#: Every bounded key, with the range it had before these were pydantic models.
BOUNDS = [
    ("server", "port", 1, 65535),
    ("server", "request_timeout_s", 1, 3600),
    ("server", "keep_alive_timeout_s", 1, 3600),
    ("node", "block_interval_ms", 0, 10_000),
    ("node", "max_tx_bytes", 1024, 16 * 1024 * 1024),
    ("limits", "tx_rate_per_client", 0, 1_000_000),
    ("limits", "tx_burst_per_client", 1, 1_000_000),
]


@pytest.mark.parametrize(
    ("table", "key", "value", "low", "high"),
    [(t, k, low - 1, low, high) for t, k, low, high in BOUNDS]
    + [(t, k, high + 1, low, high) for t, k, low, high in BOUNDS],
)
def test_a_value_out_of_range_is_refused_with_the_range(
    tmp_path: Path, table: str, key: str, value: int, low: int, high: int
) -> None:
    home = _home(tmp_path, f"{CHAIN}[{table}]\n{key} = {value}\n")
    assert _refusal(home) == (
        f"{home / 'config.toml'}: [{table}] {key} must be a whole number in {low}-{high} "
        f"(got {value})"
    )


@pytest.mark.parametrize(("table", "key", "low", "high"), BOUNDS)
def test_both_ends_of_a_range_are_taken(
    tmp_path: Path, table: str, key: str, low: int, high: int
) -> None:
    for value in (low, high):
        home = _home(tmp_path, f"{CHAIN}[{table}]\n{key} = {value}\n")
        assert getattr(Settings.load(home, {}), key) == value


def test_every_problem_is_named_at_once_one_line_each(tmp_path: Path) -> None:
    home = _home(
        tmp_path, 'chian_id = "wm-1"\n[server]\nprot = 1\n[node]\nblock_interval_ms = -1\n'
    )
    path = home / "config.toml"
    assert _refusal(home).splitlines() == [
        f"{path}: chain_id is required",
        f"{path}: [server] prot: unknown key; did you mean port?",
        f"{path}: [node] block_interval_ms must be a whole number in 0-10000 (got -1)",
        f"{path}: chian_id: unknown key; did you mean chain_id?",
    ]


def test_the_log_level_is_read_in_any_case(tmp_path: Path) -> None:
    home = _home(tmp_path, CHAIN + '[log]\nlevel = "WARNING"\n')
    assert Settings.load(home, {}).log_level == "warning"


@pytest.mark.parametrize(
    ("environ", "says"),
    [
        ({"WM_PORT": "x"}, 'WM_PORT must be a whole number in 1-65535 (got "x")'),
        ({"WM_PORT": "1e3"}, 'WM_PORT must be a whole number in 1-65535 (got "1e3")'),
        ({"WM_PORT": "65536"}, "WM_PORT must be a whole number in 1-65535 (got 65536)"),
        (
            {"WM_LOG_LEVEL": "loud"},
            'WM_LOG_LEVEL must be one of debug, info, warning, error (got "loud")',
        ),
        ({"WM_HOST": "  "}, "WM_HOST must not be empty"),
    ],
)
def test_a_bad_variable_is_refused_naming_the_variable(
    tmp_path: Path, environ: dict[str, str], says: str
) -> None:
    home = _home(tmp_path, CHAIN + "[server]\nport = 1400\n")
    assert _refusal(home, environ) == says


def test_command_line_beats_environment_beats_file_beats_defaults(tmp_path: Path) -> None:
    home = _home(
        tmp_path, CHAIN + '[server]\nhost = "127.0.0.2"\nport = 1400\n[log]\nlevel = "error"\n'
    )
    from_file = Settings.load(home, {})
    assert (from_file.host, from_file.port, from_file.log_level) == ("127.0.0.2", 1400, "error")
    assert from_file.request_timeout_s == 10  # not in the file: the default
    environ = {
        "WM_HOST": "::1",
        "WM_PORT": "1500",
        "WM_LOG_LEVEL": "DEBUG",
        "WM_DATABASE_URL": "sqlite:///elsewhere.db",
    }
    from_env = Settings.load(home, environ)
    assert (from_env.host, from_env.port, from_env.log_level) == ("::1", 1500, "debug")
    assert from_env.database_url == "sqlite:///elsewhere.db"
    from_cli = from_env.with_changes(port=1600)
    assert (from_cli.host, from_cli.port) == ("::1", 1600)
    assert from_cli.lcd_url == "http://[::1]:1600"


def test_an_empty_variable_counts_as_unset(tmp_path: Path) -> None:
    home = _home(tmp_path, CHAIN + '[server]\nhost = "127.0.0.2"\nport = 1400\n')
    settings = Settings.load(home, {"WM_HOST": "", "WM_PORT": "", "WM_DATABASE_URL": ""})
    assert (settings.host, settings.port) == ("127.0.0.2", 1400)
    assert settings.database_url == sqlite_url(home / DATABASE_FILE)


def test_only_the_mapping_passed_in_is_read_never_the_process_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # what pydantic-settings would pick up from os.environ by default, and our own names
    monkeypatch.setenv("CHAIN_ID", "from-the-process")
    monkeypatch.setenv("SERVER", '{"port": 9}')
    monkeypatch.setenv("WM_PORT", "9")
    home = _home(tmp_path, CHAIN + "[server]\nport = 1400\n")
    settings = Settings.load(home, {})
    assert (settings.chain_id, settings.port) == ("wm-settings-1", 1400)


def test_listen_address_of_a_home_not_created_yet(tmp_path: Path) -> None:
    assert listen_address({}) == ("127.0.0.1", 1317)
    assert listen_address({"WM_HOST": "0.0.0.0", "WM_PORT": "1400"}) == ("0.0.0.0", 1400)
    with pytest.raises(SettingsError) as err:
        listen_address({"WM_PORT": "x"})
    assert str(err.value) == 'WM_PORT must be a whole number in 1-65535 (got "x")'


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b"chain_id = ", "is not valid TOML"),
        (b'chain_id = "\xff"\n', "is not UTF-8 text"),
    ],
)
def test_an_unreadable_config_names_the_file(tmp_path: Path, content: bytes, says: str) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.toml").write_bytes(content)
    message = _refusal(home)
    assert message.startswith(f"{home / 'config.toml'} {says}")


def test_a_home_without_a_config_is_named(tmp_path: Path) -> None:
    assert _refusal(tmp_path) == f"no config.toml in {tmp_path}"


# -- through the real command line -------------------------------------------------------


def _initialised_home(tmp_path: Path) -> Path:
    home = tmp_path / "h"
    cli(
        "init",
        "--home",
        str(home),
        "--chain-id",
        "wm-settings-1",
        "--admin",
        ADMIN,
        env=_env_without_wm(),
    )
    return home


def _assert_usage_error(result: subprocess.CompletedProcess[str], says: str) -> None:
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("error: ")
    assert says in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_info_with_a_misspelt_key_exits_2_naming_it(tmp_path: Path) -> None:
    home = _initialised_home(tmp_path)
    config = home / "config.toml"
    config.write_text(config.read_text().replace("port = ", "prot = "))
    before = sorted(p.name for p in home.iterdir())
    result = cli("info", "--home", str(home), check=False, env=_env_without_wm())
    _assert_usage_error(result, f"{config}: [server] prot: unknown key; did you mean port?")
    assert sorted(p.name for p in home.iterdir()) == before


def test_serve_with_a_misspelt_key_exits_2_before_touching_the_home(tmp_path: Path) -> None:
    home = _initialised_home(tmp_path)
    config = home / "config.toml"
    config.write_text(config.read_text().replace("block_interval_ms", "block_intervall_ms"))
    before = sorted(p.name for p in home.iterdir())
    result = cli("serve", "--home", str(home), check=False, env=_env_without_wm())
    _assert_usage_error(
        result,
        f"{config}: [node] block_intervall_ms: unknown key; did you mean block_interval_ms?",
    )
    assert sorted(p.name for p in home.iterdir()) == before  # no lock, nothing migrated


def test_serve_with_a_bad_wm_port_exits_2_naming_the_variable(tmp_path: Path) -> None:
    home = _initialised_home(tmp_path)
    env = _env_without_wm() | {"WM_PORT": "x"}
    result = cli("serve", "--home", str(home), check=False, env=env)
    _assert_usage_error(result, 'WM_PORT must be a whole number in 1-65535 (got "x")')


ENDPOINT_BOUNDS = [("interval_s", 1, 86_400), ("timeout_s", 1, 300), ("concurrency", 1, 1024)]


@pytest.mark.parametrize(("key", "low", "high"), ENDPOINT_BOUNDS)
def test_the_endpoint_check_settings_are_read_and_bounded(
    tmp_path: Path, key: str, low: int, high: int
) -> None:
    for value in (low, high):
        home = _home(tmp_path, f"{CHAIN}[endpoints]\n{key} = {value}\n")
        assert getattr(Settings.load(home, {}), f"endpoint_check_{key}") == value
    for value in (low - 1, high + 1):
        home = _home(tmp_path, f"{CHAIN}[endpoints]\n{key} = {value}\n")
        assert _refusal(home) == (
            f"{home / 'config.toml'}: [endpoints] {key} must be a whole number in {low}-{high} "
            f"(got {value})"
        )


def test_endpoint_checks_are_auto_on_or_off(tmp_path: Path) -> None:
    assert Settings.load(_home(tmp_path, CHAIN), {}).endpoint_checks == "auto"
    for mode in ("on", "off", "auto"):
        home = _home(tmp_path, f'{CHAIN}[endpoints]\nchecks = "{mode}"\n')
        assert Settings.load(home, {}).endpoint_checks == mode
    home = _home(tmp_path, f'{CHAIN}[endpoints]\nchecks = "sometimes"\n')
    assert _refusal(home) == (
        f'{home / "config.toml"}: [endpoints] checks must be one of auto, on, off (got "sometimes")'
    )
