"""Where the agent learns what work was done: lines a metering proxy writes.

Format (JSON lines, one object per line, in a file or from an HTTP endpoint)::

    {"time": 1767225601.5, "subscriber": "02ab...", "requests": 1,
     "input_tokens": 812, "output_tokens": 256}

``time`` is Unix seconds; ``requests`` defaults to 1 and the token counts to 0.
Lines may be per request or already summed. The HTTP endpoint is asked with
``?from=T0&to=T1`` (Unix seconds, ``to`` exclusive) and answers the same lines.
Malformed lines are skipped with a warning, never fatal.
"""

import json
import logging
from collections import defaultdict
from pathlib import Path

import httpx

log = logging.getLogger(__name__)

Totals = dict[str, tuple[int, int, int]]


def _add(totals: dict[str, list[int]], line: object, start: float, end: float) -> None:
    if not isinstance(line, dict):
        raise ValueError("not a JSON object")
    time = float(line["time"])
    if not start <= time < end:
        return
    subscriber = str(line["subscriber"]).strip().lower()
    if not subscriber:
        raise ValueError("empty subscriber")
    values = [
        int(line.get("requests", 1)),
        int(line.get("input_tokens", 0)),
        int(line.get("output_tokens", 0)),
    ]
    if min(values) < 0:
        raise ValueError("negative counts")
    for i, value in enumerate(values):
        totals[subscriber][i] += value


def summarize(lines: list[str], start: float, end: float, *, source: str) -> Totals:
    """Sum the lines whose time is in ``[start, end)``, per subscriber."""
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for number, text in enumerate(lines, 1):
        if not text.strip():
            continue
        try:
            _add(totals, json.loads(text), start, end)
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("%s line %d skipped: %s", source, number, exc)
    return {s: (v[0], v[1], v[2]) for s, v in totals.items()}


def read_file(path: Path, start: float, end: float) -> Totals:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return {}
    return summarize(lines, start, end, source=str(path))


def read_url(url: str, start: float, end: float, *, timeout: float = 10.0) -> Totals:
    """Ask the metering endpoint; raises ``httpx.HTTPError`` when it cannot answer."""
    response = httpx.get(url, params={"from": start, "to": end}, timeout=timeout)
    response.raise_for_status()
    return summarize(response.text.splitlines(), start, end, source=url)


def as_usage(totals: Totals) -> list[dict[str, object]]:
    return [
        {"subscriber": s, "requests": r, "input_tokens": i, "output_tokens": o}
        for s, (r, i, o) in sorted(totals.items())
    ]
