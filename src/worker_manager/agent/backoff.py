"""Exponential backoff with full jitter, so many agents do not come back in lockstep.

The n-th wait in a row (from 0) is drawn uniformly from ``[0, cap]`` with
``cap = min(MAX_BACKOFF_S, MIN_BACKOFF_S * 2**n)``. After an outage of the node,
100,000 agents then return spread over the whole cap instead of all at once. The
random source is passed in (a seeded :class:`random.Random` in tests).
"""

import random

MIN_BACKOFF_S = 0.5
MAX_BACKOFF_S = 60.0


class Backoff:
    def __init__(
        self, rng: random.Random, *, least: float = MIN_BACKOFF_S, most: float = MAX_BACKOFF_S
    ) -> None:
        self._rng = rng
        self._least = least
        self._most = most
        self._failures = 0

    @property
    def cap(self) -> float:
        """The most the next wait can be."""
        return min(self._most, self._least * 2.0 ** min(self._failures, 64))

    def next(self) -> float:
        """The wait after one more failure in a row."""
        wait = self._rng.uniform(0.0, self.cap)
        self._failures += 1
        return wait

    def reset(self) -> None:
        """A success: the next failure starts again from the smallest cap."""
        self._failures = 0
