"""Where the node gets time from. The contract never asks; the node passes it in ``Env``."""

import time
from typing import Protocol


class Clock(Protocol):
    def now_ns(self) -> int:
        """Unix time in nanoseconds."""
        ...


class SystemClock:
    """Wall-clock time."""

    def now_ns(self) -> int:
        return time.time_ns()


class FixedClock:
    """A clock that moves only when told to: for tests and deterministic replays."""

    def __init__(self, start_ns: int) -> None:
        self._now = start_ns

    def now_ns(self) -> int:
        return self._now

    def advance(self, seconds: float) -> None:
        self._now += int(seconds * 1_000_000_000)
