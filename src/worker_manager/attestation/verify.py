"""Verify a worker's attestation report against the policy, in one call.

:func:`verify_attestation` is :func:`~.examine.examine` (decode, dcap-qvl with the
collateral, GPU evidence, event log) followed by :func:`~.judge.judge` (the
policy). The node runs the two halves apart: examining before a transaction's
block, outside every lock, and judging inside it (see :mod:`.evidence`). Tools
and tests that want the verdict at once call this.

Pure and deterministic: it reads no clock and does no network I/O. Time is the
``now`` argument, collateral and RIMs come from the sources passed in. Given the
same inputs it returns the same :class:`~.verdict.Verdict`, byte for byte, and it
never raises for bad evidence: every failure becomes a reason code.
"""

from collections.abc import Collection

from worker_manager.attestation.collateral_store import CollateralSource
from worker_manager.attestation.decode import AttestationBundle
from worker_manager.attestation.examine import examine
from worker_manager.attestation.judge import Binding, judge
from worker_manager.attestation.nvidia.rim import RimSource
from worker_manager.attestation.policy import AttestationPolicy
from worker_manager.attestation.verdict import Verdict


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
    evidence = examine(report, collateral=collateral, now=now, rims=rims)
    return judge(
        evidence,
        policy=policy,
        worker_type=worker_type,
        now=now,
        binding=binding,
        fresh_challenges=fresh_challenges,
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
    evidence = examine(report, collateral=collateral, now=now, rims=rims, root_ca_der=root_ca_der)
    return judge(
        evidence,
        policy=policy,
        worker_type=worker_type,
        now=now,
        binding=binding,
        fresh_challenges=fresh_challenges,
    )
