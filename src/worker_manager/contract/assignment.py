"""Which workers a subscriber is sent to: weighted rendezvous hashing.

Each live worker of the model gets a score per subscriber bucket,
``-weight / ln(u)`` with ``u`` a uniform number from a hash of (bucket, worker);
URLs come in descending score. A subscriber keeps its first worker while that
worker stays live (other workers joining or leaving do not move it), and the
expected share of subscribers a worker gets is proportional to its weight:
its declared capacity, lowered as its reported load rises. Never "cheapest
first": no worker takes all the traffic.

Subscribers hash into :data:`BUCKETS` buckets, so one answer serves a bucket
and can be kept ready; a subscriber's bucket never changes.
"""

import hashlib
import heapq
import math

from worker_manager.contract.liveliness import LOAD_STEP, load_step
from worker_manager.contract.state import ServingWorker

BUCKETS = 4096
#: A fully loaded worker still gets a little traffic (it may free up).
MIN_WEIGHT_FACTOR = 0.1
_TWO_53 = float(2**53)


def bucket_of(subscriber: str) -> int:
    """The subscriber's bucket (its key in hex, or any text that names it)."""
    digest = hashlib.sha256(b"worker-manager/bucket/v1\x00" + subscriber.lower().encode()).digest()
    return int.from_bytes(digest[:8], "big") % BUCKETS


def weight_of(worker: ServingWorker) -> float:
    free = 1.0 - load_step(worker.load) * LOAD_STEP / 100.0
    return worker.capacity * max(MIN_WEIGHT_FACTOR, free)


def _uniform(bucket: int, worker: ServingWorker) -> float:
    digest = hashlib.blake2b(f"{bucket}\x00{worker.ip_address}".encode(), digest_size=8).digest()
    # 53 bits, centred: strictly inside (0, 1), so the logarithm is defined and negative
    return ((int.from_bytes(digest, "big") >> 11) + 0.5) / _TWO_53


def rank(workers: list[ServingWorker], bucket: int, limit: int) -> list[ServingWorker]:
    """The ``limit`` best workers for ``bucket``, best first (ties by address)."""
    scored = ((-weight_of(w) / math.log(_uniform(bucket, w)), w.ip_address, w) for w in workers)
    best = heapq.nlargest(limit, scored, key=lambda item: (item[0], item[1]))
    return [w for _, _, w in best]
