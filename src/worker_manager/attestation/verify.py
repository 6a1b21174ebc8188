"""Verify a worker's attestation report against the policy: the one entry point.

:func:`verify_attestation` is pure and deterministic: it reads no clock and
does no network I/O. Time is the ``now`` argument (the block time), collateral
and RIMs come from the sources passed in. Given the same inputs it returns the
same :class:`~.verdict.Verdict`, byte for byte, and it never raises for bad
evidence: every failure becomes a reason code.

Stages:

1. decode the report and parse the quote; on failure the verdict stops here
   (``malformed_report``, ``malformed_quote``, ``not_tdx``, ``unsupported_quote``);
2. pick the collateral valid at ``now`` and run dcap-qvl's full check
   (signatures, CRLs, collateral window, TCB level); with no usable collateral
   the verdict is ``unverified``, never ``valid``;
3. verify GPU evidence, if sent (or note that a GPU-only worker type sent none);
4. only when stage 2 succeeded, apply the policy: TCB status, advisories, TCB
   evaluation number, collateral age, platform flags, debug bit, measurements,
   event log replay, the binding of report_data, and challenge freshness.

All reasons found are listed; the status is the worst of them.
"""

from collections.abc import Collection
from dataclasses import dataclass, field

from worker_manager.attestation.binding import (
    SecretVmBinding,
    WorkerKeyBinding,
    check_secretvm_binding,
    check_worker_key_binding,
    load_certificate,
)
from worker_manager.attestation.collateral import CollateralBundle
from worker_manager.attestation.collateral_store import CollateralSource, select_bundle
from worker_manager.attestation.dcap import QuoteClaims, verify_quote
from worker_manager.attestation.decode import AttestationBundle, decode_report
from worker_manager.attestation.errors import AttestationError, Reason
from worker_manager.attestation.eventlog import replay_rtmrs
from worker_manager.attestation.nvidia.rim import RimSource
from worker_manager.attestation.nvidia.verify import verify_gpu_evidence
from worker_manager.attestation.policy import AttestationPolicy
from worker_manager.attestation.quote import QuoteInfo, parse_quote
from worker_manager.attestation.verdict import GpuVerdict, Verdict, status_for

Binding = WorkerKeyBinding | SecretVmBinding


@dataclass
class _Findings:
    """Reasons and messages collected while verifying, in the order found."""

    reasons: list[Reason] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)

    def add(self, reason: Reason, message: str) -> None:
        if reason not in self.reasons:
            self.reasons.append(reason)
            self.messages.append(f"{reason.value}: {message}")

    def add_error(self, error: AttestationError) -> None:
        self.add(error.code, error.message)


@dataclass
class _Outcome:
    """Everything the stages learnt, turned into a Verdict at the end."""

    findings: _Findings = field(default_factory=_Findings)
    quote: QuoteInfo | None = None
    collateral: CollateralBundle | None = None
    claims: QuoteClaims | None = None
    gpu: GpuVerdict | None = None
    measurement_label: str | None = None
    binding: str | None = None
    event_log_verified: bool | None = None


def verify_attestation(
    report: str | AttestationBundle,
    *,
    collateral: CollateralSource,
    now: int,
    policy: AttestationPolicy,
    worker_type: str,
    binding: Binding | None = None,
    fresh_challenges: Collection[bytes] = (),
    rims: RimSource | None = None,
) -> Verdict:
    """Verify ``report`` for a worker of ``worker_type`` at time ``now``.

    ``binding`` carries what report_data must commit to (registration fields
    for ``worker_key``, the live TLS certificate for ``secretvm_tls``).
    ``fresh_challenges`` are the challenges of the current and previous epoch.
    ``rims`` supplies signed driver RIMs for GPU evidence.
    """
    return _verify(
        report,
        collateral=collateral,
        now=now,
        policy=policy,
        worker_type=worker_type,
        binding=binding,
        fresh_challenges=fresh_challenges,
        rims=rims,
        root_ca_der=None,
    )


def verify_attestation_with_root_ca(
    report: str | AttestationBundle,
    *,
    root_ca_der: bytes,
    collateral: CollateralSource,
    now: int,
    policy: AttestationPolicy,
    worker_type: str,
    binding: Binding | None = None,
    fresh_challenges: Collection[bytes] = (),
    rims: RimSource | None = None,
) -> Verdict:
    """Like :func:`verify_attestation`, but trusting ``root_ca_der`` instead of Intel's root.

    For test PKIs only. Production code must never call this: a verdict from
    it proves nothing about real Intel hardware.
    """
    if not root_ca_der:
        raise ValueError("root_ca_der is required")
    return _verify(
        report,
        collateral=collateral,
        now=now,
        policy=policy,
        worker_type=worker_type,
        binding=binding,
        fresh_challenges=fresh_challenges,
        rims=rims,
        root_ca_der=root_ca_der,
    )


def _verify(
    report: str | AttestationBundle,
    *,
    collateral: CollateralSource,
    now: int,
    policy: AttestationPolicy,
    worker_type: str,
    binding: Binding | None,
    fresh_challenges: Collection[bytes],
    rims: RimSource | None,
    root_ca_der: bytes | None,
) -> Verdict:
    out = _Outcome()
    try:
        bundle = report if isinstance(report, AttestationBundle) else decode_report(report)
        out.quote = parse_quote(bundle.quote)
    except AttestationError as exc:
        out.findings.add_error(exc)
        return _verdict(out, now, policy)
    quote = out.quote
    try:
        out.collateral = select_bundle(collateral.bundles_for(quote.fmspc, quote.ca), now)
        if not quote.pck_chain_valid_at(now):
            raise AttestationError(
                Reason.CERT_CHAIN_INVALID,
                f"the quote's PCK certificates are valid from {quote.pck_valid_from} "
                f"to {quote.pck_valid_until}, not at {now}",
            )
        out.claims = verify_quote(quote.raw, out.collateral, now, root_ca_der=root_ca_der)
    except AttestationError as exc:
        out.findings.add_error(exc)
    _check_gpu(out, bundle, quote, now=now, policy=policy, worker_type=worker_type, rims=rims)
    if out.claims is not None and out.collateral is not None:
        _check_tcb(out.findings, out.claims, out.collateral, now, policy)
        _check_td(out, bundle, quote, policy, worker_type)
        _check_binding(
            out, bundle, quote, policy=policy, binding=binding, fresh_challenges=fresh_challenges
        )
    return _verdict(out, now, policy)


def _check_gpu(
    out: _Outcome,
    bundle: AttestationBundle,
    quote: QuoteInfo,
    *,
    now: int,
    policy: AttestationPolicy,
    worker_type: str,
    rims: RimSource | None,
) -> None:
    if bundle.gpu_evidence is None:
        if policy.requires_gpu(worker_type):
            out.findings.add(Reason.GPU_EVIDENCE_MISSING, f"worker type {worker_type} needs a GPU")
        return
    out.gpu = verify_gpu_evidence(
        bundle.gpu_evidence,
        expected_nonce=quote.report_data_bytes[32:],
        now=now,
        rims=rims,
        require_driver_rim=policy.gpu_require_driver_rim,
    )
    for code in out.gpu.reasons:
        out.findings.add(Reason(code), f"GPU: {out.gpu.message}")


def _check_tcb(
    findings: _Findings,
    claims: QuoteClaims,
    bundle: CollateralBundle,
    now: int,
    policy: AttestationPolicy,
) -> None:
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
    if max_age is not None and now - bundle.valid_from > max_age:
        findings.add(
            Reason.COLLATERAL_TOO_OLD, f"bundle issued {now - bundle.valid_from}s ago > {max_age}s"
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
    out: _Outcome,
    bundle: AttestationBundle,
    quote: QuoteInfo,
    policy: AttestationPolicy,
    worker_type: str,
) -> None:
    if quote.debug and not policy.allow_debug:
        out.findings.add(Reason.DEBUG_TD, "the TD runs in debug mode")
    sets = policy.measurement_sets(worker_type)
    match = next((s for s in sets if s.matches(quote)), None)
    if match is not None:
        out.measurement_label = match.label
    elif not sets:
        out.findings.add(
            Reason.MEASUREMENT_NOT_ALLOWED, f"no measurements allowed for worker type {worker_type}"
        )
    else:
        out.findings.add(Reason.MEASUREMENT_NOT_ALLOWED, "MRTD/RTMRs match no allowed set")
    if bundle.event_log is not None:
        replayed = tuple(r.hex() for r in replay_rtmrs(bundle.event_log))
        out.event_log_verified = replayed == quote.rtmrs
        if not out.event_log_verified:
            mismatched = [i for i in range(4) if replayed[i] != quote.rtmrs[i]]
            out.findings.add(Reason.EVENT_LOG_MISMATCH, f"replay differs in RTMR{mismatched}")


def _check_binding(
    out: _Outcome,
    bundle: AttestationBundle,
    quote: QuoteInfo,
    *,
    policy: AttestationPolicy,
    binding: Binding | None,
    fresh_challenges: Collection[bytes],
) -> None:
    out.binding = policy.binding
    report_data = quote.report_data_bytes
    try:
        if policy.binding == "worker_key":
            if not isinstance(binding, WorkerKeyBinding):
                raise AttestationError(
                    Reason.BINDING_MISMATCH, "worker_key binding needs the registration fields"
                )
            check_worker_key_binding(report_data, binding, gpu=bundle.gpu_evidence is not None)
            if policy.require_fresh_challenge and binding.challenge not in fresh_challenges:
                raise AttestationError(Reason.STALE_CHALLENGE, "the challenge is not current")
        elif policy.binding == "secretvm_tls":
            observed = binding.tls_certificate if isinstance(binding, SecretVmBinding) else None
            cert_bytes = observed or bundle.tls_certificate_der
            if cert_bytes is None:
                raise AttestationError(Reason.BINDING_MISMATCH, "no TLS certificate to check")
            form = check_secretvm_binding(report_data, load_certificate(cert_bytes))
            out.binding = f"secretvm_tls:{form}"
    except AttestationError as exc:
        out.findings.add_error(exc)


def _verdict(out: _Outcome, now: int, policy: AttestationPolicy) -> Verdict:
    reasons = tuple(out.findings.reasons)
    q, claims, coll = out.quote, out.claims, out.collateral
    return Verdict(
        status=status_for(reasons),
        reasons=tuple(r.value for r in reasons),
        message="; ".join(out.findings.messages) or "ok",
        verified_at=now,
        quote_sha256=None if q is None else q.sha256,
        quote_body_sha256=None if q is None else q.body_sha256,
        quote_version=None if q is None else q.version,
        mrtd=None if q is None else q.mrtd,
        rtmr0=None if q is None else q.rtmr0,
        rtmr1=None if q is None else q.rtmr1,
        rtmr2=None if q is None else q.rtmr2,
        rtmr3=None if q is None else q.rtmr3,
        mr_config_id=None if q is None else q.mr_config_id,
        report_data=None if q is None else q.report_data,
        td_attributes=None if q is None else q.td_attributes,
        debug=None if q is None else q.debug,
        fmspc=None if q is None else q.fmspc,
        tcb_status=None if claims is None else claims.tcb_status,
        advisory_ids=() if claims is None else claims.advisory_ids,
        tcb_eval_data_number=None if claims is None else claims.tcb_eval_data_number,
        tcb_date=None if claims is None else claims.tcb_date,
        measurement_label=out.measurement_label,
        binding=out.binding,
        event_log_verified=out.event_log_verified,
        gpu=out.gpu,
        collateral_sha256=None if coll is None else coll.sha256,
        collateral_valid_from=None if coll is None else coll.valid_from,
        collateral_valid_until=None if coll is None else coll.valid_until,
        policy_sha256=policy.sha256,
    )
