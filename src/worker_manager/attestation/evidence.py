"""Evidence: what examining a report established, before any policy is applied.

Verification has two halves. :func:`~.examine.examine` does the expensive,
state-free part: decode the report, parse the quote, check it with dcap-qvl
against the collateral held at the time, check GPU evidence, replay the event
log, read the TLS certificate. It runs before a transaction reaches its block,
outside every lock. :func:`~.judge.judge` then applies the admin's policy to the
evidence, cheaply and deterministically, inside the block.

Evidence is recorded with its transaction, so a replay of the log judges the
very same evidence and never reads collateral again. Its JSON is canonical
(sorted keys, no whitespace, ``evidence_version``).
"""

import hashlib
from dataclasses import dataclass

from worker_manager.attestation.verdict import GpuVerdict, dump_versioned, load_versioned

EVIDENCE_VERSION = 1


def evidence_key(report: str) -> str:
    """The key evidence is filed under: sha256 of the report text as the contract stores it
    (surrounding whitespace removed)."""
    return hashlib.sha256(report.strip().encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Finding:
    """A reason code found while examining, and what it was about."""

    reason: str
    message: str


@dataclass(frozen=True, slots=True)
class QuoteFacts:
    """What the quote says (measured values as lowercase hex)."""

    sha256: str
    body_sha256: str
    version: int
    mrtd: str
    rtmr0: str
    rtmr1: str
    rtmr2: str
    rtmr3: str
    mr_config_id: str
    report_data: str
    td_attributes: str
    debug: bool
    fmspc: str

    @property
    def report_data_bytes(self) -> bytes:
        return bytes.fromhex(self.report_data)


@dataclass(frozen=True, slots=True)
class ClaimFacts:
    """What dcap-qvl vouched for once every signature checked out."""

    tcb_status: str
    advisory_ids: tuple[str, ...]
    tcb_eval_data_number: int
    tcb_date: int | None
    dynamic_platform: bool | None
    cached_keys: bool | None
    smt_enabled: bool | None


@dataclass(frozen=True, slots=True)
class CollateralFacts:
    """Which collateral bundle the quote was checked with, and its validity window."""

    sha256: str
    valid_from: int
    valid_until: int


@dataclass(frozen=True, slots=True)
class Evidence:
    """Everything :func:`~.examine.examine` learnt about one report at ``examined_at``.

    ``findings`` are the failures of decoding and of dcap-qvl's check, in order;
    ``claims`` is set only when dcap-qvl accepted the quote. ``gpu`` was checked
    without requiring a driver RIM (the policy decides that). ``tls_binding`` is the
    form in which report_data commits to the envelope's TLS certificate (``spki`` or
    ``certificate``), or ``tls_binding_error`` why it does not.
    """

    examined_at: int
    findings: tuple[Finding, ...]
    quote: QuoteFacts | None = None
    claims: ClaimFacts | None = None
    collateral: CollateralFacts | None = None
    has_gpu_evidence: bool = False
    gpu: GpuVerdict | None = None
    event_log_verified: bool | None = None
    event_log_mismatched: tuple[int, ...] = ()
    tls_binding: str | None = None
    tls_binding_error: Finding | None = None

    def to_json(self) -> str:
        """Canonical JSON: sorted keys, compact, with ``evidence_version``."""
        return dump_versioned(self, "evidence_version", EVIDENCE_VERSION)

    @classmethod
    def from_json(cls, text: str | bytes) -> "Evidence":
        """Inverse of :meth:`to_json`; raises ValueError for anything else."""
        result = load_versioned(
            cls, text, "evidence_version", EVIDENCE_VERSION, f"version {EVIDENCE_VERSION} evidence"
        )
        if not isinstance(result, Evidence):  # pragma: no cover - load_versioned builds cls
            raise TypeError("not evidence")
        return result
