"""``keys`` through the real command line (in-process Typer runner)."""

import os
import stat
from pathlib import Path

from typer.testing import CliRunner

from worker_manager.cli.main import app

runner = CliRunner()


def test_keys_add_creates_a_missing_home_owner_only(tmp_path: Path) -> None:
    home = tmp_path / "new" / "home"
    previous = os.umask(0o022)  # a plain mkdir would make it 0755
    try:
        result = runner.invoke(
            app, ["keys", "add", "first", "--home", str(home)], env={"WM_KEYRING_PASSPHRASE": "pw"}
        )
    finally:
        os.umask(previous)
    assert result.exit_code == 0, result.stderr
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    assert stat.S_IMODE((home / "keyring").stat().st_mode) == 0o700


def test_keys_list_creates_nothing(tmp_path: Path) -> None:
    result = runner.invoke(app, ["keys", "list", "--home", str(tmp_path / "none")])
    assert result.exit_code == 0
    assert not (tmp_path / "none").exists()
