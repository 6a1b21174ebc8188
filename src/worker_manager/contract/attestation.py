"""Attestation: the admin's policy, verdicts on workers' reports, re-verification.

The host verifies (``deps.api.verify_attestation``: dcap-qvl with the node's
collateral, at the block time), so the verdict reaches the contract as input,
like time. The contract decides what it means: under a policy in ``reject`` mode
a registration (or a new report) that does not verify is refused; in ``mark``
mode it is kept and marked. Only workers whose verdict is ``valid`` (or
``unchecked``, when no policy is set) are served, and, with
``reattest_every_epochs``, only while that verdict is recent enough.
"""

import json
from typing import Any

from worker_manager.contract.auth import load_worker, require_admin
from worker_manager.contract.deps import AttestationOutcome, Deps, Env, MessageInfo, QueryDeps
from worker_manager.contract.error import (
    AttestationRefused,
    InvalidConfig,
    InvalidField,
    Unauthorized,
)
from worker_manager.contract.liveliness import epoch_of
from worker_manager.contract.msg import (
    AttestationPolicyAnswer,
    GetWorkerAddresses,
    ReverifyWorkers,
    SetAttestationPolicy,
    SetWorkerAttestation,
    WorkerAddressesAnswer,
)
from worker_manager.contract.reports import worker_key_address
from worker_manager.contract.response import Response
from worker_manager.contract.serving import serving_changed
from worker_manager.contract.state import Config, Worker
from worker_manager.contract.validate import attestation_report_text, canonical_worker_address

MAX_REVERIFY_BATCH = 200
DEFAULT_ADDRESSES_LIMIT = 200
MAX_ADDRESSES_LIMIT = 1000
SERVED_STATUSES = frozenset({"unchecked", "valid"})


def policy_settings(policy_json: str | None) -> dict[str, Any]:
    """The two settings the contract itself reads from the policy."""
    if policy_json is None:
        return {"registration_mode": "mark", "reattest_every_epochs": None}
    data = json.loads(policy_json)
    return {
        "registration_mode": data.get("registration_mode", "reject"),
        "reattest_every_epochs": data.get("reattest_every_epochs"),
    }


def verify(deps: Deps, env: Env, config: Config, worker: Worker) -> AttestationOutcome | None:
    """The host's verdict on ``worker``'s report under the current policy (None: no policy)."""
    policy_json = deps.storage.load_attestation_policy()
    if policy_json is None:
        return None
    epoch = epoch_of(config, env.block.time)
    return deps.api.verify_attestation(
        report=worker.attestation_report,
        worker_type=worker.worker_type,
        policy_json=policy_json,
        now=env.block.time,
        chain_id=env.block.chain_id,
        payment_wallet=worker.payment_wallet,
        worker_public_key=worker.worker_public_key,
        fresh_challenges=(
            deps.api.liveliness_challenge(epoch),
            deps.api.liveliness_challenge(epoch - 1),
        ),
    )


def with_verdict(
    deps: Deps, env: Env, config: Config, worker: Worker, *, may_refuse: bool
) -> Worker:
    """``worker`` with its attestation fields set from a fresh verdict.

    With ``may_refuse`` and a policy in ``reject`` mode, a verdict other than
    ``valid`` raises :class:`AttestationRefused` (nothing is written)."""
    outcome = verify(deps, env, config, worker)
    index = deps.storage.load_liveliness().served_index
    if outcome is None:
        return worker.with_changes(
            attestation_status="unchecked",
            attestation_reasons=(),
            attested_index=index,
            attestation_verdict=None,
        )
    settings = policy_settings(deps.storage.load_attestation_policy())
    if may_refuse and outcome.status != "valid" and settings["registration_mode"] == "reject":
        raise AttestationRefused(outcome.status, outcome.reasons, outcome.message)
    return worker.with_changes(
        attestation_status=outcome.status,
        attestation_reasons=outcome.reasons,
        attested_index=index,
        attestation_verdict=outcome.verdict_json,
    )


def execute_set_attestation_policy(
    deps: Deps, info: MessageInfo, config: Config, msg: SetAttestationPolicy
) -> Response:
    require_admin(config, info.sender)
    if msg.policy is None:
        canonical = None
    else:
        try:
            canonical = deps.api.check_attestation_policy(json.dumps(msg.policy))
        except ValueError as exc:
            raise InvalidConfig("policy", str(exc)) from exc
    if canonical != deps.storage.load_attestation_policy():
        deps.storage.save_attestation_policy(canonical)
        serving_changed(deps)
    return Response.of(
        "set_attestation_policy",
        {"policy_set": canonical is not None},
        policy_set=str(canonical is not None).lower(),
    )


def execute_set_worker_attestation(
    deps: Deps, env: Env, info: MessageInfo, config: Config, msg: SetWorkerAttestation
) -> Response:
    worker = load_worker(deps.storage, msg.ip_address)
    by_worker_key = worker.worker_public_key is not None and info.sender == worker_key_address(
        worker.worker_public_key
    )
    if not by_worker_key and info.sender != worker.payment_wallet:
        raise Unauthorized(info.sender, f"the owner or the worker key of {worker.ip_address}")
    report = attestation_report_text(config, msg.attestation_report)
    updated = with_verdict(
        deps, env, config, worker.with_changes(attestation_report=report), may_refuse=True
    )
    deps.storage.update_worker(
        worker.ip_address, updated.with_changes(updated_height=env.block.height)
    )
    if (updated.attestation_status, updated.attested_index) != (
        worker.attestation_status,
        worker.attested_index,
    ):
        serving_changed(deps)
    return Response.of(
        "set_worker_attestation",
        {"ip_address": worker.ip_address, "attestation_status": updated.attestation_status},
        ip_address=worker.ip_address,
        attestation_status=updated.attestation_status,
    )


def execute_reverify_workers(
    deps: Deps, env: Env, info: MessageInfo, config: Config, msg: ReverifyWorkers
) -> Response:
    require_admin(config, info.sender)
    if not 1 <= len(msg.ip_addresses) <= MAX_REVERIFY_BATCH:
        raise InvalidField("ip_addresses", f"give 1 to {MAX_REVERIFY_BATCH} addresses")
    workers = [load_worker(deps.storage, ip) for ip in msg.ip_addresses]
    counts: dict[str, int] = {}
    for worker in workers:
        updated = with_verdict(deps, env, config, worker, may_refuse=False)
        deps.storage.update_worker(worker.ip_address, updated)
        counts[updated.attestation_status] = counts.get(updated.attestation_status, 0) + 1
    serving_changed(deps)
    return Response.of(
        "reverify_workers",
        {"verified": len(workers), "statuses": counts},
        verified=str(len(workers)),
        **{status: str(n) for status, n in sorted(counts.items())},
    )


def query_attestation_policy(deps: QueryDeps) -> AttestationPolicyAnswer:
    policy = deps.storage.load_attestation_policy()
    return AttestationPolicyAnswer(policy=None if policy is None else json.loads(policy))


def query_worker_addresses(deps: QueryDeps, msg: GetWorkerAddresses) -> WorkerAddressesAnswer:
    limit = msg.limit or DEFAULT_ADDRESSES_LIMIT
    if limit < 1:
        raise InvalidField("limit", f"must be at least 1, got {limit}")
    limit = min(limit, MAX_ADDRESSES_LIMIT)
    after = canonical_worker_address(msg.start_after, "start_after") if msg.start_after else None
    found = deps.storage.list_worker_addresses(start_after=after, limit=limit + 1)
    if len(found) > limit:
        return WorkerAddressesAnswer(addresses=found[:limit], next_start_after=found[limit - 1])
    return WorkerAddressesAnswer(addresses=found)
