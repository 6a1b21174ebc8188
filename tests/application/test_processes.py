"""The supervisor of ``serve --workers N`` with real spawned processes: one that keeps
dying at its start makes it give up (exit 1 for ``serve``) instead of looping forever;
one that dies after running a while is started again."""

import os
import socket
import sys
import threading
import time
from pathlib import Path

import pytest

from worker_manager.application import processes
from worker_manager.application.errors import Failed
from worker_manager.application.processes import Supervisor
from worker_manager.settings import Settings


def exit_at_once(_settings: Settings, _listeners: list[socket.socket], _index: int) -> None:
    sys.exit(3)


def count_starts(settings: Settings, _listeners: list[socket.socket], index: int) -> None:
    """Note each start in a file in the home, then die after a short life."""
    with (settings.home / f"starts-{index}").open("a") as out:
        out.write(f"{os.getpid()}\n")
    time.sleep(0.3)
    sys.exit(0)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path, chain_id="wm-test-1", database_url="sqlite://")


def test_a_process_that_keeps_dying_at_its_start_is_given_up(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(processes, "MAX_QUICK_DEATHS", 2)
    with pytest.raises(Failed, match="failed 2 times in a row"):
        Supervisor(settings, [], 1, target=exit_at_once).run()


def test_a_process_that_dies_later_is_started_again_until_a_stop_signal(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(processes, "QUICK_DEATH_S", 0.1)  # a 0.3 s life is not quick
    supervisor = Supervisor(settings, [], 2, target=count_starts)
    threading.Timer(4.0, supervisor.stop).start()
    supervisor.run()
    for index in range(2):
        starts = (settings.home / f"starts-{index}").read_text().split()
        assert len(starts) >= 2
        assert len(set(starts)) == len(starts)
