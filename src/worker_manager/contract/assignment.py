"""Which workers a subscriber is sent to: weighted rendezvous hashing.

Each live worker of the model gets a score per subscriber bucket,
``-weight / ln(u)`` with ``u`` a uniform number from a hash of (bucket, worker);
URLs come in descending score. A subscriber keeps its first worker while that
worker stays live (other workers joining or leaving do not move it), and the
expected share of subscribers a worker gets is proportional to its weight:
its declared capacity, lowered as its reported load rises. Never "cheapest
first": no worker takes all the traffic.

Subscribers hash into :data:`BUCKETS` buckets, so one answer serves a bucket
and can be kept ready; a subscriber's bucket never changes. The scores of all
workers for a bucket are computed at once with NumPy (a 64-bit mix of a
per-worker hash and a per-bucket seed), so ranking 100,000 workers takes about
a millisecond; the per-worker part is computed once per :class:`RankingIndex`.
"""

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from worker_manager.contract.liveliness import LOAD_STEP, load_step
from worker_manager.contract.state import ServingWorker

BUCKETS = 4096
#: A fully loaded worker still gets a little traffic (it may free up).
MIN_WEIGHT_FACTOR = 0.1

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)


def _splitmix(x: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    """SplitMix64's finaliser: a fast, well-mixed 64-bit permutation (wrapping arithmetic)."""
    with np.errstate(over="ignore"):
        z = x + _GOLDEN
        z = (z ^ (z >> np.uint64(30))) * _MIX1
        z = (z ^ (z >> np.uint64(27))) * _MIX2
        return z ^ (z >> np.uint64(31))


def bucket_of(subscriber: str) -> int:
    """The subscriber's bucket (its key in hex, or any text that names it)."""
    digest = hashlib.sha256(b"worker-manager/bucket/v1\x00" + subscriber.lower().encode()).digest()
    return int.from_bytes(digest[:8], "big") % BUCKETS


def weight_of(worker: ServingWorker) -> float:
    free = 1.0 - load_step(worker.load) * LOAD_STEP / 100.0
    return worker.capacity * max(MIN_WEIGHT_FACTOR, free)


def _worker_hash(worker: ServingWorker) -> int:
    digest = hashlib.blake2b(worker.ip_address.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


@dataclass(frozen=True, eq=False)
class RankingIndex:
    """The workers of one answer, with what ranking them for any bucket needs.

    Built once per set of served workers (the node keeps it until what is served
    changes); :meth:`top` then ranks them for a bucket."""

    workers: tuple[ServingWorker, ...]
    _hashes: npt.NDArray[np.uint64] = field(repr=False)
    _weights: npt.NDArray[np.float64] = field(repr=False)
    _order: npt.NDArray[np.int64] = field(repr=False)

    @classmethod
    def build(cls, workers: Sequence[ServingWorker]) -> "RankingIndex":
        ordered = tuple(sorted(workers, key=lambda w: w.ip_address))
        hashes = np.fromiter(
            (_worker_hash(w) for w in ordered), dtype=np.uint64, count=len(ordered)
        )
        weights = np.fromiter((weight_of(w) for w in ordered), dtype=np.float64, count=len(ordered))
        return cls(ordered, hashes, weights, np.arange(len(ordered), dtype=np.int64))

    def __len__(self) -> int:
        return len(self.workers)

    def scores(self, bucket: int) -> npt.NDArray[np.float64]:
        """Every worker's score for ``bucket`` (higher is better)."""
        seed = _splitmix(np.array([bucket], dtype=np.uint64))[0]
        mixed = _splitmix(self._hashes ^ seed)
        # 53 bits, centred: strictly inside (0, 1), so the logarithm is defined and negative
        uniform = ((mixed >> np.uint64(11)).astype(np.float64) + 0.5) / float(2**53)
        result: npt.NDArray[np.float64] = -self._weights / np.log(uniform)
        return result

    def top(self, bucket: int, limit: int) -> list[ServingWorker]:
        """The ``limit`` best workers for ``bucket``, best first (ties by address)."""
        count = len(self.workers)
        if count == 0 or limit <= 0:
            return []
        scores = self.scores(bucket)
        chosen = np.argpartition(-scores, limit - 1)[:limit] if limit < count else self._order
        # best score first; equal scores (vanishingly rare) in address order
        ranked = sorted(chosen.tolist(), key=lambda i: (-scores[i], i))
        return [self.workers[i] for i in ranked]


def rank(workers: Sequence[ServingWorker], bucket: int, limit: int) -> list[ServingWorker]:
    """The ``limit`` best of ``workers`` for ``bucket`` (builds a one-off index)."""
    return RankingIndex.build(workers).top(bucket, limit)
