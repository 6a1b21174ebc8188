"""export, import, verify's state hashes and --database-url through the real command
line (in-process Typer runner), on SQLite homes; tests/e2e/test_export_import.py moves
homes between SQLite and PostgreSQL with real processes."""

import base64
import json
import stat
from pathlib import Path

import pytest
from click.testing import Result
from sqlalchemy import update
from typer.testing import CliRunner

from tests.conftest import ADMIN, OWNER, register_msg
from worker_manager.application.homes import load_settings
from worker_manager.cli.main import app
from worker_manager.home import node_seed
from worker_manager.node.bootstrap import build_node, host_api
from worker_manager.secret.node_key import node_io_key
from worker_manager.store import Store
from worker_manager.store.migrate import upgrade
from worker_manager.store.tables import workers

runner = CliRunner()


def invoke(
    *args: str, input_bytes: bytes | None = None, env: dict[str, str] | None = None
) -> Result:
    return runner.invoke(app, list(args), input=input_bytes, env=env)


def sqlite_url(home: Path) -> str:
    return f"sqlite:///{home / 'worker-manager.db'}"


def make_home(home: Path, chain_id: str = "wm-cli-1") -> None:
    result = invoke("init", "--home", str(home), "--chain-id", chain_id, "--admin", ADMIN)
    assert result.exit_code == 0, result.stderr


def add_traffic(home: Path) -> None:
    """A worker and its owner's liveliness answer (checked against the home's seed)."""
    node = build_node(load_settings(home))
    try:
        node.execute(ADMIN, register_msg("10.0.0.1"))
        challenge = json.loads(node.query(b'{"get_liveliness_challenge":{}}'))["challenge"]
        answer = {"ip_address": "10.0.0.1", "challenge": challenge, "load": 3}
        node.execute(OWNER, {"report_liveliness": answer})
    finally:
        node.close()
        node.store.close()


@pytest.fixture
def home_a(tmp_path: Path) -> Path:
    home = tmp_path / "a"
    make_home(home)
    add_traffic(home)
    return home


@pytest.fixture
def snapshot(home_a: Path, tmp_path: Path) -> Path:
    path = tmp_path / "a.jsonl"
    result = invoke("export", "--home", str(home_a), "--output", str(path))
    assert result.exit_code == 0, result.stderr
    return path


# -- export -----------------------------------------------------------------------------


def test_export_writes_to_stdout_or_to_a_private_file(home_a: Path, tmp_path: Path) -> None:
    to_stdout = invoke("export", "--home", str(home_a))
    assert to_stdout.exit_code == 0, to_stdout.stderr
    path = tmp_path / "out" / "a.jsonl"
    path.parent.mkdir()
    to_file = invoke("export", "--home", str(home_a), "--output", str(path))
    assert to_file.exit_code == 0
    assert path.read_bytes() == to_stdout.stdout_bytes
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["a.jsonl"]  # no partial file left
    trailer = json.loads(to_stdout.stdout_bytes.splitlines()[-1])
    assert f"state hash {trailer['state_hash']}" in to_file.stderr
    assert "exported chain wm-cli-1 at height 3" in to_file.stderr


def test_export_of_a_database_with_no_chain_fails(home_a: Path, tmp_path: Path) -> None:
    result = invoke("export", "--home", str(home_a), "--database", sqlite_url(tmp_path))
    assert result.exit_code == 1
    assert "is empty; run worker-manager init" in result.stderr
    assert result.stdout_bytes == b""


# -- import -----------------------------------------------------------------------------


def test_import_with_the_seed_makes_a_home_that_exports_the_same_and_verifies(
    home_a: Path, snapshot: Path, tmp_path: Path
) -> None:
    home_b = tmp_path / "b"
    seed = home_a / "secrets" / "node.seed"
    result = invoke(
        "import", str(snapshot), "--home", str(home_b), "--node-seed-file", str(seed), "--json"
    )
    assert result.exit_code == 0, result.stderr
    shown = json.loads(result.stdout)
    assert (shown["chain_id"], shown["height"], shown["workers"]) == ("wm-cli-1", 3, 1)
    assert shown["node_seed_kept"] is True
    assert "warning" not in result.stderr
    assert (home_b / "secrets" / "node.seed").read_bytes() == seed.read_bytes()
    assert stat.S_IMODE((home_b / "secrets" / "node.seed").stat().st_mode) == 0o600
    assert invoke("export", "--home", str(home_b)).stdout_bytes == snapshot.read_bytes()
    verified = invoke("verify", "--home", str(home_b), "--json")
    assert verified.exit_code == 0, verified.stdout
    assert json.loads(verified.stdout)["state_hash"] == shown["state_hash"]


def test_import_reads_stdin_and_takes_the_address_to_serve_on(
    snapshot: Path, tmp_path: Path
) -> None:
    home_b = tmp_path / "b"
    seed = ["--node-seed-file", str(snapshot.parent / "a" / "secrets" / "node.seed")]
    result = invoke(
        "import", "-", "--home", str(home_b), "--host", "0.0.0.0", "--port", "2317", "--json",
        *seed, input_bytes=snapshot.read_bytes(),
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["lcd_url"] == "http://0.0.0.0:2317"
    assert invoke("export", "--home", str(home_b)).stdout_bytes == snapshot.read_bytes()


def test_the_node_seed_is_never_in_a_snapshot(home_a: Path, snapshot: Path) -> None:
    seed = (home_a / "secrets" / "node.seed").read_bytes()
    data = snapshot.read_bytes()
    for form in (seed, seed.hex().encode(), seed.hex().upper().encode(), base64.b64encode(seed)):
        assert form not in data


def test_import_without_the_seed_warns_and_the_old_liveliness_answers_fail_verify(
    home_a: Path, snapshot: Path, tmp_path: Path
) -> None:
    home_b = tmp_path / "b"
    result = invoke("import", str(snapshot), "--home", str(home_b))
    assert result.exit_code == 0, result.stderr
    assert "warning: no --node-seed-file, so this home has a NEW node seed" in result.stderr
    old, new = (h / "secrets" / "node.seed" for h in (home_a, home_b))
    assert new.read_bytes() != old.read_bytes()
    verified = invoke("verify", "--home", str(home_b), "--json")
    assert verified.exit_code == 1
    report = json.loads(verified.stdout)
    assert any("replay gave" in line for line in report["mismatches"])


def _keys(home: Path) -> tuple[bytes, bytes]:
    """What the home's seed gives: a liveliness challenge and the x25519 public key."""
    settings = load_settings(home)
    return host_api(settings).liveliness_challenge(42), node_io_key(node_seed(settings)).public_key


@pytest.mark.parametrize("keep", [True, False], ids=["with the seed", "without"])
def test_the_seed_keeps_the_challenges_and_the_encryption_key(
    home_a: Path, snapshot: Path, tmp_path: Path, keep: bool
) -> None:
    seed = ["--node-seed-file", str(home_a / "secrets" / "node.seed")] if keep else []
    result = invoke("import", str(snapshot), "--home", str(tmp_path / "b"), *seed)
    assert result.exit_code == 0, result.stderr
    assert (tmp_path / "b" / "keyring").is_dir()
    challenge_a, key_a = _keys(home_a)
    challenge_b, key_b = _keys(tmp_path / "b")
    assert (challenge_a == challenge_b, key_a == key_b) == (keep, keep)


def _one_error_line(result: Result) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda data: data[:-20], "cut short (no newline at its end): the snapshot is truncated"),
        (lambda data: data.replace(b'"version":1', b'"version":2'), "format version 2"),
        (lambda data: data.replace(b'"load":3', b'"load":4'), "sha256 does not match"),
    ],
    ids=["truncated", "wrong version", "changed"],
)
def test_import_of_a_bad_snapshot_exits_2_and_creates_nothing(
    snapshot: Path, tmp_path: Path, make: object, message: str
) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(make(snapshot.read_bytes()))  # type: ignore[operator]
    result = invoke("import", str(bad), "--home", str(tmp_path / "b"))
    assert result.exit_code == 2
    line = _one_error_line(result)
    assert "the snapshot is refused" in line
    assert message in line
    assert not (tmp_path / "b").exists()


def test_import_into_a_database_that_holds_a_chain_exits_1_and_changes_nothing(
    home_a: Path, snapshot: Path, tmp_path: Path
) -> None:
    before = invoke("export", "--home", str(home_a)).stdout_bytes
    result = invoke(
        "import", str(snapshot), "--home", str(tmp_path / "b"), "--database", sqlite_url(home_a)
    )
    assert result.exit_code == 1
    assert "already holds chain wm-cli-1; import needs an empty one" in _one_error_line(result)
    assert not (tmp_path / "b").exists()
    assert invoke("export", "--home", str(home_a)).stdout_bytes == before


def test_import_into_a_database_on_another_schema_exits_1(snapshot: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    store = Store(url)
    with store.write() as session:
        upgrade(session.connection, "0005")
    store.close()
    result = invoke("import", str(snapshot), "--home", str(tmp_path / "b"), "--database", url)
    assert result.exit_code == 1
    assert "the database schema is at 0005" in _one_error_line(result)
    assert not (tmp_path / "b").exists()


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["missing.jsonl"], 2, "cannot read missing.jsonl"),
        (["{snapshot}", "--node-seed-file", "{snapshot}"], 2, "must hold 32 bytes"),
        (["{snapshot}", "--node-seed-file", "none.seed"], 2, "none.seed is missing"),
        (["{snapshot}", "--database-url", "nonsense"], 2, "is not a database URL"),
        (["{snapshot}", "--database-url", "mysql://x/y"], 2, "SQLite or PostgreSQL"),
    ],
    ids=["no file", "not a seed", "no seed file", "bad url", "other engine"],
)
def test_import_refuses_bad_options_and_creates_nothing(
    snapshot: Path, tmp_path: Path, args: list[str], code: int, message: str
) -> None:
    filled = [a.replace("{snapshot}", str(snapshot)) for a in args]
    result = invoke("import", *filled, "--home", str(tmp_path / "b"))
    assert result.exit_code == code
    assert message in _one_error_line(result)
    assert not (tmp_path / "b").exists()


def test_import_refuses_the_seed_of_another_chain(snapshot: Path, tmp_path: Path) -> None:
    make_home(tmp_path / "z", chain_id="wm-z-1")
    wrong = tmp_path / "z" / "secrets" / "node.seed"
    result = invoke(
        "import", str(snapshot), "--home", str(tmp_path / "b"), "--node-seed-file", str(wrong)
    )
    assert result.exit_code == 2
    assert "--node-seed-file is not the seed of the chain" in _one_error_line(result)
    assert not (tmp_path / "b").exists()


def test_import_into_an_existing_home_exits_1(home_a: Path, snapshot: Path) -> None:
    before = sorted(p.name for p in home_a.iterdir())
    result = invoke("import", str(snapshot), "--home", str(home_a))
    assert result.exit_code == 1
    assert "already a worker-manager home" in _one_error_line(result)
    assert sorted(p.name for p in home_a.iterdir()) == before


# -- verify's state hashes ---------------------------------------------------------------


def test_verify_prints_the_live_and_the_replayed_state_hash(home_a: Path) -> None:
    text = invoke("verify", "--home", str(home_a))
    assert text.exit_code == 0, text.stderr
    as_json = json.loads(invoke("verify", "--home", str(home_a), "--json").stdout)
    assert as_json["ok"] is True
    assert as_json["state_hash"] == as_json["replayed_state_hash"]
    assert len(as_json["state_hash"]) == 64
    assert f"state hash           {as_json['state_hash']}" in text.stderr
    assert f"replayed state hash  {as_json['state_hash']}" in text.stderr


def test_verify_shows_the_hashes_differ_when_the_state_was_changed(home_a: Path) -> None:
    store = Store(sqlite_url(home_a))
    with store.write() as session:
        session.connection.execute(update(workers).values(capacity=99))
    store.close()
    result = invoke("verify", "--home", str(home_a), "--json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["state_hash"] != report["replayed_state_hash"]
    assert "state hash: the replayed state's differs from the source's" in report["mismatches"]


# -- --database-url for one run ----------------------------------------------------------


@pytest.fixture
def home_c(home_a: Path, snapshot: Path, tmp_path: Path) -> Path:
    """Home a's chain moved on by one more block, in a home of its own (with a's seed:
    nodes refuse a database of another seed)."""
    home = tmp_path / "c"
    seed = home_a / "secrets" / "node.seed"
    result = invoke("import", str(snapshot), "--home", str(home), "--node-seed-file", str(seed))
    assert result.exit_code == 0, result.stderr
    node = build_node(load_settings(home))
    try:
        node.execute(ADMIN, register_msg("10.0.0.9"))
    finally:
        node.close()
        node.store.close()
    return home


def _height(result: Result) -> int:
    assert result.exit_code == 0, result.stderr
    return int(json.loads(result.stdout)["height"])


@pytest.mark.parametrize("option", ["--database-url", "--database"])
def test_database_url_replaces_the_homes_database_for_one_run(
    home_a: Path, home_c: Path, option: str
) -> None:
    other = sqlite_url(home_c)
    assert _height(invoke("info", "--home", str(home_a), option, other, "--json")) == 4
    assert _height(invoke("info", "--home", str(home_a), "--json")) == 3
    exported = invoke("export", "--home", str(home_a), option, other)
    assert exported.stdout_bytes == invoke("export", "--home", str(home_c)).stdout_bytes
    verified = invoke("verify", "--home", str(home_a), option, other, "--json")
    assert json.loads(verified.stdout)["blocks"] == 4  # home c's chain, not home a's 3
    migrated = invoke("migrate", "--home", str(home_a), option, other)
    assert migrated.exit_code == 0, migrated.stderr


def test_the_option_wins_over_wm_database_url(home_a: Path, home_c: Path) -> None:
    env = {"WM_DATABASE_URL": sqlite_url(home_a)}
    alone = invoke("info", "--home", str(home_c), "--json", env=env)
    assert _height(alone) == 3  # the variable over the file
    both = invoke(
        "info", "--home", str(home_c), "--database", sqlite_url(home_c), "--json", env=env
    )
    assert _height(both) == 4  # the option over both


def test_an_empty_database_url_means_the_sqlite_file_in_the_home(
    home_a: Path, home_c: Path
) -> None:
    env = {"WM_DATABASE_URL": sqlite_url(home_c)}
    assert _height(invoke("info", "--home", str(home_a), "--json", env=env)) == 4
    result = invoke("info", "--home", str(home_a), "--database-url", "", "--json", env=env)
    assert _height(result) == 3


def test_init_takes_the_database_alias(tmp_path: Path) -> None:
    database = tmp_path / "elsewhere.db"
    result = invoke(
        "init", "--home", str(tmp_path / "h"), "--chain-id", "wm-d-1", "--admin", ADMIN,
        "--database", f"sqlite:///{database}", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["database"] == f"sqlite:///{database}"
    assert database.exists()
    assert not (tmp_path / "h" / "worker-manager.db").exists()


@pytest.mark.parametrize("command", ["info", "migrate", "verify", "export", "serve"])
def test_a_bad_database_url_exits_2(home_a: Path, command: str) -> None:
    result = invoke(command, "--home", str(home_a), "--database-url", "::nonsense::")
    assert result.exit_code == 2
    assert "--database-url is not a database URL" in _one_error_line(result)
