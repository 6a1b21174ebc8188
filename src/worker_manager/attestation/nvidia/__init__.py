"""Offline verification of NVIDIA Hopper GPU evidence (device chain, FWID, SPDM, RIM).

See :mod:`.verify` for the checks and their order, :mod:`.rim` for signed
driver RIMs and ``roots/PROVENANCE.md`` for where the pinned roots come from.
OCSP revocation is never checked here; verdicts say ``ocsp: unchecked``.
"""

from worker_manager.attestation.nvidia.evidence import (
    GpuEvidence,
    GpuEvidenceItem,
    gpu_evidence_to_json,
    parse_gpu_evidence,
)
from worker_manager.attestation.nvidia.rim import (
    DriverRim,
    MemoryRimStore,
    RimSource,
    load_driver_rim,
)
from worker_manager.attestation.nvidia.verify import verify_gpu_evidence

__all__ = [
    "DriverRim",
    "GpuEvidence",
    "GpuEvidenceItem",
    "MemoryRimStore",
    "RimSource",
    "gpu_evidence_to_json",
    "load_driver_rim",
    "parse_gpu_evidence",
    "verify_gpu_evidence",
]
