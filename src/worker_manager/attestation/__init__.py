"""Attestation: decide whether a worker runs the right code on genuine confidential hardware.

A worker registers with an ``attestation_report``: an Intel TDX quote, bare or
in a JSON envelope with NVIDIA GPU evidence (format in :mod:`.decode`).
:func:`verify_attestation` checks it offline against Intel collateral and the
admin's :class:`AttestationPolicy` and returns a :class:`Verdict`
(``valid`` / ``rejected`` / ``unverified``) with stable reason codes
(:class:`Reason`, table in :mod:`.errors`).

Guarantees:

* Pure and deterministic: time is an argument; no clock, no network. The only
  network code, :func:`~.pccs.fetch_collateral`, lives in :mod:`.pccs` and is
  used by the node, never by verification.
* Never ``valid`` without collateral valid at ``now``: that is ``unverified``.
* Quotes are cut to their canonical bytes before hashing, so padding or
  appended bytes cannot make one quote look like two.
* Crypto is never hand-rolled: dcap-qvl checks quotes, ``cryptography`` checks
  X.509 and ECDSA for GPU evidence and RIMs.
"""

from worker_manager.attestation.binding import (
    SecretVmBinding,
    WorkerKeyBinding,
    expected_report_data,
    gpu_nonce,
)
from worker_manager.attestation.collateral import CollateralBundle
from worker_manager.attestation.collateral_dir import DirectoryCollateralStore
from worker_manager.attestation.collateral_store import (
    CollateralSource,
    FixedCollateral,
    MemoryCollateralStore,
    select_bundle,
)
from worker_manager.attestation.decode import AttestationBundle, decode_report, encode_envelope
from worker_manager.attestation.errors import AttestationError, Reason
from worker_manager.attestation.nvidia import (
    DriverRim,
    GpuEvidence,
    MemoryRimStore,
    RimSource,
    load_driver_rim,
    verify_gpu_evidence,
)
from worker_manager.attestation.policy import (
    AttestationPolicy,
    MeasurementSet,
    PolicyError,
    WorkerTypePolicy,
)
from worker_manager.attestation.quote import QuoteInfo, parse_quote
from worker_manager.attestation.secretvm import measurement_sets_from_secretvm_csv
from worker_manager.attestation.verdict import (
    GpuChecks,
    GpuDevice,
    GpuVerdict,
    Verdict,
    VerdictStatus,
)
from worker_manager.attestation.verify import verify_attestation, verify_attestation_with_root_ca

__all__ = [
    "AttestationBundle",
    "AttestationError",
    "AttestationPolicy",
    "CollateralBundle",
    "CollateralSource",
    "DirectoryCollateralStore",
    "DriverRim",
    "FixedCollateral",
    "GpuChecks",
    "GpuDevice",
    "GpuEvidence",
    "GpuVerdict",
    "MeasurementSet",
    "MemoryCollateralStore",
    "MemoryRimStore",
    "PolicyError",
    "QuoteInfo",
    "Reason",
    "RimSource",
    "SecretVmBinding",
    "Verdict",
    "VerdictStatus",
    "WorkerKeyBinding",
    "WorkerTypePolicy",
    "decode_report",
    "encode_envelope",
    "expected_report_data",
    "gpu_nonce",
    "load_driver_rim",
    "measurement_sets_from_secretvm_csv",
    "parse_quote",
    "select_bundle",
    "verify_attestation",
    "verify_attestation_with_root_ca",
    "verify_gpu_evidence",
]
