"""The state at the stored head in one line: its height and its state hash.

What ``GET /v1/state`` answers. Two nodes, or two databases (before and after an
export and import), that give the same hash at the same height hold the same
contract state and accounts. Both are read in one transaction that sees one moment,
so a block committing meanwhile cannot split them. It reads the whole state (see
:mod:`worker_manager.store.state_hash`): for operators, not for hot paths.
"""

import threading
import time
from dataclasses import dataclass

from worker_manager.store import Store
from worker_manager.store.one_moment import see_one_moment
from worker_manager.store.state_hash import state_hash


@dataclass(frozen=True, slots=True)
class StateSummary:
    height: int
    state_hash: str


def state_summary(store: Store) -> StateSummary:
    """The stored head's height and the state hash at it, read together."""
    with store.read() as session:
        see_one_moment(session.connection)
        height = int(session.meta.get("height") or 0)
        return StateSummary(height=height, state_hash=state_hash(session))


#: ``GET /v1/state`` is public and reads the whole state: a summary is computed again at
#: most this often, and one at a time, however many ask.
MIN_RECOMPUTE_S = 1.0


class StateSummaries:
    """The state summary for a public route: one computation at a time, at most one per
    :data:`MIN_RECOMPUTE_S` and none while the head has not moved; others share it."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._lock = threading.Lock()
        self._last: StateSummary | None = None
        self._at = 0.0

    def get(self) -> StateSummary:
        with self._lock:
            last, now = self._last, time.monotonic()
            if last is not None and now - self._at < MIN_RECOMPUTE_S:
                return last
            if last is not None:
                with self._store.read() as session:
                    if int(session.meta.get("height") or 0) == last.height:
                        self._at = now
                        return last
            self._last, self._at = state_summary(self._store), time.monotonic()
            return self._last
