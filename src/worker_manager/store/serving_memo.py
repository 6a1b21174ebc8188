"""What is served, kept ready between blocks.

Ranking the served workers of a model for a subscriber bucket needs them all
(read from the database) and a per-worker hash (computed once): at 100,000
workers that is tens of milliseconds, too much for each of 4096 buckets. Both
change only when the contract's ``serving_version`` moves, so the node keeps
them per version; every bucket's answer then costs a millisecond or less.
"""

import threading
from collections.abc import Hashable

from sqlalchemy import Connection

from worker_manager.contract.assignment import RankingIndex
from worker_manager.store.storage import SqlStorage


class ServingMemo:
    """Ranking indexes of the current serving version (older versions are dropped)."""

    def __init__(self) -> None:
        self._version: int | None = None
        self._indexes: dict[Hashable, RankingIndex] = {}
        self._lock = threading.Lock()

    def get(self, version: int, key: Hashable) -> RankingIndex | None:
        with self._lock:
            return self._indexes.get(key) if version == self._version else None

    def put(self, version: int, key: Hashable, index: RankingIndex) -> None:
        with self._lock:
            if version != self._version:
                self._version = version
                self._indexes.clear()
            self._indexes[key] = index


class MemoSqlStorage(SqlStorage):
    """:class:`SqlStorage` whose serving indexes come from a :class:`ServingMemo`.

    The version is read inside the caller's snapshot, so an index is always
    filed under the state it was read from."""

    def __init__(self, connection: Connection, memo: ServingMemo) -> None:
        super().__init__(connection)
        self._memo = memo

    def serving_index(
        self, worker_type: str | None, min_index: int, min_attested_index: int | None
    ) -> RankingIndex:
        version = self.load_liveliness().serving_version
        key = (worker_type, min_index, min_attested_index)
        found = self._memo.get(version, key)
        if found is None:
            found = super().serving_index(worker_type, min_index, min_attested_index)
            self._memo.put(version, key, found)
        return found
