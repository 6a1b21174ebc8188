"""Reason codes and the one error type of the attestation package.

Every way a verification can fail has a stable, documented reason code (a
:class:`Reason`). Codes are part of the contract's public state: they are
stored in verdicts and shown in queries, so never rename one; add new ones.

Each code also says which verdict status it causes (:func:`status_for`):

* ``rejected``: the evidence itself is bad or does not meet the policy. Retrying
  with the same evidence will not help.
* ``unverified``: *we* lack something to decide (collateral, a GPU RIM), or ours
  is stale. The same evidence may verify later, so the node re-evaluates.

=========================== ========== ==================================================
code                        status     meaning
=========================== ========== ==================================================
malformed_report            rejected   attestation_report is not hex, base64 or a valid envelope
malformed_quote             rejected   the bytes are not a parseable DCAP quote
not_tdx                     rejected   the quote is not an Intel TDX quote (tee_type 0x81)
unsupported_quote           rejected   TDX, but version/key type/cert data we do not support
signature_invalid           rejected   the quote, QE report or attestation key signature is bad
cert_chain_invalid          rejected   the PCK certificate chain does not verify
certificate_revoked         rejected   a certificate in the chain is on a CRL
qe_identity_mismatch        rejected   the quoting enclave does not match Intel's QE identity
tdx_module_mismatch         rejected   the TDX module does not match the TCB info
tcb_no_matching_level       rejected   the platform is below every TCB level Intel lists
tcb_revoked                 rejected   Intel lists the platform's TCB level as Revoked
tcb_status_not_allowed      rejected   TCB status not in the policy's allowed set
advisory_rejected           rejected   an advisory the policy always rejects applies
platform_flag_not_allowed   rejected   dynamic platform / cached keys / SMT refused by policy
debug_td                    rejected   the TD runs in debug mode (td_attributes bit 0)
td_attributes_not_allowed   rejected   reserved TD attribute bits, SEPT_VE_DISABLE off, service TD
measurement_not_allowed     rejected   MRTD/RTMRs match no allowed set for the worker type
event_log_mismatch          rejected   the supplied event log does not replay to the quote's RTMRs
binding_mismatch            rejected   report_data does not commit to the expected key/cert/nonce
stale_challenge             rejected   the bound challenge is not a current one
verification_failed         rejected   dcap-qvl refused the quote for a reason we do not classify
gpu_evidence_missing        rejected   the worker type needs GPU evidence and none was sent
gpu_evidence_malformed      rejected   the GPU evidence cannot be decoded
gpu_arch_unsupported        rejected   GPU architecture other than Hopper
gpu_cert_chain_invalid      rejected   the GPU device chain does not reach NVIDIA's pinned root
gpu_fwid_mismatch           rejected   the leaf certificate's FWID differs from the report's
gpu_signature_invalid       rejected   the SPDM measurement signature does not verify
gpu_nonce_mismatch          rejected   the SPDM request nonce is not report_data[32:64]
gpu_measurement_mismatch    rejected   runtime GPU measurements differ from the signed driver RIM
collateral_unavailable      unverified no collateral bundle for the quote's FMSPC and CA
collateral_expired          unverified collateral exists but its window ended before ``now``
collateral_not_yet_valid    unverified collateral exists but its window starts after ``now``
collateral_invalid          unverified the collateral is malformed or not signed by Intel's root
collateral_mismatch         unverified the collateral is for another FMSPC or TEE
collateral_too_old          unverified the bundle is older than the policy's max collateral age
tcb_eval_too_old            unverified the collateral's TCB evaluation number is below the minimum
gpu_rim_unavailable         unverified no valid signed driver RIM for the GPU's driver version
not_examined                unverified the report was not examined before its block: send it again
=========================== ========== ==================================================
"""

from enum import StrEnum

from cryptography import x509


class Reason(StrEnum):
    """A stable reason code; the value is what gets stored."""

    MALFORMED_REPORT = "malformed_report"
    MALFORMED_QUOTE = "malformed_quote"
    NOT_TDX = "not_tdx"
    UNSUPPORTED_QUOTE = "unsupported_quote"
    SIGNATURE_INVALID = "signature_invalid"
    CERT_CHAIN_INVALID = "cert_chain_invalid"
    CERTIFICATE_REVOKED = "certificate_revoked"
    QE_IDENTITY_MISMATCH = "qe_identity_mismatch"
    TDX_MODULE_MISMATCH = "tdx_module_mismatch"
    TCB_NO_MATCHING_LEVEL = "tcb_no_matching_level"
    TCB_REVOKED = "tcb_revoked"
    TCB_STATUS_NOT_ALLOWED = "tcb_status_not_allowed"
    ADVISORY_REJECTED = "advisory_rejected"
    PLATFORM_FLAG_NOT_ALLOWED = "platform_flag_not_allowed"
    DEBUG_TD = "debug_td"
    TD_ATTRIBUTES_NOT_ALLOWED = "td_attributes_not_allowed"
    MEASUREMENT_NOT_ALLOWED = "measurement_not_allowed"
    EVENT_LOG_MISMATCH = "event_log_mismatch"
    BINDING_MISMATCH = "binding_mismatch"
    STALE_CHALLENGE = "stale_challenge"
    VERIFICATION_FAILED = "verification_failed"
    GPU_EVIDENCE_MISSING = "gpu_evidence_missing"
    GPU_EVIDENCE_MALFORMED = "gpu_evidence_malformed"
    GPU_ARCH_UNSUPPORTED = "gpu_arch_unsupported"
    GPU_CERT_CHAIN_INVALID = "gpu_cert_chain_invalid"
    GPU_FWID_MISMATCH = "gpu_fwid_mismatch"
    GPU_SIGNATURE_INVALID = "gpu_signature_invalid"
    GPU_NONCE_MISMATCH = "gpu_nonce_mismatch"
    GPU_MEASUREMENT_MISMATCH = "gpu_measurement_mismatch"
    COLLATERAL_UNAVAILABLE = "collateral_unavailable"
    COLLATERAL_EXPIRED = "collateral_expired"
    COLLATERAL_NOT_YET_VALID = "collateral_not_yet_valid"
    COLLATERAL_INVALID = "collateral_invalid"
    COLLATERAL_MISMATCH = "collateral_mismatch"
    COLLATERAL_TOO_OLD = "collateral_too_old"
    TCB_EVAL_TOO_OLD = "tcb_eval_too_old"
    GPU_RIM_UNAVAILABLE = "gpu_rim_unavailable"
    NOT_EXAMINED = "not_examined"


UNVERIFIED_REASONS: frozenset[Reason] = frozenset(
    {
        Reason.COLLATERAL_UNAVAILABLE,
        Reason.COLLATERAL_EXPIRED,
        Reason.COLLATERAL_NOT_YET_VALID,
        Reason.COLLATERAL_INVALID,
        Reason.COLLATERAL_MISMATCH,
        Reason.COLLATERAL_TOO_OLD,
        Reason.TCB_EVAL_TOO_OLD,
        Reason.GPU_RIM_UNAVAILABLE,
        Reason.NOT_EXAMINED,
    }
)
"""Codes that leave a verdict ``unverified``; every other code rejects."""


def is_unverified(reason: Reason) -> bool:
    """True when ``reason`` means "we cannot decide yet", not "the evidence is bad"."""
    return reason in UNVERIFIED_REASONS


class AttestationError(Exception):
    """A verification step failed; ``code`` says why in a stable way.

    Raised inside the package and turned into verdict reasons by
    :func:`~worker_manager.attestation.verify.verify_attestation`, which never
    raises for bad evidence. Helpers that take admin input (collateral import,
    policy parsing, RIM loading) raise it directly.
    """

    def __init__(self, code: Reason, message: str) -> None:
        super().__init__(f"{code.value}: {message}")
        self.code = code
        self.message = message


CERTIFICATE_PARSE_ERRORS: tuple[type[Exception], ...] = (ValueError, x509.InvalidVersion)
"""What ``cryptography`` raises for unparseable certificates (InvalidVersion is no ValueError)."""
