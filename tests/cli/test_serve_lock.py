"""The serve lock: one holder per home, named when refused, gone when released.

``flock`` locks belong to an open file, so a second open in this same process
contends just as another process would (tests/e2e/test_serve.py covers processes)."""

import os
from pathlib import Path

import pytest

from worker_manager.serve_lock import (
    LOCK_FILE,
    HomeInUse,
    serve_lock,
    serving_pid,
    serving_url,
)


def test_a_held_home_refuses_a_second_holder_and_names_the_first(tmp_path: Path) -> None:
    with serve_lock(tmp_path):
        assert serving_pid(tmp_path) == os.getpid()
        with pytest.raises(HomeInUse) as refused, serve_lock(tmp_path):
            pass  # pragma: no cover - never entered
        assert refused.value.pid == os.getpid()
        assert refused.value.home == tmp_path
        assert f"{tmp_path} is already served by another node (pid {os.getpid()})" in str(
            refused.value
        )
        assert "not supported yet" in str(refused.value)


def test_a_released_lock_can_be_taken_again(tmp_path: Path) -> None:
    with serve_lock(tmp_path):
        pass
    assert serving_pid(tmp_path) is None
    with serve_lock(tmp_path):
        assert (tmp_path / LOCK_FILE).read_text() == f"{os.getpid()}\n\n"
        assert serving_url(tmp_path) is None


def test_the_lock_names_the_url_it_serves_while_held(tmp_path: Path) -> None:
    with serve_lock(tmp_path, "http://127.0.0.1:18317"):
        assert serving_url(tmp_path) == "http://127.0.0.1:18317"
        assert serving_pid(tmp_path) == os.getpid()
    assert serving_url(tmp_path) is None  # the file stays; nobody serves


def test_asking_who_serves_a_home_creates_nothing(tmp_path: Path) -> None:
    assert serving_pid(tmp_path) is None
    assert serving_pid(tmp_path / "missing") is None
    assert serving_url(tmp_path) is None
    assert list(tmp_path.iterdir()) == []
