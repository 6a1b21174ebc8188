"""What ``get_models`` and ``get_u_r_ls`` serve, and why a worker is not served.

A worker is served when it is live (see :mod:`.liveliness`), not paused by its
owner, its attestation verdict is ``valid`` (or ``unchecked``, when the
admin set no policy), recent enough when the policy asks for re-attestation, and
the node's last check of its TLS endpoint did not fail (see :mod:`.endpoints`).
"""

from worker_manager.contract.deps import Deps, QueryDeps
from worker_manager.contract.liveliness import Status, status_of
from worker_manager.contract.state import Config, LivelinessState, Worker

SERVED_ATTESTATION = frozenset({"unchecked", "valid"})
#: The verdict of a worker registered with an empty report (as the original's own
#: scripts register): served while no policy exists, refused or unserved under one.
NOT_ATTESTED = "not_attested"
#: ``min_attested_index`` under a policy that asks for no re-attestation: any
#: verification counts, but a policy exists (so ``not_attested`` is not served).
ANY_AGE = -(2**62)
#: The endpoint check that keeps a worker served (None, never checked, does too).
ENDPOINT_OK = "ok"
#: A worker's endpoint fields once its URL or report changed: the last check is moot.
ENDPOINT_UNCHECKED: dict[str, str | None] = {"endpoint_status": None, "endpoint_check": None}


def endpoint_served(endpoint_status: str | None) -> bool:
    """Whether the node's last check of the worker's endpoint lets it be served."""
    return endpoint_status is None or endpoint_status == ENDPOINT_OK


def served_statuses(min_attested: int | None) -> frozenset[str]:
    """The attestation verdicts served: ``not_attested`` too while there is no policy
    (``min_attested`` is None only then; see :func:`min_attested_index`)."""
    return SERVED_ATTESTATION | {NOT_ATTESTED} if min_attested is None else SERVED_ATTESTATION


def attested_floor(min_attested: int | None) -> int | None:
    """The least ``attested_index`` served, or None when any will do."""
    return None if min_attested is None or min_attested == ANY_AGE else min_attested


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
    floor = attested_floor(min_attested)
    if worker.attestation_status not in served_statuses(min_attested):
        reasons.append(f"attestation_{worker.attestation_status}")
    elif floor is not None and (worker.attested_index or 0) < floor:
        reasons.append("attestation_too_old")
    if not endpoint_served(worker.endpoint_status):
        reasons.append(f"endpoint_{worker.endpoint_status}")
    return reasons


def min_attested_index(deps: Deps | QueryDeps, up_index: int) -> int | None:
    """The oldest verification still good enough to serve: None when there is no
    policy, :data:`ANY_AGE` under a policy that asks for no re-attestation."""
    policy = deps.storage.load_attestation_policy()
    if policy is None:
        return None
    every = policy.reattest_every_epochs
    return ANY_AGE if every is None else up_index - every
