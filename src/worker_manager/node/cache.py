"""Ready-made query answers, kept per state version.

Hot reads (``get_models``, ``get_u_r_ls``) are answered from bytes built once
per state version: a new commit bumps the version and the old answers are
dropped. An answer is stored only if the version did not move while it was
being computed, so a slow read never caches stale state under a new version.
"""

import threading
from collections import OrderedDict

DEFAULT_MAX_ENTRIES = 4096
#: Large answers (a full page of workers with their reports) are not worth keeping.
DEFAULT_MAX_ENTRY_BYTES = 256 * 1024


class QueryCache:
    def __init__(
        self,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        max_entry_bytes: int = DEFAULT_MAX_ENTRY_BYTES,
    ) -> None:
        self._max_entries = max_entries
        self._max_entry_bytes = max_entry_bytes
        self._version: object = None
        self._entries: OrderedDict[bytes, bytes] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, version: object, key: bytes) -> bytes | None:
        with self._lock:
            if version != self._version:
                self.misses += 1
                return None
            value = self._entries.get(key)
            if value is None:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return value

    def put(self, version: object, key: bytes, value: bytes) -> None:
        if len(value) > self._max_entry_bytes:
            return
        with self._lock:
            if version != self._version:
                self._version = version
                self._entries.clear()
            self._entries[key] = value
            if len(self._entries) > self._max_entries:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._version = None
            self._entries.clear()
