"""Per-client rate limits for the write routes (``POST /v1/txs`` and the LCD broadcast).

A token bucket per client address: ``rate`` txs a second on average, ``burst`` at
once. One client flooding the node with txs (valid or not: each costs a signature
check) slows every other sender; with the limit it gets ``429`` and a
``Retry-After`` while the others go on. Buckets are kept for at most
``max_clients`` addresses (least recently seen dropped first), so memory stays
bounded whatever the number of clients. Behind a reverse proxy, uvicorn takes the
client's address from ``X-Forwarded-For`` when the proxy is trusted (its
``forwarded_allow_ips``, 127.0.0.1 by default).
"""

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from worker_manager.settings import DEFAULT_TX_BURST_PER_CLIENT, DEFAULT_TX_RATE_PER_CLIENT

MAX_TRACKED_CLIENTS = 100_000


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """``allow(client)`` spends one token of ``client``'s bucket, or says how long to wait.

    A ``rate`` of 0 turns the limit off.
    """

    def __init__(
        self,
        rate: float = DEFAULT_TX_RATE_PER_CLIENT,
        burst: int = DEFAULT_TX_BURST_PER_CLIENT,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_clients: int = MAX_TRACKED_CLIENTS,
    ) -> None:
        self.rate = rate
        self.burst = max(1, burst)
        self._clock = clock
        self._max_clients = max_clients
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.rate > 0

    @property
    def tracked(self) -> int:
        """How many client addresses have a bucket now."""
        return len(self._buckets)

    def allow(self, client: str) -> float | None:
        """``None`` if ``client`` may send now, else the seconds until it may."""
        if not self.enabled:
            return None
        now = self._clock()
        with self._lock:
            bucket = self._buckets.pop(client, None)
            if bucket is None:
                bucket = _Bucket(float(self.burst), now)
            else:
                bucket.tokens = min(
                    float(self.burst), bucket.tokens + (now - bucket.updated) * self.rate
                )
                bucket.updated = now
            self._buckets[client] = bucket
            if len(self._buckets) > self._max_clients:
                self._buckets.popitem(last=False)
            if bucket.tokens >= 1:
                bucket.tokens -= 1
                return None
            return (1 - bucket.tokens) / self.rate

    @staticmethod
    def retry_after(wait: float) -> str:
        """The ``Retry-After`` header value (whole seconds, at least 1)."""
        return str(max(1, math.ceil(wait)))
