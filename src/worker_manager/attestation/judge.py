"""Judge evidence against the policy: the cheap, deterministic half of verification.

Given the :class:`~.evidence.Evidence` of a report, the admin's policy, the worker
type, what report_data must commit to and the block time, :func:`judge` returns
the :class:`~.verdict.Verdict`. It reads no collateral and checks no signature
(:func:`~.examine.examine` did), so a replay of the log gives the same verdict
from the recorded evidence. Checks, only when dcap-qvl accepted the quote:
TCB status, advisories, TCB evaluation number, collateral age and window,
platform flags, debug bit, measurements, event log, binding and challenge
freshness. All reasons found are listed; the status is the worst of them.
"""

from collections.abc import Collection
from dataclasses import dataclass, field, replace

from worker_manager.attestation.binding import (
    SecretVmBinding,
    WorkerKeyBinding,
    check_secretvm_binding,
    check_worker_key_binding,
    load_certificate,
)
from worker_manager.attestation.errors import AttestationError, Reason
from worker_manager.attestation.evidence import ClaimFacts, CollateralFacts, Evidence, QuoteFacts
from worker_manager.attestation.policy import AttestationPolicy
from worker_manager.attestation.verdict import GpuVerdict, Verdict, status_for

Binding = WorkerKeyBinding | SecretVmBinding


@dataclass
class _Findings:
    """Reasons and messages collected while judging, in the order found."""

    reasons: list[Reason] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)

    def add(self, reason: Reason, message: str) -> None:
        if reason not in self.reasons:
            self.reasons.append(reason)
            self.messages.append(f"{reason.value}: {message}")

    def add_error(self, error: AttestationError) -> None:
        self.add(error.code, error.message)


def not_examined(now: int, policy: AttestationPolicy) -> Verdict:
    """The verdict on a report nobody examined before its block (see ``not_examined``)."""
    message = (
        "the node did not examine this report before its block (a policy was set, or the "
        "report changed, after the tx was checked); send it again"
    )
    return Verdict(
        status=status_for((Reason.NOT_EXAMINED,)),
        reasons=(Reason.NOT_EXAMINED.value,),
        message=f"{Reason.NOT_EXAMINED.value}: {message}",
        verified_at=now,
        policy_sha256=policy.sha256,
    )


def require_driver_rims(gpu: GpuVerdict) -> GpuVerdict:
    """``gpu`` as if a signed driver RIM had been required: each GPU checked without
    one is ``gpu_rim_unavailable`` (examining never requires it; the policy does)."""
    unavailable = Reason.GPU_RIM_UNAVAILABLE.value
    devices = tuple(
        replace(d, reasons=(*d.reasons, unavailable))
        if d.checks.driver_rim == "unavailable" and unavailable not in d.reasons
        else d
        for d in gpu.devices
    )
    if devices == gpu.devices:
        return gpu
    reasons = tuple(dict.fromkeys((*gpu.reasons, unavailable)))
    return replace(
        gpu,
        devices=devices,
        reasons=reasons,
        status=status_for(tuple(Reason(r) for r in reasons)),
    )


def _check_gpu(
    findings: _Findings, evidence: Evidence, policy: AttestationPolicy, worker_type: str
) -> GpuVerdict | None:
    if evidence.gpu is None:
        if policy.requires_gpu(worker_type):
            findings.add(Reason.GPU_EVIDENCE_MISSING, f"worker type {worker_type} needs a GPU")
        return None
    gpu = require_driver_rims(evidence.gpu) if policy.gpu_require_driver_rim else evidence.gpu
    for code in gpu.reasons:
        findings.add(Reason(code), f"GPU: {gpu.message}")
    return gpu


def _check_tcb(
    findings: _Findings,
    claims: ClaimFacts,
    collateral: CollateralFacts,
    now: int,
    policy: AttestationPolicy,
) -> None:
    if now > collateral.valid_until:
        findings.add(
            Reason.COLLATERAL_EXPIRED,
            f"the bundle checked ended at {collateral.valid_until}, before {now}",
        )
    if claims.tcb_status == "Revoked":
        findings.add(Reason.TCB_REVOKED, "Intel lists this TCB level as Revoked")
    elif claims.tcb_status not in policy.allowed_tcb_statuses:
        findings.add(Reason.TCB_STATUS_NOT_ALLOWED, f"TCB status {claims.tcb_status}")
    rejected = sorted(set(claims.advisory_ids) & set(policy.rejected_advisories))
    if rejected:
        findings.add(Reason.ADVISORY_REJECTED, ", ".join(rejected))
    minimum = policy.min_tcb_eval_data_number
    if minimum is not None and claims.tcb_eval_data_number < minimum:
        findings.add(
            Reason.TCB_EVAL_TOO_OLD,
            f"TCB evaluation number {claims.tcb_eval_data_number} < {minimum}",
        )
    max_age = policy.max_collateral_age
    if max_age is not None and now - collateral.valid_from > max_age:
        findings.add(
            Reason.COLLATERAL_TOO_OLD,
            f"bundle issued {now - collateral.valid_from}s ago > {max_age}s",
        )
    flags = (
        ("dynamic platform", claims.dynamic_platform, policy.allow_dynamic_platform),
        ("cached keys", claims.cached_keys, policy.allow_cached_keys),
        ("SMT", claims.smt_enabled, policy.allow_smt),
    )
    refused = [name for name, present, allowed in flags if present and not allowed]
    if refused:
        findings.add(Reason.PLATFORM_FLAG_NOT_ALLOWED, ", ".join(refused))


def _check_td(
    findings: _Findings,
    evidence: Evidence,
    quote: QuoteFacts,
    policy: AttestationPolicy,
    worker_type: str,
) -> str | None:
    """The label of the measurement set the quote matches, if any."""
    if quote.debug and not policy.allow_debug:
        findings.add(Reason.DEBUG_TD, "the TD runs in debug mode")
    sets = policy.measurement_sets(worker_type)
    match = next((s for s in sets if s.matches(quote)), None)
    if not sets:
        findings.add(
            Reason.MEASUREMENT_NOT_ALLOWED, f"no measurements allowed for worker type {worker_type}"
        )
    elif match is None:
        findings.add(Reason.MEASUREMENT_NOT_ALLOWED, "MRTD/RTMRs match no allowed set")
    if evidence.event_log_verified is False:
        findings.add(
            Reason.EVENT_LOG_MISMATCH,
            f"replay differs in RTMR{list(evidence.event_log_mismatched)}",
        )
    return None if match is None else match.label


def _check_binding(
    findings: _Findings,
    evidence: Evidence,
    quote: QuoteFacts,
    *,
    policy: AttestationPolicy,
    binding: Binding | None,
    fresh_challenges: Collection[bytes],
) -> str:
    """The binding that held (``worker_key``, ``secretvm_tls:spki``, ...), as recorded."""
    report_data = quote.report_data_bytes
    try:
        if policy.binding == "worker_key":
            if not isinstance(binding, WorkerKeyBinding):
                raise AttestationError(
                    Reason.BINDING_MISMATCH, "worker_key binding needs the registration fields"
                )
            check_worker_key_binding(report_data, binding, gpu=evidence.has_gpu_evidence)
            if policy.require_fresh_challenge and binding.challenge not in fresh_challenges:
                raise AttestationError(Reason.STALE_CHALLENGE, "the challenge is not current")
            if binding.tls_spki_sha256 is not None:
                return "worker_key:tls"  # the quote binds the envelope's TLS key too
        elif policy.binding == "secretvm_tls":
            if isinstance(binding, SecretVmBinding) and binding.tls_certificate is not None:
                form = check_secretvm_binding(
                    report_data, load_certificate(binding.tls_certificate)
                )
            elif evidence.tls_binding is not None:
                form = evidence.tls_binding
            else:
                error = evidence.tls_binding_error
                reason = Reason(error.reason) if error else Reason.BINDING_MISMATCH
                raise AttestationError(reason, error.message if error else "no TLS certificate")
            return f"secretvm_tls:{form}"
    except AttestationError as exc:
        findings.add_error(exc)
    return policy.binding


def judge(
    evidence: Evidence,
    *,
    policy: AttestationPolicy,
    worker_type: str,
    now: int,
    binding: Binding | None = None,
    fresh_challenges: Collection[bytes] = (),
) -> Verdict:
    """The verdict on ``evidence`` for a worker of ``worker_type`` at block time ``now``.

    ``binding`` carries what report_data must commit to (registration fields for
    ``worker_key``, the live TLS certificate for ``secretvm_tls``);
    ``fresh_challenges`` are the challenges of the current and previous epoch.
    """
    findings = _Findings()
    for found in evidence.findings:
        findings.add(Reason(found.reason), found.message)
    quote, claims, collateral = evidence.quote, evidence.claims, evidence.collateral
    gpu = None
    label = None
    binding_name = None
    if quote is not None:
        gpu = _check_gpu(findings, evidence, policy, worker_type)
        if claims is not None and collateral is not None:
            _check_tcb(findings, claims, collateral, now, policy)
            label = _check_td(findings, evidence, quote, policy, worker_type)
            binding_name = _check_binding(
                findings,
                evidence,
                quote,
                policy=policy,
                binding=binding,
                fresh_challenges=fresh_challenges,
            )
    reasons = tuple(findings.reasons)
    return Verdict(
        status=status_for(reasons),
        reasons=tuple(r.value for r in reasons),
        message="; ".join(findings.messages) or "ok",
        verified_at=now,
        quote_sha256=None if quote is None else quote.sha256,
        quote_body_sha256=None if quote is None else quote.body_sha256,
        quote_version=None if quote is None else quote.version,
        mrtd=None if quote is None else quote.mrtd,
        rtmr0=None if quote is None else quote.rtmr0,
        rtmr1=None if quote is None else quote.rtmr1,
        rtmr2=None if quote is None else quote.rtmr2,
        rtmr3=None if quote is None else quote.rtmr3,
        mr_config_id=None if quote is None else quote.mr_config_id,
        report_data=None if quote is None else quote.report_data,
        td_attributes=None if quote is None else quote.td_attributes,
        debug=None if quote is None else quote.debug,
        fmspc=None if quote is None else quote.fmspc,
        tcb_status=None if claims is None else claims.tcb_status,
        advisory_ids=() if claims is None else claims.advisory_ids,
        tcb_eval_data_number=None if claims is None else claims.tcb_eval_data_number,
        tcb_date=None if claims is None else claims.tcb_date,
        measurement_label=label,
        binding=binding_name,
        event_log_verified=evidence.event_log_verified if claims is not None else None,
        gpu=gpu,
        collateral_sha256=None if collateral is None else collateral.sha256,
        collateral_valid_from=None if collateral is None else collateral.valid_from,
        collateral_valid_until=None if collateral is None else collateral.valid_until,
        policy_sha256=policy.sha256,
    )
