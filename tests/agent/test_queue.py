"""The report queue on disk: what a restart finds, what an older agent left."""

import json
from pathlib import Path

from worker_manager.agent.queue import ReportQueue


def test_reports_and_the_cursor_survive_a_restart(tmp_path: Path) -> None:
    queue = ReportQueue(tmp_path)
    queue.add(12, 10, [{"subscriber": "02aa", "requests": 1}])
    queue.add(11, 10, [])
    queue.set_queued_until(130, 12, 10)
    again = ReportQueue(tmp_path)
    assert [(r.period, r.period_seconds, r.usage) for r in again.pending()] == [
        (11, 10, []),
        (12, 10, [{"subscriber": "02aa", "requests": 1}]),
    ]
    assert again.queued_until(10) == 130
    assert again.queued_until(3600) == 130  # a time: the same whatever the period length


def test_what_an_older_agent_left_is_read_in_the_current_period_length(tmp_path: Path) -> None:
    (tmp_path / "pending").mkdir()
    (tmp_path / "reported.json").write_text(json.dumps({"last_period": 41}))
    (tmp_path / "pending" / "41.json").write_text(json.dumps({"period": 41, "usage": []}))
    queue = ReportQueue(tmp_path)
    assert queue.queued_until(10) == 420
    assert [(r.period, r.period_seconds) for r in queue.pending()] == [(41, None)]


def test_a_write_cut_short_leaves_nothing_behind(tmp_path: Path) -> None:
    (tmp_path / "pending").mkdir()
    (tmp_path / "pending" / ".tmp-abc").write_text('{"period": 4')  # stopped mid-write
    (tmp_path / ".tmp-def").write_text("{")
    queue = ReportQueue(tmp_path)
    assert queue.pending() == []
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == []


def test_an_unreadable_pending_file_is_moved_to_refused(tmp_path: Path) -> None:
    queue = ReportQueue(tmp_path)
    queue.add(5, 10, [])
    (queue.pending_dir / "6.json").write_text("not json")
    assert [r.period for r in queue.pending()] == [5]
    assert [p.name for p in (tmp_path / "refused").iterdir()] == ["6.json"]


def test_setting_aside_keeps_an_earlier_report_of_the_same_number(tmp_path: Path) -> None:
    queue = ReportQueue(tmp_path)
    for length in (10, 3600):
        queue.add(7, length, [])
        queue.set_aside(queue.pending()[0], "expired")
    lengths = sorted(
        json.loads(p.read_text())["period_seconds"] for p in (tmp_path / "expired").iterdir()
    )
    assert lengths == [10, 3600]


def test_a_removed_state_directory_is_made_again(tmp_path: Path) -> None:
    queue = ReportQueue(tmp_path / "state")
    (tmp_path / "state" / "pending").rmdir()
    (tmp_path / "state").rmdir()
    queue.set_queued_until(20, 1, 10)
    queue.add(1, 10, [])
    assert queue.queued_until(10) == 20
    assert [r.period for r in queue.pending()] == [1]
