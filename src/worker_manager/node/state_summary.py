"""The state at the stored head in one line: its height and its state hash.

What ``GET /v1/state`` answers. Two nodes, or two databases (before and after an
export and import), that give the same hash at the same height hold the same
contract state and accounts. Both are read in one transaction that sees one moment,
so a block committing meanwhile cannot split them. It reads the whole state (see
:mod:`worker_manager.store.state_hash`): for operators, not for hot paths.
"""

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
