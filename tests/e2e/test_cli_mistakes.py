"""Ordinary mistakes on the real command line: each ends in a message that says what is
wrong and a documented exit code, never in a Python traceback, and nothing is signed."""

import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import ADMIN

DATA = Path(__file__).resolve().parents[1] / "data" / "attestation"
QUOTE = DATA / "dcap-qvl" / "tdx_quote"
COLLATERAL = DATA / "dcap-qvl" / "tdx_quote_collateral.json"
RIM = DATA / "nvidia" / "NV_GPU_DRIVER_GH100_550.144.03.xml"
DEEP = "[" * 10_000 + "]" * 10_000
BAD_CHECKSUM = ADMIN[:-1] + ("q" if ADMIN[-1] != "q" else "p")
WORKER = ("10.0.0.1", "--type", "m", "--from", "admin")


@dataclass(frozen=True)
class Mistake:
    args: tuple[str, ...]
    code: int
    says: str
    stdin: bytes = b""
    env: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Outcome:
    code: int
    stdout: str
    stderr: str


def run(*args: str, env: dict[str, str] | None = None, stdin: bytes = b"") -> Outcome:
    """The real command line in a child process; arguments, environment and standard
    input may carry bytes that are not UTF-8 (lone surrogates here, raw bytes there)."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("WM_")}
    result = subprocess.run(
        [sys.executable, "-m", "worker_manager", *args],
        capture_output=True,
        input=stdin,
        env=base | (env or {}),
        timeout=120,
        check=False,
    )
    return Outcome(
        result.returncode,
        result.stdout.decode("utf-8", "replace"),
        result.stderr.decode("utf-8", "replace"),
    )


@pytest.fixture
def files(tmp_path: Path) -> dict[str, str]:
    """A missing file, a directory, an unreadable file (a symlink loop: root reads any
    mode), binary content, 10,000 levels of JSON nesting, and a regular file."""
    (tmp_path / "dir").mkdir()
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    (tmp_path / "binary").write_bytes(b"\x00\xff\xfe quote \x80")
    (tmp_path / "deep.json").write_text(DEEP)
    (tmp_path / "a-file").write_text("not a directory")
    return {name: str(tmp_path / name) for name in ("dir", "loop", "binary", "deep.json")} | {
        "missing": str(tmp_path / "missing"),
        "file": str(tmp_path / "a-file"),
        "home": str(tmp_path / "home"),
    }


def register(report_file: str) -> tuple[str, ...]:
    wallet = ("--wallet", ADMIN, "--type", "m")
    return (
        "tx",
        "register-worker",
        "10.0.0.1",
        *wallet,
        "--report-file",
        report_file,
        "--from",
        "a",
    )


MISTAKES: dict[str, Mistake] = {
    "report-file missing": Mistake(register("{missing}"), 2, "cannot read --report-file"),
    "report-file a directory": Mistake(register("{dir}"), 2, "is a directory"),
    "report-file unreadable": Mistake(register("{loop}"), 2, "cannot read --report-file"),
    "report-file binary": Mistake(register("{binary}"), 2, "is not text"),
    "tx execute 10,000 levels deep": Mistake(("tx", "execute", DEEP, "--from", "a"), 2, "nested"),
    "tx execute not JSON": Mistake(("tx", "execute", "{pause", "--from", "a"), 2, "not valid JSON"),
    "tx execute a lone surrogate": Mistake(
        ("tx", "execute", '{"remove_worker": {"ip_address": "\\ud800"}}', "--from", "a"),
        2,
        "lone surrogate",
    ),
    "tx execute not an object": Mistake(("tx", "execute", "[1]", "--from", "a"), 2, "JSON object"),
    "an argument that is not UTF-8": Mistake(
        ("tx", "set-worker-type", "10.0.0.1", "\udcff", "--from", "a"), 2, "not valid UTF-8"
    ),
    "query raw 10,000 levels deep": Mistake(("query", "raw", DEEP), 2, "nested"),
    "query raw a lone surrogate": Mistake(
        ("query", "raw", '{"get_worker": {"ip_address": "\\udfff"}}'), 2, "lone surrogate"
    ),
    "policy set deep": Mistake(
        ("attestation", "policy", "set", "{deep.json}", "--from", "a"), 2, "nested"
    ),
    "policy set binary": Mistake(
        ("attestation", "policy", "set", "{binary}", "--from", "a"), 2, "is not text"
    ),
    "policy set a directory": Mistake(
        ("attestation", "policy", "set", "{dir}", "--from", "a"), 2, "is a directory"
    ),
    "verify --policy deep": Mistake(
        ("attestation", "verify", str(QUOTE), "--policy", "{deep.json}", "--home", "{home}"),
        2,
        "nested",
    ),
    "verify --collateral binary": Mistake(
        ("attestation", "verify", str(QUOTE), "--collateral", "{binary}", "--home", "{home}"),
        2,
        "is not text",
    ),
    "verify a missing report": Mistake(("attestation", "verify", "{missing}"), 2, "cannot read"),
    "collateral import deep": Mistake(
        ("attestation", "collateral", "import", "{deep.json}", "--home", "{home}"), 2, "nested"
    ),
    "collateral fetch unreadable": Mistake(
        ("attestation", "collateral", "fetch", "{loop}", "--pccs", "http://127.0.0.1:9"),
        2,
        "cannot read",
    ),
    "keys recover binary stdin": Mistake(
        ("keys", "recover", "k", "--home", "{home}"), 2, "not UTF-8", stdin=b"\xff\xfe words\n"
    ),
    "a passphrase that is not UTF-8": Mistake(
        ("tx", "pause", "--from", "admin", "--home", "{home}"),
        2,
        "WM_KEYRING_PASSPHRASE",
        env={"WM_KEYRING_PASSPHRASE": "pass\udcff"},
    ),
    "init --port 70000": Mistake(
        ("init", "--home", "{home}", "--chain-id", "c-1", "--admin", ADMIN, "--port", "70000"),
        2,
        "--port",
    ),
    "serve --port 70000": Mistake(("serve", "--home", "{home}", "--port", "70000"), 2, "--port"),
    "serve --port 0": Mistake(("serve", "--home", "{home}", "--port", "0"), 2, "--port"),
    "init --host empty": Mistake(
        ("init", "--home", "{home}", "--chain-id", "c-1", "--admin", ADMIN, "--host", ""),
        2,
        "--host",
    ),
    "serve --host empty": Mistake(("serve", "--home", "{home}", "--host", " "), 2, "--host"),
    "init --admin bad checksum": Mistake(
        ("init", "--home", "{home}", "--chain-id", "c-1", "--admin", BAD_CHECKSUM), 2, "--admin"
    ),
    "a wallet with a bad checksum": Mistake(
        (
            "tx",
            "register-worker",
            *WORKER[:1],
            "--wallet",
            BAD_CHECKSUM,
            *WORKER[1:],
            "--report",
            "q",
        ),
        2,
        "--wallet",
    ),
    "a home the system refuses to create": Mistake(
        ("init", "--home", "/proc/wm-no-such-home", "--chain-id", "c-1", "--admin", ADMIN),
        1,
        "/proc/wm-no-such-home: No such file or directory",
    ),
}


def _fill(argument: str, files: dict[str, str]) -> str:
    """``{name}`` stands for one of the ``files``."""
    name = argument[1:-1]
    return files[name] if argument == f"{{{name}}}" and name in files else argument


@pytest.mark.slow
@pytest.mark.parametrize("name", MISTAKES)
def test_a_mistake_is_one_error_message_and_an_exit_code(name: str, files: dict[str, str]) -> None:
    mistake = MISTAKES[name]
    result = run(*(_fill(a, files) for a in mistake.args), env=mistake.env, stdin=mistake.stdin)
    assert "Traceback" not in result.stdout + result.stderr
    assert result.code == mistake.code, result.stderr
    assert mistake.says in result.stderr
    if "Invalid value" not in result.stderr:  # Typer's own usage errors come boxed
        assert result.stderr.startswith("error: "), result.stderr
    assert not Path(files["home"], "config.toml").exists()


HOME_COMMANDS = {
    "init": ("init", "--chain-id", "c-1", "--admin", ADMIN),
    "serve": ("serve",),
    "info": ("info",),
    "migrate": ("migrate",),
    "verify": ("verify",),
    "keys add": ("keys", "add", "k"),
    "keys recover": ("keys", "recover", "k"),
    "keys list": ("keys", "list"),
    "keys show": ("keys", "show", "k"),
    "keys delete": ("keys", "delete", "k", "--yes"),
    "attestation verify": ("attestation", "verify", str(QUOTE)),
    "attestation collateral import": ("attestation", "collateral", "import", str(COLLATERAL)),
    "attestation collateral fetch": (
        *("attestation", "collateral", "fetch", str(QUOTE)),
        *("--pccs", "http://127.0.0.1:9"),
    ),
    "attestation rim import": ("attestation", "rim", "import", str(RIM)),
    "attestation policy set": ("attestation", "policy", "set", "none", "--from", "admin"),
    "attestation reverify": ("attestation", "reverify", "--from", "admin"),
    "tx pause": ("tx", "pause", "--from", "admin"),
    "query workers": ("query", "workers", "--subscriber", "k"),
}


HOME_CASES = [(command, "--home FILE") for command in HOME_COMMANDS] + [
    ("serve", "WM_HOME=FILE"),
    ("info", "WM_HOME=FILE"),
    ("keys add", "--home FILE/inside"),
    ("init", "--home FILE/inside"),
]


@pytest.mark.slow
@pytest.mark.parametrize(("command", "where"), HOME_CASES)
def test_every_command_refuses_a_home_that_is_a_file(
    command: str, where: str, files: dict[str, str]
) -> None:
    home = files["file"] + ("/inside" if "inside" in where else "")
    env = {"WM_KEYRING_PASSPHRASE": "pw"}
    args = HOME_COMMANDS[command]
    if where.startswith("WM_HOME"):
        env["WM_HOME"] = home
    else:
        args = (*args, "--home", home)
    result = run(*args, env=env, stdin=b"abandon " * 11 + b"about\n")
    assert "Traceback" not in result.stdout + result.stderr
    assert result.code == 2, result.stderr
    assert result.stderr.startswith("error: ")
    assert "must name a directory" in result.stderr
    assert Path(files["file"]).read_text() == "not a directory"


def test_a_good_report_file_passes_its_checks(files: dict[str, str], tmp_path: Path) -> None:
    """The checks stop bad files only: this one is read, and the missing key stops it."""
    report = tmp_path / "quote.hex"
    report.write_text("00ff\n")
    result = run(
        *register(str(report)), "--home", files["home"], env={"WM_KEYRING_PASSPHRASE": "p"}
    )
    assert result.code == 1
    assert "no key named 'a'" in result.stderr
