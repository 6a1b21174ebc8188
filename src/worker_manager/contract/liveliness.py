"""Epochs, challenges, up epochs and worker status: pure functions.

Time is cut into epochs of ``config.epoch_seconds``. An epoch is *up* when
the registry ticks it or a worker answers in it; workers are judged on the up
epochs they missed, so an outage of the registry never counts against them, and
after one every worker gets a full grace period (see
:class:`~worker_manager.contract.state.LivelinessState`).
"""

import hashlib
import json
from enum import StrEnum

from worker_manager.contract.state import Config, LivelinessState, Worker

#: Loads are compared in steps, so a worker's load must move a step before the
#: cached assignment is rebuilt.
LOAD_STEP = 25
LIVELINESS_DOMAIN = "worker-manager/liveliness/v1"
WORK_DOMAIN = "worker-manager/work/v1"


class Status(StrEnum):
    LIVE = "live"
    STALE = "stale"
    OFFLINE = "offline"


def epoch_of(config: Config, time_s: int) -> int:
    return time_s // config.epoch_seconds


def epoch_end(config: Config, epoch: int) -> int:
    """Unix time at which ``epoch`` ends."""
    return (epoch + 1) * config.epoch_seconds


def mark_up(state: LivelinessState, epoch: int) -> LivelinessState:
    """Count ``epoch`` as up (once). A skipped epoch means the registry was
    down: the new epoch starts a resume, from which every worker gets full grace."""
    last = state.last_up_epoch
    if last is not None and epoch <= last:
        return state
    index = state.up_index + 1
    gap = last is not None and epoch > last + 1
    return state.with_changes(
        up_index=index,
        last_up_epoch=epoch,
        resume_index=index if gap else state.resume_index,
        serving_version=state.serving_version + 1,
    )


def live_from_index(config: Config, state: LivelinessState) -> int:
    """The least ``last_seen_index`` a live worker has (resumes included)."""
    threshold = state.up_index - config.grace_epochs
    if state.resume_index and state.resume_index - 1 >= threshold:
        return -(2**62)  # within a grace period after an outage: every seen worker is live
    return threshold


def missed_epochs(state: LivelinessState, worker: Worker) -> int | None:
    """Up epochs since the worker's last answer (an outage resets the count)."""
    if worker.last_seen_index is None:
        return None
    seen = worker.last_seen_index
    if state.resume_index:
        seen = max(seen, state.resume_index - 1)
    return max(0, state.up_index - seen)


def status_of(config: Config, state: LivelinessState, worker: Worker) -> Status:
    missed = missed_epochs(state, worker)
    if missed is None or missed > config.offline_after_epochs:
        return Status.OFFLINE
    if missed <= config.grace_epochs:
        return Status.LIVE
    return Status.STALE


def status_bounds(
    config: Config, state: LivelinessState
) -> dict[Status, tuple[int | None, int | None] | None]:
    """:func:`status_of` as ranges of ``last_seen_index``, for queries over many workers.

    Each status maps to ``(least, greatest)`` (None: unbounded on that side) of the
    ``last_seen_index`` values that have it, or None when no worker can have it; a
    worker that never answered (``last_seen_index`` None) is always offline. So a
    status filter is a range scan of an index, never a pass over every row."""
    up, grace, offline = state.up_index, config.grace_epochs, config.offline_after_epochs
    resumed = state.resume_index - 1 if state.resume_index else None
    live_from = up - min(grace, offline)  # status_of judges offline first
    stale_from = up - offline
    if resumed is not None and resumed >= live_from:
        return {Status.LIVE: (None, None), Status.STALE: None, Status.OFFLINE: None}
    if resumed is not None and resumed >= stale_from:
        return {
            Status.LIVE: (live_from, None),
            Status.STALE: (None, live_from - 1),
            Status.OFFLINE: None,
        }
    return {
        Status.LIVE: (live_from, None),
        Status.STALE: (stale_from, live_from - 1),
        Status.OFFLINE: (None, stale_from - 1),
    }


def load_step(load: int) -> int:
    return min(load, 100) // LOAD_STEP


def liveliness_sign_bytes(
    *, chain_id: str, contract: str, ip_address: str, challenge: str, load: int
) -> bytes:
    """What a worker key signs (sha256 of it) to answer a challenge: canonical JSON."""
    body = {
        "domain": LIVELINESS_DOMAIN,
        "chain_id": chain_id,
        "contract": contract,
        "ip_address": ip_address,
        "challenge": challenge.lower(),
        "load": load,
    }
    return json.dumps(body, separators=(",", ":"), sort_keys=True).encode()


def work_sign_bytes(
    *, chain_id: str, contract: str, ip_address: str, period: int, usage: list[dict[str, object]]
) -> bytes:
    """What a worker key signs (sha256 of it) for a work report: canonical JSON,
    usage lines sorted by subscriber."""
    lines = sorted(usage, key=lambda line: str(line["subscriber"]))
    body = {
        "domain": WORK_DOMAIN,
        "chain_id": chain_id,
        "contract": contract,
        "ip_address": ip_address,
        "period": period,
        "usage": lines,
    }
    return json.dumps(body, separators=(",", ":"), sort_keys=True).encode()


def digest(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()
