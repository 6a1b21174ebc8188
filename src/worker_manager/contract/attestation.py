"""Attestation: the admin's policy, verdicts on workers' reports, re-verification.

The node examines each report a message carries (or, for ``reverify_workers``,
each stored report it names) before the block, outside every lock, and hands
the evidence in with the message (:attr:`MessageInfo.evidence`), like the sender.
The host then judges that evidence under the policy at block time
(``deps.api.judge_attestation``, pure and cheap), and the contract decides what
the verdict means: under a policy in ``reject`` mode a registration (or a new
report) that does not verify is refused; in ``mark`` mode it is kept and marked.
Only workers whose verdict is ``valid`` (or ``unchecked``, when no policy is set)
are served, and, with ``reattest_every_epochs``, only while that verdict is recent
enough.
"""

import hashlib
import json
from collections.abc import Callable

from worker_manager.contract.auth import load_worker, require_admin
from worker_manager.contract.deps import AttestationOutcome, Deps, Env, MessageInfo, QueryDeps
from worker_manager.contract.error import (
    AttestationRefused,
    ContractError,
    InvalidConfig,
    InvalidField,
    Unauthorized,
)
from worker_manager.contract.liveliness import epoch_of
from worker_manager.contract.msg import (
    AttestationPolicyAnswer,
    GetWorkerAddresses,
    Message,
    RegisterWorker,
    ReverifyWorkers,
    SetAttestationPolicy,
    SetWorkerAttestation,
    WorkerAddressesAnswer,
)
from worker_manager.contract.reports import worker_key_address
from worker_manager.contract.response import Response
from worker_manager.contract.serving import ENDPOINT_UNCHECKED, NOT_ATTESTED, serving_changed
from worker_manager.contract.state import Config, Worker
from worker_manager.contract.validate import attestation_report_text, canonical_worker_address

MAX_REVERIFY_BATCH = 200
DEFAULT_ADDRESSES_LIMIT = 200
MAX_ADDRESSES_LIMIT = 1000


def evidence_key(report: str) -> str:
    """The key the node files a report's evidence under: sha256 of the report as the
    contract stores it (surrounding whitespace removed)."""
    return hashlib.sha256(report.strip().encode()).hexdigest()


#: The stored report of the worker at a (canonical) address, or None.
StoredReport = Callable[[str], str | None]


def examines_reports(msg: Message) -> bool:
    """Whether ``msg`` has attestation reports judged (so the node examines them first)."""
    return isinstance(msg, RegisterWorker | SetWorkerAttestation | ReverifyWorkers)


def reports_to_examine(msg: Message, stored_report: StoredReport) -> list[str]:
    """The reports a message will have judged, which the node examines before its block:
    the one it carries (``register_worker``, ``set_worker_attestation``), or the stored
    ones of the workers it names (``reverify_workers``)."""
    if isinstance(msg, RegisterWorker | SetWorkerAttestation):
        return [msg.attestation_report] if msg.attestation_report.strip() else []
    if not isinstance(msg, ReverifyWorkers):
        return []
    reports = []
    for address in msg.ip_addresses[:MAX_REVERIFY_BATCH]:
        try:
            report = stored_report(canonical_worker_address(address))
        except ContractError:
            continue  # the message is refused in its block; nothing to examine
        if report is not None and report.strip():
            reports.append(report)
    return reports


def verify(
    deps: Deps, env: Env, info: MessageInfo, config: Config, worker: Worker
) -> AttestationOutcome | None:
    """The host's verdict on ``worker``'s report under the current policy (None: no policy)."""
    policy = deps.storage.load_attestation_policy()
    if policy is None:
        return None
    epoch = epoch_of(config, env.block.time)
    return deps.api.judge_attestation(
        evidence=info.evidence_for(evidence_key(worker.attestation_report)),
        worker_type=worker.worker_type,
        policy=policy,
        now=env.block.time,
        chain_id=env.block.chain_id,
        payment_wallet=worker.payment_wallet,
        worker_public_key=worker.worker_public_key,
        fresh_challenges=(
            deps.api.liveliness_challenge(epoch),
            deps.api.liveliness_challenge(epoch - 1),
        ),
        tls_key_sha256=deps.api.tls_key_sha256(worker.attestation_report),
    )


def with_verdict(
    deps: Deps, env: Env, info: MessageInfo, config: Config, worker: Worker, *, may_refuse: bool
) -> Worker:
    """``worker`` with its attestation fields set from a fresh verdict.

    With ``may_refuse`` and a policy in ``reject`` mode, a verdict other than
    ``valid`` raises :class:`AttestationRefused` (nothing is written)."""
    index = deps.storage.load_liveliness().up_index
    if not worker.attestation_report.strip():
        return _not_attested(deps, worker, index, may_refuse=may_refuse)
    outcome = verify(deps, env, info, config, worker)
    if outcome is None:
        return worker.with_changes(
            attestation_status="unchecked",
            attestation_reasons=(),
            attested_index=index,
            attestation_verdict=None,
        )
    policy = deps.storage.load_attestation_policy()
    reject = policy is not None and policy.registration_mode == "reject"
    if may_refuse and outcome.status != "valid" and reject:
        raise AttestationRefused(outcome.status, outcome.reasons, outcome.message)
    return worker.with_changes(
        attestation_status=outcome.status,
        attestation_reasons=outcome.reasons,
        attested_index=index,
        attestation_verdict=outcome.verdict_json,
    )


def _not_attested(deps: Deps, worker: Worker, index: int, *, may_refuse: bool) -> Worker:
    """A worker with no report (the original's scripts send ``""``): served while no
    policy exists; under one, refused in ``reject`` mode, kept unserved in ``mark``."""
    reasons = ("no_attestation_report",)
    policy = deps.storage.load_attestation_policy()
    if may_refuse and policy is not None and policy.registration_mode == "reject":
        raise AttestationRefused(
            NOT_ATTESTED, reasons, "the attestation policy requires a report; none was given"
        )
    return worker.with_changes(
        attestation_status=NOT_ATTESTED,
        attestation_reasons=reasons,
        attested_index=index,
        attestation_verdict=None,
    )


def execute_set_attestation_policy(
    deps: Deps, info: MessageInfo, config: Config, msg: SetAttestationPolicy
) -> Response:
    require_admin(config, info.sender)
    if msg.policy is None:
        policy = None
    else:
        try:
            policy = deps.api.check_attestation_policy(json.dumps(msg.policy))
        except ValueError as exc:
            raise InvalidConfig("policy", str(exc)) from exc
    if policy != deps.storage.load_attestation_policy():
        deps.storage.save_attestation_policy(policy)
        serving_changed(deps)
    return Response.of(
        "set_attestation_policy",
        {"policy_set": policy is not None},
        policy_set=str(policy is not None).lower(),
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
    # a new report may bind another certificate: the last endpoint check is moot
    updated = with_verdict(
        deps,
        env,
        info,
        config,
        worker.with_changes(attestation_report=report, **ENDPOINT_UNCHECKED),
        may_refuse=True,
    )
    deps.storage.update_worker(
        worker.ip_address, updated.with_changes(updated_height=env.block.height)
    )
    if (updated.attestation_status, updated.attested_index, updated.endpoint_status) != (
        worker.attestation_status,
        worker.attested_index,
        worker.endpoint_status,
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
        updated = with_verdict(deps, env, info, config, worker, may_refuse=False)
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
    return AttestationPolicyAnswer(policy=None if policy is None else json.loads(policy.json))


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
