"""Which version a query's answer depends on, and a key shared by equal answers.

``get_models`` and ``get_u_r_ls`` depend only on what the contract serves
(its ``serving_version``); ``get_u_r_ls`` depends on the subscriber only through
its bucket, so every subscriber of a bucket shares one ready answer. The
liveliness challenge and a ``get_workers`` with a time-bound proof depend on the
clock and are never cached; nor is a ``with_permit`` query (its signer may revoke it).
"""

from worker_manager.contract.assignment import bucket_of
from worker_manager.contract.msg import (
    GetLivelinessChallenge,
    GetModels,
    GetUrls,
    GetWorkers,
    QueryMsg,
    WithPermit,
)
from worker_manager.node.cache import Scope


def cache_scope(msg: QueryMsg) -> tuple[Scope | None, bytes | None]:
    """(scope, canonical key) of a query; scope None means "do not cache"."""
    if isinstance(msg, GetLivelinessChallenge):
        return None, None
    if isinstance(msg, GetWorkers) and msg.proof_time is not None:
        return None, None  # the proof's window closes with the clock, not with a block
    if isinstance(msg, WithPermit):
        return None, None  # each permit is checked afresh: revoked, it must fail at once
    if isinstance(msg, GetModels):
        return Scope.SERVING, b"\\x00get_models"
    if isinstance(msg, GetUrls):
        bucket = bucket_of(msg.subscriber or "")
        key = f"\\x00get_urls\\x00{msg.model}\\x00{bucket}\\x00{msg.limit}".encode()
        return Scope.SERVING, key
    return Scope.HEIGHT, None
