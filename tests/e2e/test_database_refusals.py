"""A database the node cannot use is one clear error line and its exit code, never a
traceback: one it cannot reach (exit 3), one whose schema is newer than the code (exit 1)."""

import sqlite3
from pathlib import Path

from tests.e2e.conftest import cli, free_port

ADMIN = "secret1snf0y77qz9hgh69fefffjdv5tedfd6rmewzzsz"
NOWHERE = f"postgresql+psycopg://wm:secret@127.0.0.1:{free_port()}/wm"


def _one_error_line(stderr: str) -> str:
    assert "Traceback" not in stderr, stderr
    assert "╭" not in stderr, stderr  # no rich traceback either
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, stderr
    return errors[0]


def test_init_on_a_database_it_cannot_reach_exits_3_and_leaves_no_home(tmp_path: Path) -> None:
    home = tmp_path / "home"
    result = cli(
        "init", "--home", str(home), "--chain-id", "wm-x-1", "--admin", ADMIN,
        "--database-url", NOWHERE, check=False,
    )  # fmt: skip
    assert result.returncode == 3
    line = _one_error_line(result.stderr)
    assert "cannot be migrated now" in line
    assert "secret" not in line  # the password stays hidden
    assert not home.exists()


def test_a_schema_newer_than_the_code_is_refused_by_migrate_and_serve(tmp_path: Path) -> None:
    home = tmp_path / "home"
    cli("init", "--home", str(home), "--chain-id", "wm-x-2", "--admin", ADMIN, "--port",
        str(free_port()))  # fmt: skip
    with sqlite3.connect(home / "worker-manager.db") as db:  # as a later version leaves it
        db.execute("UPDATE alembic_version SET version_num = '9999'")
    for command in (["migrate"], ["serve"]):
        result = cli(*command, "--home", str(home), check=False)
        assert result.returncode == 1, (command, result.stderr)
        line = _one_error_line(result.stderr)
        assert "the database schema is at 9999, newer than this code knows" in line, line
