"""Reading usage lines: sources that cannot be read say so (never block, never crash),
hostile lines are skipped, and each malformed line is warned about once."""

import json
import logging
import os
import socket
import time
from pathlib import Path

import pytest

from tests.agent.conftest import Metering
from worker_manager.agent.periods import Span
from worker_manager.agent.usage import (
    UsageReader,
    UsageUnavailable,
    WarnedLines,
    read_file,
    usage_by_period,
)

SPANS = [Span(100, 1000, 1010), Span(101, 1010, 1020)]


def line(when: float, subscriber: str = "02aa", **counts: int) -> str:
    return json.dumps({"time": when, "subscriber": subscriber, **counts})


def test_lines_are_summed_per_period_and_subscriber() -> None:
    text = "\n".join(
        [
            line(1000, requests=2, input_tokens=10),
            line(1009.9, "02AA", output_tokens=5),
            line(1010, "02bb"),
            line(999.9),  # before the first span
            line(1020),  # after the last
        ]
    )
    usage = usage_by_period(text, SPANS, source="test", warned=WarnedLines())
    assert usage == {
        100: [{"subscriber": "02aa", "requests": 3, "input_tokens": 10, "output_tokens": 5}],
        101: [{"subscriber": "02bb", "requests": 1, "input_tokens": 0, "output_tokens": 0}],
    }


HOSTILE = [
    "not json",
    "[1, 2]",
    '{"subscriber": "02aa"}',
    '{"time": 1000}',
    '{"time": 1000, "subscriber": ""}',
    '{"time": 1000, "subscriber": "02aa", "requests": -1}',
    '{"time": NaN, "subscriber": "02aa"}',
    '{"time": 1e999, "subscriber": "02aa"}',
    '{"time": 1000, "subscriber": "02aa", "requests": 1e999}',
    '{"time": 1000, "subscriber": "02aa", "requests": 9007199254740992}',
    '{"time": 1000, "subscriber": "02aa", "requests": "many"}',
    '{"time": 1000, "subscriber": "02aa", "requests": null}',
    "[" * 100_000,
]


def agent_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The agent's own warnings (other threads of the test process may log too)."""
    return [
        r.getMessage()
        for r in caplog.records
        if r.levelno >= logging.WARNING and r.name.startswith("worker_manager.agent")
    ]


def test_hostile_lines_are_skipped_and_the_good_ones_kept(
    caplog: pytest.LogCaptureFixture,
) -> None:
    text = "\n".join([*HOSTILE, line(1001, requests=4)])
    with caplog.at_level(logging.WARNING):
        usage = usage_by_period(text, SPANS, source="test", warned=WarnedLines())
    assert usage[100] == [
        {"subscriber": "02aa", "requests": 4, "input_tokens": 0, "output_tokens": 0}
    ]
    assert usage[101] == []
    assert len(agent_warnings(caplog)) == len(HOSTILE)


def test_each_malformed_line_is_warned_about_once_across_passes(
    caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    usage_file = tmp_path / "usage.jsonl"
    usage_file.write_text(f"not json\n{line(1001)}\n{{broken\n")
    reader = UsageReader(usage_file, None, timeout=1)
    with caplog.at_level(logging.WARNING):
        for _ in range(5):  # five passes over the same file
            reader.by_period(SPANS)
    assert agent_warnings(caplog) == [
        f"{usage_file} line 1 skipped: not JSON (Expecting value)",
        f"{usage_file} line 3 skipped: not JSON (Expecting property name enclosed in "
        "double quotes)",
    ]
    caplog.clear()
    with usage_file.open("a") as handle:
        handle.write("a new bad line\n")
    with caplog.at_level(logging.WARNING):
        reader.by_period(SPANS)
        reader.by_period(SPANS)
    assert agent_warnings(caplog) == [f"{usage_file} line 4 skipped: not JSON (Expecting value)"]


def test_a_missing_file_is_unavailable(tmp_path: Path) -> None:
    with pytest.raises(UsageUnavailable, match="cannot open"):
        read_file(tmp_path / "nothing.jsonl")


def test_a_directory_in_the_files_place_is_unavailable(tmp_path: Path) -> None:
    (tmp_path / "usage.jsonl").mkdir()
    with pytest.raises(UsageUnavailable, match="not a regular file"):
        read_file(tmp_path / "usage.jsonl")


def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path: Path) -> None:
    fifo = tmp_path / "usage.jsonl"
    os.mkfifo(fifo)
    started = time.monotonic()
    with pytest.raises(UsageUnavailable, match="not a regular file"):
        read_file(fifo)
    assert time.monotonic() - started < 1


def test_binary_garbage_is_unavailable(tmp_path: Path) -> None:
    garbage = tmp_path / "usage.jsonl"
    garbage.write_bytes(line(1001).encode() + b"\n\xff\xfe\x00\x81binary\n")
    with pytest.raises(UsageUnavailable, match="not UTF-8 text"):
        read_file(garbage)


def test_a_refused_connection_is_unavailable() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{s.getsockname()[1]}/usage"
    with pytest.raises(UsageUnavailable, match=r"127\.0\.0\.1"):
        UsageReader(None, url, timeout=2).by_period(SPANS)


@pytest.mark.parametrize(
    ("mode", "says"),
    [
        ("fail", "500"),
        ("garbage", "not UTF-8 text"),
        ("hang", "timed out"),
        ("drip", "took more than 0.5s"),
    ],
)
def test_an_endpoint_that_fails_is_unavailable_within_the_timeout(
    metering: Metering, mode: str, says: str
) -> None:
    metering.mode = mode
    started = time.monotonic()
    with pytest.raises(UsageUnavailable, match=says):
        UsageReader(None, metering.url, timeout=0.5).by_period(SPANS)
    assert time.monotonic() - started < 2
    assert metering.asked == ["/usage?from=1000&to=1020"]


def test_an_endpoint_is_asked_once_for_all_the_spans(metering: Metering) -> None:
    metering.body = f"{line(1001, requests=2)}\n{line(1015, '02bb')}\n"
    usage = UsageReader(None, metering.url, timeout=2).by_period(SPANS)
    assert [u["requests"] for u in usage[100]] == [2]
    assert [u["subscriber"] for u in usage[101]] == ["02bb"]
    assert len(metering.asked) == 1
