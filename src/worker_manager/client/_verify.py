"""Verify an endpoint's attestation evidence locally, trusting neither the registry's
verdict nor its operator.

:func:`verify_endpoint` runs the project's own verifier (:mod:`worker_manager.
attestation`: dcap-qvl on the quote, against collateral and a policy the client
chooses) on the report the worker registered, then checks that the TLS pin the node
reports for the endpoint is the one bound into that verified quote. A client that then
talks to the endpoint through :func:`~worker_manager.client.pinned_client` talks to the
attested machine, whatever the registry says.
"""

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from worker_manager.attestation import (
    AttestationPolicy,
    CollateralSource,
    RimSource,
    SecretVmBinding,
    Verdict,
)
from worker_manager.attestation.examine import examine
from worker_manager.attestation.judge import judge
from worker_manager.client._exceptions import EndpointVerificationFailed
from worker_manager.client._types import TLS_BINDING_FORMS, Endpoint, Pin, PinKind


@dataclass(frozen=True, slots=True)
class VerifiedEndpoint:
    """An endpoint whose evidence verified here: the ``verdict`` (status ``valid``),
    the ``binding`` form its quote uses (``spki`` or ``certificate``), the ``pin``
    bound into the quote (what :func:`~worker_manager.client.pinned_client` pins for
    this endpoint) and ``warnings`` that did not fail the check (``collateral_differs``:
    the node verified with other collateral than this check used)."""

    endpoint: Endpoint
    verdict: Verdict
    binding: PinKind
    pin: Pin
    warnings: tuple[str, ...] = ()


def _policy(policy: AttestationPolicy | Mapping[str, Any] | str | bytes) -> AttestationPolicy:
    if isinstance(policy, AttestationPolicy):
        chosen = policy
    elif isinstance(policy, Mapping):
        chosen = AttestationPolicy.from_json(json.dumps(dict(policy)))
    else:
        chosen = AttestationPolicy.from_json(policy)
    if chosen.binding == "worker_key":
        raise ValueError(
            "verify_endpoint needs a policy with binding 'secretvm_tls' (or 'none'): an "
            "endpoint's quote binds its TLS key, not a worker key"
        )
    return chosen


class _Failures:
    def __init__(self) -> None:
        self.reasons: list[str] = []
        self.messages: list[str] = []

    def add(self, reason: str, message: str) -> None:
        self.reasons.append(reason)
        self.messages.append(f"{reason}: {message}")


def verify_endpoint(
    endpoint: Endpoint,
    *,
    policy: AttestationPolicy | Mapping[str, Any] | str | bytes,
    collateral: CollateralSource,
    now: int | None = None,
    rims: RimSource | None = None,
    root_ca_der: bytes | None = None,
) -> VerifiedEndpoint:
    """Verify ``endpoint``'s evidence here and tie its TLS pin to the verified quote.

    Needs the evidence (``client.endpoints(..., evidence=True)``). Runs
    :func:`~worker_manager.attestation.examine.examine` (dcap-qvl, against
    ``collateral``: a :class:`~worker_manager.attestation.CollateralSource` such as a
    :class:`~worker_manager.attestation.DirectoryCollateralStore` of Intel collateral)
    and :func:`~worker_manager.attestation.judge.judge` under ``policy`` (an
    :class:`~worker_manager.attestation.AttestationPolicy`, or its JSON as text or a
    dict; binding ``secretvm_tls`` or ``none``) for the endpoint's worker type at
    ``now`` (default: the current time). Then checks the verdict is ``valid``, and
    that ``report_data[0:32]`` of the quote is the endpoint's pin: the SHA-256 of the
    key (binding ``secretvm_tls:spki``) or of the certificate
    (``secretvm_tls:certificate``) the node saw it serve. ``rims`` supplies signed
    NVIDIA driver RIMs for GPU evidence.

    ``root_ca_der`` replaces Intel's root CA with a test PKI's: for tests only; a
    verdict under another root proves nothing about Intel hardware.

    Returns a :class:`VerifiedEndpoint`; raises :class:`EndpointVerificationFailed`
    listing every failed check (``no_evidence``, ``not_verifiable_here`` for a
    ``worker_key:tls`` endpoint, ``not_pinnable``,
    ``verdict_not_valid``, ``binding_mismatch``, ``pin_mismatch``). A policy with
    ``worker_key`` binding raises ValueError, an invalid one PolicyError.
    """
    rules = _policy(policy)
    failures = _Failures()
    if endpoint.evidence is None:
        failures.add(
            "no_evidence",
            "the endpoint carries no attestation report: ask get_endpoints with evidence=True",
        )
        raise EndpointVerificationFailed(
            endpoint.url, tuple(failures.reasons), tuple(failures.messages)
        )
    if endpoint.tls_binding == "worker_key:tls":
        failures.add(
            "not_verifiable_here",
            "a worker_key:tls quote commits to its registration's challenge, which only the "
            "registry holds: pin it, or verify a secretvm_tls endpoint",
        )
        raise EndpointVerificationFailed(
            endpoint.url, tuple(failures.reasons), tuple(failures.messages)
        )
    pin = endpoint.pin
    form = TLS_BINDING_FORMS.get(endpoint.tls_binding or "")
    if pin is None or form is None:
        failures.add(
            "not_pinnable",
            "the endpoint reports no TLS binding or no fingerprint to pin",
        )
    when = int(time.time()) if now is None else now
    evidence = examine(
        endpoint.evidence.attestation_report,
        collateral=collateral,
        now=when,
        rims=rims,
        root_ca_der=root_ca_der,
    )
    verdict = judge(
        evidence,
        policy=rules,
        worker_type=endpoint.worker_type,
        now=when,
        binding=SecretVmBinding(),
    )
    if not verdict.is_valid:
        failures.add("verdict_not_valid", f"{verdict.status.value}: {verdict.message}")
    if (
        verdict.binding is not None
        and verdict.binding.startswith("secretvm_tls:")
        and verdict.binding != endpoint.tls_binding
    ):
        failures.add(
            "binding_mismatch",
            f"the quote's binding is {verdict.binding}; the endpoint reports "
            f"{endpoint.tls_binding}",
        )
    if pin is not None and form is not None:
        bound = (verdict.report_data or "")[:64]
        if pin.kind != form:
            failures.add(
                "pin_mismatch",
                f"the quote binds the TLS {form}, but the endpoint's pin is its {pin.kind}",
            )
        elif bound != pin.sha256:
            failures.add(
                "pin_mismatch",
                f"report_data[0:32] of the quote is {bound or 'unknown'}; the endpoint's "
                f"{pin.kind} SHA-256 is {pin.sha256}",
            )
    if failures.reasons or pin is None or form is None:
        raise EndpointVerificationFailed(
            endpoint.url, tuple(failures.reasons), tuple(failures.messages)
        )
    warnings: list[str] = []
    theirs, ours = endpoint.evidence.collateral_sha256, verdict.collateral_sha256
    if theirs is not None and ours is not None and theirs != ours:
        warnings.append(
            f"collateral_differs: the node verified with collateral {theirs}; "
            f"this check used {ours}"
        )
    return VerifiedEndpoint(endpoint, verdict, form, pin, tuple(warnings))
