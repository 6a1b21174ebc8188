"""Examine a report: the expensive, state-free half of verification (see :mod:`.evidence`).

Stages, each recorded in the :class:`~.evidence.Evidence`:

1. decode the report and parse the quote; on failure examining stops here
   (``malformed_report``, ``malformed_quote``, ``not_tdx``, ``unsupported_quote``);
2. pick the collateral valid at ``now`` and run dcap-qvl's full check
   (signatures, CRLs, collateral window, TCB level);
3. check GPU evidence, if sent (without requiring a driver RIM: the policy decides);
4. replay the event log, if sent, and see how report_data commits to the TLS
   certificate of the envelope, if one is there.

Pure and deterministic like the rest of the package: time is ``now``, collateral
and RIMs come from the sources passed in. It never raises for bad evidence.
"""

from worker_manager.attestation.binding import check_secretvm_binding, load_certificate
from worker_manager.attestation.collateral_store import CollateralSource, select_bundle
from worker_manager.attestation.dcap import verify_quote
from worker_manager.attestation.decode import AttestationBundle, decode_report
from worker_manager.attestation.errors import AttestationError, Reason
from worker_manager.attestation.eventlog import replay_rtmrs
from worker_manager.attestation.evidence import (
    CollateralFacts,
    Evidence,
    Finding,
    QuoteFacts,
)
from worker_manager.attestation.nvidia.rim import RimSource
from worker_manager.attestation.nvidia.verify import verify_gpu_evidence
from worker_manager.attestation.quote import QuoteInfo, parse_quote


def _quote_facts(quote: QuoteInfo) -> QuoteFacts:
    return QuoteFacts(
        sha256=quote.sha256,
        body_sha256=quote.body_sha256,
        version=quote.version,
        mrtd=quote.mrtd,
        rtmr0=quote.rtmr0,
        rtmr1=quote.rtmr1,
        rtmr2=quote.rtmr2,
        rtmr3=quote.rtmr3,
        mr_config_id=quote.mr_config_id,
        report_data=quote.report_data,
        td_attributes=quote.td_attributes,
        debug=quote.debug,
        fmspc=quote.fmspc,
    )


def _finding(error: AttestationError) -> Finding:
    return Finding(error.code.value, error.message)


def examine(
    report: str | AttestationBundle,
    *,
    collateral: CollateralSource,
    now: int,
    rims: RimSource | None = None,
    root_ca_der: bytes | None = None,
) -> Evidence:
    """Examine ``report`` at time ``now`` (see the module docstring).

    ``root_ca_der`` replaces Intel's root with a test PKI's; production code never
    passes it (see :func:`~.verify.verify_attestation_with_root_ca`).
    """
    try:
        bundle = report if isinstance(report, AttestationBundle) else decode_report(report)
        quote = parse_quote(bundle.quote)
    except AttestationError as exc:
        return Evidence(examined_at=now, findings=(_finding(exc),))
    findings: list[Finding] = []
    collateral_facts = None
    claims = None
    try:
        chosen = select_bundle(collateral.bundles_for(quote.fmspc, quote.ca), now)
        collateral_facts = CollateralFacts(chosen.sha256, chosen.valid_from, chosen.valid_until)
        if not quote.pck_chain_valid_at(now):
            raise AttestationError(
                Reason.CERT_CHAIN_INVALID,
                f"the quote's PCK certificates are valid from {quote.pck_valid_from} "
                f"to {quote.pck_valid_until}, not at {now}",
            )
        claims = verify_quote(quote.raw, chosen, now, root_ca_der=root_ca_der)
    except AttestationError as exc:
        findings.append(_finding(exc))
    gpu = None
    if bundle.gpu_evidence is not None:
        gpu = verify_gpu_evidence(
            bundle.gpu_evidence,
            expected_nonce=quote.report_data_bytes[32:],
            now=now,
            rims=rims,
            require_driver_rim=False,
        )
    event_log_verified: bool | None = None
    mismatched: tuple[int, ...] = ()
    if bundle.event_log is not None:
        replayed = tuple(r.hex() for r in replay_rtmrs(bundle.event_log))
        event_log_verified = replayed == quote.rtmrs
        mismatched = tuple(i for i in range(4) if replayed[i] != quote.rtmrs[i])
    tls_binding, tls_error = None, None
    if bundle.tls_certificate_der is None:
        tls_error = Finding(Reason.BINDING_MISMATCH.value, "no TLS certificate to check")
    else:
        try:
            certificate = load_certificate(bundle.tls_certificate_der)
            tls_binding = check_secretvm_binding(quote.report_data_bytes, certificate)
        except AttestationError as exc:
            tls_error = _finding(exc)
    return Evidence(
        examined_at=now,
        findings=tuple(findings),
        quote=_quote_facts(quote),
        claims=claims,
        collateral=collateral_facts,
        has_gpu_evidence=bundle.gpu_evidence is not None,
        gpu=gpu,
        event_log_verified=event_log_verified,
        event_log_mismatched=mismatched,
        tls_binding=tls_binding,
        tls_binding_error=tls_error,
    )
