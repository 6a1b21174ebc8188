"""Where the agent learns what work was done: lines a metering proxy writes.

Format (JSON lines, one object per line, in a file or from an HTTP endpoint)::

    {"time": 1767225601.5, "subscriber": "02ab...", "requests": 1,
     "input_tokens": 812, "output_tokens": 256}

``time`` is Unix seconds; ``requests`` defaults to 1 and the token counts to 0.
Lines may be per request or already summed. The HTTP endpoint is asked with
``?from=T0&to=T1`` (Unix seconds, ``to`` exclusive) and answers the same lines.

A source that cannot be read (no file, not a regular file, not UTF-8 text, the
endpoint refusing, failing or too slow) raises :class:`UsageUnavailable`; the
agent then queues nothing and asks again later. A malformed line is skipped with
a warning, once per distinct line (:class:`WarnedLines`), never fatal.
"""

import bisect
import hashlib
import json
import logging
import math
import os
import stat
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from worker_manager.agent.periods import Span
from worker_manager.contract.reports import MAX_COUNTER

log = logging.getLogger(__name__)

#: The most the agent reads from its metering source in one go.
MAX_SOURCE_BYTES = 256 * 1024 * 1024
Usage = list[dict[str, object]]


class UsageUnavailable(Exception):
    """The metering source cannot be read now (the message says why)."""


class WarnedLines:
    """The malformed lines already warned about, so each distinct one is warned once."""

    MAX_REMEMBERED = 100_000

    def __init__(self) -> None:
        self._seen: set[bytes] = set()

    def first_time(self, source: str, text: str) -> bool:
        digest = hashlib.sha256(f"{source}\0{text}".encode()).digest()[:16]
        if digest in self._seen:
            return False
        if len(self._seen) >= self.MAX_REMEMBERED:
            self._seen.clear()  # bounded memory: very old lines may be warned again
        self._seen.add(digest)
        return True


@dataclass(frozen=True, slots=True)
class UsageLine:
    time: float
    subscriber: str
    counts: tuple[int, int, int]


def parse_line(text: str) -> UsageLine:
    """One usage line; raises ``ValueError`` saying what is wrong with it."""
    try:
        line = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON ({exc.msg})") from exc
    except RecursionError as exc:
        raise ValueError("nested too deeply") from exc
    if not isinstance(line, dict):
        raise ValueError("not a JSON object")
    try:
        when = float(line["time"])
        subscriber = str(line["subscriber"]).strip().lower()
        counts = (
            int(line.get("requests", 1)),
            int(line.get("input_tokens", 0)),
            int(line.get("output_tokens", 0)),
        )
    except KeyError as exc:
        raise ValueError(f"no {exc.args[0]}") from exc
    except (TypeError, OverflowError) as exc:
        raise ValueError(str(exc)) from exc
    if not math.isfinite(when):
        raise ValueError("time is not a finite number")
    if not subscriber:
        raise ValueError("empty subscriber")
    if min(counts) < 0:
        raise ValueError("negative counts")
    if max(counts) > MAX_COUNTER:
        raise ValueError(f"a count above {MAX_COUNTER}")
    return UsageLine(when, subscriber, counts)


def usage_by_period(
    text: str, spans: list[Span], *, source: str, warned: WarnedLines
) -> dict[int, Usage]:
    """Sum the lines per span (oldest first, not overlapping) and per subscriber."""
    starts = [span.start for span in spans]
    totals: dict[int, dict[str, list[int]]] = {
        span.period: defaultdict(lambda: [0, 0, 0]) for span in spans
    }
    for number, raw in enumerate(text.splitlines(), 1):
        if not raw.strip():
            continue
        try:
            line = parse_line(raw)
        except ValueError as exc:
            if warned.first_time(source, raw):
                log.warning("%s line %d skipped: %s", source, number, exc)
            continue
        index = bisect.bisect_right(starts, line.time) - 1
        if index < 0 or line.time >= spans[index].end:
            continue
        summed = totals[spans[index].period][line.subscriber]
        for i, value in enumerate(line.counts):
            summed[i] += value
    return {
        period: [
            {"subscriber": s, "requests": r, "input_tokens": i, "output_tokens": o}
            for s, (r, i, o) in sorted(per_subscriber.items())
        ]
        for period, per_subscriber in totals.items()
    }


def _text(data: bytes, source: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageUnavailable(f"{source} is not UTF-8 text (byte {exc.start})") from exc


def read_file(path: Path) -> str:
    """The whole file; a FIFO, a directory or a device is refused, never waited on."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        raise UsageUnavailable(f"cannot open {path}: {exc.strerror}") from exc
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise UsageUnavailable(f"{path} is not a regular file")
        chunks: list[bytes] = []
        size = 0
        while chunk := os.read(fd, 1024 * 1024):
            size += len(chunk)
            if size > MAX_SOURCE_BYTES:
                raise UsageUnavailable(f"{path} is larger than {MAX_SOURCE_BYTES} bytes")
            chunks.append(chunk)
    except OSError as exc:
        raise UsageUnavailable(f"cannot read {path}: {exc.strerror}") from exc
    finally:
        os.close(fd)
    data = b"".join(chunks)
    return _text(data, str(path))


def read_url(url: str, start: float, end: float, *, timeout: float) -> str:
    """The endpoint's answer for ``[start, end)``, read within ``timeout`` seconds in all."""
    deadline = time.monotonic() + timeout
    chunks: list[bytes] = []
    size = 0
    try:
        with httpx.stream(
            "GET", url, params={"from": start, "to": end}, timeout=timeout
        ) as response:
            response.raise_for_status()
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > MAX_SOURCE_BYTES:
                    raise UsageUnavailable(f"{url} answered more than {MAX_SOURCE_BYTES} bytes")
                if time.monotonic() > deadline:
                    raise UsageUnavailable(f"{url} took more than {timeout:g}s to answer")
                chunks.append(chunk)
    except httpx.HTTPError as exc:
        raise UsageUnavailable(f"{url}: {exc}") from exc
    return _text(b"".join(chunks), url)


@dataclass
class UsageReader:
    """The configured source (a file, a URL, or none: no usage)."""

    file: Path | None
    url: str | None
    timeout: float
    warned: WarnedLines = field(default_factory=WarnedLines)

    def by_period(self, spans: list[Span]) -> dict[int, Usage]:
        """Each span's usage; raises :class:`UsageUnavailable` if the source cannot be read."""
        if not spans:
            return {}
        if self.url:
            source = self.url
            text = read_url(source, spans[0].start, spans[-1].end, timeout=self.timeout)
        elif self.file:
            source, text = str(self.file), read_file(self.file)
        else:
            source, text = "no source", ""
        return usage_by_period(text, spans, source=source, warned=self.warned)
