"""The contract's host functions, backed by the node's secret seed.

Liveliness challenges are ``HMAC-SHA256(k, epoch)`` with ``k`` derived from the
home's ``secrets/node.seed``: every node that shares the seed (and database)
gives the same challenge, a replay of the log can check old answers, and nobody
without the seed can compute a future epoch's challenge ahead of time.
"""

import hmac
from functools import lru_cache

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_INFO = b"worker-manager/liveliness/v1"


class SeededApi:
    """:class:`~worker_manager.contract.deps.Api` from a 32-byte secret seed."""

    def __init__(self, seed: bytes) -> None:
        if len(seed) < 16:
            raise ValueError("the node seed must hold at least 16 bytes")
        self._key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(seed)

    def __repr__(self) -> str:
        return "SeededApi(<secret>)"

    def liveliness_challenge(self, epoch: int) -> bytes:
        return _challenge(self._key, epoch)


@lru_cache(maxsize=64)
def _challenge(key: bytes, epoch: int) -> bytes:
    """Every answer of an epoch asks for the same one or two challenges: keep them."""
    return hmac.digest(key, epoch.to_bytes(8, "big", signed=True), "sha256")
