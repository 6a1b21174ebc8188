"""Ready-made query answers, each kept for as long as the state it read is current.

An answer is tagged with the version it was computed at: most answers with the
height (any new block may change them); ``get_models`` and ``get_u_r_ls`` with
the contract's ``serving_version``, which moves only when the set of served
workers or their weights may change, so those hot answers survive the steady
stream of liveliness blocks. Entries whose version is no longer current are
misses, and the oldest entries go first when the cache is full.
"""

import contextlib
import threading
from collections import OrderedDict
from collections.abc import Iterator
from enum import IntEnum

from worker_manager.contract.queries import UrlsRanking

DEFAULT_MAX_ENTRIES = 16_384
#: Large answers (a full page of workers with their reports) are not worth keeping.
DEFAULT_MAX_ENTRY_BYTES = 256 * 1024


class Scope(IntEnum):
    """Which version an answer depends on."""

    HEIGHT = 0
    SERVING = 1


Versions = tuple[int, int]  # indexed by Scope


class QueryCache:
    def __init__(
        self,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        max_entry_bytes: int = DEFAULT_MAX_ENTRY_BYTES,
    ) -> None:
        self._max_entries = max_entries
        self._max_entry_bytes = max_entry_bytes
        self._entries: OrderedDict[bytes, tuple[Scope, int, bytes]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: bytes, versions: Versions) -> bytes | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry[1] != versions[entry[0]]:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return entry[2]

    def put(self, key: bytes, scope: Scope, version: int, value: bytes) -> None:
        if len(value) > self._max_entry_bytes:
            return
        with self._lock:
            self._entries[key] = (scope, version, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self._max_entries:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


#: (model, limit) of a ``get_u_r_ls``: one ranking serves every bucket of it
RankingKey = tuple[str | None, int | None]
#: Rankings kept at once; a miss only means one read of the store, and any text is a
#: model name, so the set must stay bounded.
DEFAULT_MAX_RANKINGS = 1024


class RankingShelf:
    """The ``get_u_r_ls`` rankings of the current serving version, one per (model,
    limit), so the first request of each subscriber bucket is answered without the
    store or a thread (:class:`~worker_manager.contract.queries.UrlsRanking`)."""

    def __init__(self, max_entries: int = DEFAULT_MAX_RANKINGS) -> None:
        self._max_entries = max_entries
        self._entries: OrderedDict[RankingKey, tuple[int, UrlsRanking]] = OrderedDict()
        self._lock = threading.Lock()
        #: per key being computed: its lock and how many threads hold or wait for it
        self._computing: dict[RankingKey, tuple[threading.Lock, list[int]]] = {}

    @contextlib.contextmanager
    def computing(self, key: RankingKey) -> Iterator[None]:
        """Held while a ranking is computed, so concurrent first requests of one model
        wait for one read of the store instead of each making their own."""
        with self._lock:
            entry = self._computing.setdefault(key, (threading.Lock(), [0]))
            entry[1][0] += 1
        try:
            with entry[0]:
                yield
        finally:
            with self._lock:
                entry[1][0] -= 1
                if entry[1][0] == 0:
                    del self._computing[key]

    def get(self, key: RankingKey, version: int) -> UrlsRanking | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry[0] != version:
                return None
            self._entries.move_to_end(key)
            return entry[1]

    def put(self, key: RankingKey, version: int, ranking: UrlsRanking) -> None:
        with self._lock:
            self._entries[key] = (version, ranking)
            self._entries.move_to_end(key)
            while len(self._entries) > self._max_entries:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
