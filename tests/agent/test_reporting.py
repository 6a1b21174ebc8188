"""The reporting job against a real node on a clock the test moves: it follows a change
of the period length, keeps to the window the contract takes, sets aside what fell out
of it without sending it, and waits for an unreadable metering source."""

import json
import logging
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.agent.conftest import GENESIS_S, IP, ClockedNode, Metering, Reporting
from worker_manager.agent.periods import ReportRules
from worker_manager.client import TxFailed

HOUR = 3600


def usage_line(when: float, subscriber: str = "02aa", requests: int = 1) -> str:
    return json.dumps({"time": when, "subscriber": subscriber, "requests": requests}) + "\n"


def reported(reporting: Reporting) -> dict[int, int]:
    """Period -> requests, of the reports the node holds for the worker."""
    return {
        r.period: sum(u.requests for u in r.usage)
        for r in reporting.client.work_reports(ip_address=IP)
    }


def test_the_window_the_agent_keeps_to_is_the_contracts(
    test_node: ClockedNode, reporting: Callable[..., Reporting]
) -> None:
    """The node takes exactly the periods ``ReportRules.accepts`` says it takes."""
    test_node.set_config(work_period_seconds=10, work_report_window_periods=5)
    test_node.set_time(GENESIS_S + 1005)
    rules = ReportRules(epoch_seconds=60, period_seconds=10, window_periods=5)
    rep = reporting()
    now = test_node.now()
    current = rules.current_period(now)
    for period in range(current - 7, current + 2):
        if rules.accepts(period, now):
            rep.client.report_work(IP, period, [], worker_key=rep.reporter.key)
        else:
            with pytest.raises(TxFailed) as err:
                rep.client.report_work(IP, period, [], worker_key=rep.reporter.key)
            assert err.value.code == "invalid_field"
    assert len(reported(rep)) == 5


def test_a_shorter_period_re_bases_and_queues_one_window_at_most(
    test_node: ClockedNode,
    reporting: Callable[..., Reporting],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The issue's case: hour-long periods become 10 s while the agent runs."""
    usage = tmp_path / "usage.jsonl"
    start = GENESIS_S + 3 * HOUR
    usage.write_text(usage_line(start - 100, requests=2))  # in the hour before
    test_node.set_time(start + 100)
    rep = reporting(file="usage.jsonl")
    rep.reporter.step()
    assert reported(rep) == {start // HOUR - 1: 2}  # the hour that just ended

    test_node.set_config(work_period_seconds=10)  # window: 48 periods
    test_node.set_time(start + 1000)
    with usage.open("a") as handle:
        handle.write(usage_line(start + 500, "02bb", 3))  # out of the window by then
        handle.write(usage_line(start + 905, "02cc", 4))  # inside it
    with caplog.at_level(logging.INFO):
        rep.reporter.step()
    sent = reported(rep)
    new = sorted(p for p in sent if p > start // 10 - 1000)
    assert len(new) == 48 - 1  # the window, less the period still settling
    assert new[0] == (start + 1000) // 10 - 48
    assert new[-1] == (start + 1000) // 10 - 2
    assert sent[(start + 905) // 10] == 4
    assert (start + 500) // 10 not in sent
    assert rep.pending() == []
    assert "contract settings changed: periods of 10s (were 3600s)" in caplog.text
    assert f"periods {start // 10} to {(start + 1000) // 10 - 49} ended more than 48" in (
        caplog.text
    )


def test_a_longer_period_reports_only_the_usage_not_reported_yet(
    test_node: ClockedNode, reporting: Callable[..., Reporting], tmp_path: Path
) -> None:
    test_node.set_config(work_period_seconds=10)
    usage = tmp_path / "usage.jsonl"
    usage.write_text(usage_line(GENESIS_S + 65, requests=5))
    test_node.set_time(GENESIS_S + 61)
    rep = reporting(file="usage.jsonl")
    rep.reporter.step()  # first run: the 10 s period that just ended
    test_node.set_time(GENESIS_S + 71)
    rep.reporter.step()
    assert reported(rep) == {(GENESIS_S + 50) // 10: 0, (GENESIS_S + 60) // 10: 5}

    test_node.set_config(work_period_seconds=HOUR)
    with usage.open("a") as handle:
        handle.write(usage_line(GENESIS_S + 1800, requests=7))
    test_node.set_time(GENESIS_S + HOUR + 2)
    rep.reporter.step()
    # the hour holds the 7 requests, not the 5 already reported for a 10 s period
    assert reported(rep)[GENESIS_S // HOUR] == 7


def test_queued_reports_out_of_the_window_are_set_aside_never_sent(
    test_node: ClockedNode,
    reporting: Callable[..., Reporting],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    test_node.set_config(work_period_seconds=10, work_report_window_periods=5)
    now = GENESIS_S + 10_000
    test_node.set_time(now)
    (tmp_path / "usage.jsonl").write_text("")
    rep = reporting(file="usage.jsonl")
    current = now // 10
    for period in range(current - 100, current - 5):  # a backlog, out of the window
        rep.queue.add(period, 10, [])
    rep.queue.add(current - 3, 10, [])  # inside it
    rep.queue.add(current - 4, 3600, [])  # queued under another period length
    # written by an older agent: no period length, read as the current one
    (rep.queue.pending_dir / f"{current - 200}.json").write_text(
        json.dumps({"period": current - 200, "usage": []})
    )
    rep.queue.set_queued_until(now - 20, current - 3, 10)
    sequence = rep.client.account().sequence  # counts every tx the worker key signs
    with caplog.at_level(logging.WARNING):
        rep.reporter.step()
    assert set(reported(rep)) == {current - 3, current - 2}
    assert len(rep.aside("expired")) == 95 + 1 + 1
    assert rep.pending() == []
    assert len([r for r in caplog.records if "moved to" in r.getMessage()]) == 2
    assert "96 queued work report(s) (periods" in caplog.text
    assert (
        "1 queued work report(s) (periods "
        f"{current - 4}) queued for other period lengths, now 10s" in caplog.text
    )
    # two report txs, no more: nothing out of the window was sent
    assert rep.client.account().sequence == sequence + 2


def test_a_report_that_falls_out_of_the_window_while_waiting_is_not_sent(
    test_node: ClockedNode, reporting: Callable[..., Reporting], tmp_path: Path
) -> None:
    test_node.set_config(work_period_seconds=10, work_report_window_periods=5)
    test_node.set_time(GENESIS_S + 10_005)
    (tmp_path / "usage.jsonl").write_text("")
    rep = reporting(file="usage.jsonl")
    rep.reporter.registered.clear()  # not registered yet: reports wait
    rep.reporter.step()
    assert rep.pending() == [(GENESIS_S + 10_005) // 10 - 1]
    test_node.set_time(GENESIS_S + 10_105)  # ten periods later
    rep.reporter.registered.set()
    rep.reporter.step()
    assert len(rep.aside("expired")) == 1
    assert min(reported(rep)) == (GENESIS_S + 10_105) // 10 - 5


@pytest.mark.parametrize("broken", ["missing", "directory", "fifo", "binary"])
def test_an_unreadable_usage_file_leaves_the_period_for_later(
    test_node: ClockedNode,
    reporting: Callable[..., Reporting],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    broken: str,
) -> None:
    test_node.set_config(work_period_seconds=10)
    usage = tmp_path / "usage.jsonl"
    if broken == "directory":
        usage.mkdir()
    elif broken == "fifo":
        os.mkfifo(usage)
    elif broken == "binary":
        usage.write_bytes(b"\x00\xff\xfe garbage \x81")
    test_node.set_time(GENESIS_S + 1005)
    rep = reporting(file="usage.jsonl")
    with caplog.at_level(logging.WARNING):
        for _ in range(3):
            assert rep.reporter.step() > 0
    assert rep.pending() == []
    assert reported(rep) == {}
    warnings = [
        r.getMessage()
        for r in caplog.records
        if r.levelno >= logging.WARNING and r.name.startswith("worker_manager.agent")
    ]
    assert len(warnings) == 1  # once, not once per pass
    assert warnings[0].startswith("metering source unreadable")

    if usage.is_dir():
        usage.rmdir()
    else:
        usage.unlink(missing_ok=True)
    usage.write_text(usage_line(GENESIS_S + 995, requests=6))
    test_node.set_time(GENESIS_S + 1025)  # two periods later: the first one waited
    rep.reporter.step()
    assert reported(rep) == {
        (GENESIS_S + 990) // 10: 6,
        (GENESIS_S + 1000) // 10: 0,
        (GENESIS_S + 1010) // 10: 0,
    }


@pytest.mark.parametrize("mode", ["fail", "hang", "garbage"])
def test_a_failing_metering_endpoint_leaves_the_period_for_later(
    test_node: ClockedNode,
    reporting: Callable[..., Reporting],
    metering: Metering,
    caplog: pytest.LogCaptureFixture,
    mode: str,
) -> None:
    test_node.set_config(work_period_seconds=10)
    test_node.set_time(GENESIS_S + 1005)
    metering.mode = mode
    rep = reporting(url=metering.url, timeout=0.5)
    with caplog.at_level(logging.WARNING):
        rep.reporter.step()
    assert rep.pending() == []
    assert "metering source unreadable" in caplog.text
    metering.mode = "ok"
    metering.body = usage_line(GENESIS_S + 995, requests=2)
    rep.reporter.step()
    assert reported(rep) == {(GENESIS_S + 990) // 10: 2}


def test_a_refused_metering_connection_leaves_the_period_for_later(
    test_node: ClockedNode, reporting: Callable[..., Reporting], caplog: pytest.LogCaptureFixture
) -> None:
    from tests.e2e.conftest import free_port

    test_node.set_config(work_period_seconds=10)
    test_node.set_time(GENESIS_S + 1005)
    rep = reporting(url=f"http://127.0.0.1:{free_port()}/usage")
    with caplog.at_level(logging.WARNING):
        rep.reporter.step()
    assert rep.pending() == []
    assert reported(rep) == {}
    assert "metering source unreadable" in caplog.text


def test_periods_waiting_for_the_source_are_given_up_only_past_the_window(
    test_node: ClockedNode,
    reporting: Callable[..., Reporting],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    test_node.set_config(work_period_seconds=10, work_report_window_periods=5)
    test_node.set_time(GENESIS_S + 1005)
    rep = reporting(file="usage.jsonl")  # no file yet
    rep.reporter.step()
    test_node.set_time(GENESIS_S + 1205)  # twenty periods later
    (tmp_path / "usage.jsonl").write_text("")
    with caplog.at_level(logging.WARNING):
        rep.reporter.step()
    assert sorted(reported(rep)) == list(
        range((GENESIS_S + 1205) // 10 - 5, (GENESIS_S + 1205) // 10)
    )
    assert "past the window the contract takes; their work is not reported" in caplog.text


def test_a_stop_request_ends_a_catch_up_between_two_reports(
    test_node: ClockedNode, reporting: Callable[..., Reporting], tmp_path: Path
) -> None:
    test_node.set_config(work_period_seconds=10)
    test_node.set_time(GENESIS_S + 1005)
    (tmp_path / "usage.jsonl").write_text("")
    rep = reporting(file="usage.jsonl")
    rep.queue.set_queued_until(GENESIS_S + 700, 69, 10)  # thirty periods behind
    for period in range(GENESIS_S // 10 + 60, GENESIS_S // 10 + 70):
        rep.queue.add(period, 10, [])  # and ten reports waiting
    sequence = rep.client.account().sequence
    rep.reporter.stopping.set()
    rep.reporter.step()
    assert rep.client.account().sequence == sequence  # nothing sent
    assert len(rep.pending()) == 10  # nothing queued
    rep.reporter.stopping.clear()
    rep.reporter.step()
    assert rep.pending() == []
    assert len(reported(rep)) == 10 + 30
