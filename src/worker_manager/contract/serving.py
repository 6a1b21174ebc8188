"""What ``get_models`` and ``get_u_r_ls`` serve, and why a worker is not served.

A worker is served when it is live (see :mod:`.liveliness`), not paused by its
owner, and its attestation verdict is ``valid`` (or ``unchecked``, when the
admin set no policy), recent enough when the policy asks for re-attestation.
"""

from worker_manager.contract.deps import Deps, QueryDeps
from worker_manager.contract.liveliness import Status, status_of
from worker_manager.contract.state import Config, LivelinessState, Worker

SERVED_ATTESTATION = frozenset({"unchecked", "valid"})


def serving_changed(deps: Deps) -> None:
    """Note that what get_models/get_u_r_ls answer may have changed."""
    state = deps.storage.load_liveliness()
    deps.storage.save_liveliness(state.with_changes(serving_version=state.serving_version + 1))


def not_served_because(
    config: Config, state: LivelinessState, worker: Worker, min_attested: int | None
) -> list[str]:
    """Why a worker is not given to subscribers (empty when it is)."""
    reasons = []
    status = status_of(config, state, worker)
    if status is not Status.LIVE:
        reasons.append(f"not_live:{status.value}")
    if worker.paused:
        reasons.append("paused")
    if worker.attestation_status not in SERVED_ATTESTATION:
        reasons.append(f"attestation_{worker.attestation_status}")
    elif min_attested is not None and (worker.attested_index or 0) < min_attested:
        reasons.append("attestation_too_old")
    return reasons


def min_attested_index(deps: Deps | QueryDeps, up_index: int) -> int | None:
    """The oldest verification still good enough to serve (None: any age)."""
    policy = deps.storage.load_attestation_policy()
    every = None if policy is None else policy.reattest_every_epochs
    return None if every is None else up_index - every
