"""The one place that runs dcap-qvl's cryptographic check and reads its claims.

``QuoteVerifier().verify_with_policy(raw, collateral, now, QuotePolicy.claims_only(now))``
checks every signature (PCK chain to Intel's root, CRLs, TCB info, QE identity,
QE report, quote), the collateral time window and the TCB level match, and
then returns the claims without applying any TCB-status policy: we apply the
policy ourselves so each refusal has a reason code.

dcap-qvl reports failures only as ``ValueError`` text, so :func:`classify`
maps that text to reason codes in one table. Every message listed there was
seen from dcap-qvl 0.7.0 or read from its source; anything unknown becomes
``verification_failed`` with the original text, never "valid".
"""

import json
from datetime import datetime
from typing import Any

import dcap_qvl

from worker_manager.attestation.collateral import CollateralBundle
from worker_manager.attestation.errors import AttestationError, Reason
from worker_manager.attestation.evidence import ClaimFacts

# First match wins, so collateral problems are listed before the chain checks
# whose messages they may contain.
_MESSAGE_TABLE: tuple[tuple[str, Reason], ...] = (
    ("Failed to decode quote", Reason.MALFORMED_QUOTE),
    ("Unsupported TEE type", Reason.NOT_TDX),
    ("SGX TEE quote", Reason.NOT_TDX),
    ("Unsupported DCAP quote version", Reason.UNSUPPORTED_QUOTE),
    ("TDX TEE quote must have version", Reason.UNSUPPORTED_QUOTE),
    ("Unsupported DCAP attestation key type", Reason.UNSUPPORTED_QUOTE),
    ("Unsupported DCAP PCK cert format", Reason.UNSUPPORTED_QUOTE),
    ("Unsupported cert", Reason.UNSUPPORTED_QUOTE),
    ("Invalid QE auth data length", Reason.UNSUPPORTED_QUOTE),
    ("Unknown QE vendor ID", Reason.UNSUPPORTED_QUOTE),
    ("Debug mode is enabled", Reason.DEBUG_TD),
    ("Reserved bits in TD attributes", Reason.TD_ATTRIBUTES_NOT_ALLOWED),
    ("SEPT_VE_DISABLE", Reason.TD_ATTRIBUTES_NOT_ALLOWED),
    ("Invalid MR service TD", Reason.TD_ATTRIBUTES_NOT_ALLOWED),
    ("Failed to parse TD attributes", Reason.TD_ATTRIBUTES_NOT_ALLOWED),
    ("issue date is in the future", Reason.COLLATERAL_NOT_YET_VALID),
    ("TCBInfo expired", Reason.COLLATERAL_EXPIRED),
    ("QE Identity expired", Reason.COLLATERAL_EXPIRED),
    ("CrlExpired", Reason.COLLATERAL_EXPIRED),
    ("certificate revocation list expired", Reason.COLLATERAL_EXPIRED),
    ("Collateral expired", Reason.COLLATERAL_EXPIRED),
    ("Fmspc mismatch", Reason.COLLATERAL_MISMATCH),
    ("with non-TDX TCB info", Reason.COLLATERAL_MISMATCH),
    ("Unsupported QE Identity id/version", Reason.COLLATERAL_MISMATCH),
    ("Signature is invalid for tcb_info", Reason.COLLATERAL_INVALID),
    ("Signature is invalid for qe_identity", Reason.COLLATERAL_INVALID),
    ("root CA CRL", Reason.COLLATERAL_INVALID),
    ("PCK CRL", Reason.COLLATERAL_INVALID),
    ("invalid certificate revocation list", Reason.COLLATERAL_INVALID),
    ("Failed to decode TcbInfo", Reason.COLLATERAL_INVALID),
    ("Failed to decode QeIdentity", Reason.COLLATERAL_INVALID),
    ("Failed to parse TCB Info", Reason.COLLATERAL_INVALID),
    ("Failed to parse QE Identity", Reason.COLLATERAL_INVALID),
    ("for TCB Info", Reason.COLLATERAL_INVALID),
    ("for QE Identity", Reason.COLLATERAL_INVALID),
    ("Failed to decode TCB FMSPC", Reason.COLLATERAL_INVALID),
    ("No TCB levels found in QE Identity", Reason.COLLATERAL_INVALID),
    ("components in the TCB info", Reason.COLLATERAL_INVALID),
    ("Failed to load root ca", Reason.COLLATERAL_INVALID),
    ("ISV enclave report signature is invalid", Reason.SIGNATURE_INVALID),
    ("Signature is invalid for qe_report", Reason.SIGNATURE_INVALID),
    ("QE report hash mismatch", Reason.SIGNATURE_INVALID),
    ("CertRevoked", Reason.CERTIFICATE_REVOKED),
    ("Failed to verify certificate chain", Reason.CERT_CHAIN_INVALID),
    ("Certificate chain is too short", Reason.CERT_CHAIN_INVALID),
    ("PCK certificate", Reason.CERT_CHAIN_INVALID),
    ("Intel extension", Reason.CERT_CHAIN_INVALID),
    ("QE MRSIGNER", Reason.QE_IDENTITY_MISMATCH),
    ("QE ISVPRODID", Reason.QE_IDENTITY_MISMATCH),
    ("QE MISCSELECT", Reason.QE_IDENTITY_MISMATCH),
    ("QE ATTRIBUTES", Reason.QE_IDENTITY_MISMATCH),
    ("QE report validation failed", Reason.QE_IDENTITY_MISMATCH),
    ("QE ISVSVN", Reason.QE_IDENTITY_MISMATCH),
    ("TDX module", Reason.TDX_MODULE_MISMATCH),
    ("No matching TCB level found", Reason.TCB_NO_MATCHING_LEVEL),
    ("Revoked", Reason.TCB_REVOKED),
)


def classify(message: str) -> Reason:
    """The reason code for a dcap-qvl ``ValueError`` message."""
    for needle, reason in _MESSAGE_TABLE:
        if needle in message:
            return reason
    return Reason.VERIFICATION_FAILED


def verify_quote(
    raw: bytes, bundle: CollateralBundle, now: int, *, root_ca_der: bytes | None = None
) -> ClaimFacts:
    """Run dcap-qvl on a canonical quote; raise AttestationError with a mapped code.

    ``root_ca_der`` replaces Intel's root. Only tests pass it (with a test
    PKI); production code never does, see ``verify_attestation_with_root_ca``.
    """
    verifier = dcap_qvl.QuoteVerifier(root_ca_der) if root_ca_der else dcap_qvl.QuoteVerifier()
    try:
        claims = verifier.verify_with_policy(
            raw, bundle.to_dcap(), now, dcap_qvl.QuotePolicy.claims_only(now)
        )
    except ValueError as exc:
        message = str(exc).removeprefix("Verification failed: ")
        raise AttestationError(classify(message), message) from exc
    return _claims(json.loads(claims.to_json()))


def _flag(value: object) -> bool | None:
    if isinstance(value, bool):
        return value
    if value in ("True", "true"):
        return True
    if value in ("False", "false"):
        return False
    return None


def _date(value: object) -> int | None:
    if not isinstance(value, str):
        return None
    try:
        return int(datetime.fromisoformat(value).timestamp())
    except ValueError:
        return None


def _claims(obj: dict[str, Any]) -> ClaimFacts:
    tcb = obj.get("tcb") or {}
    platform = obj.get("platform") or {}
    pck = platform.get("pck") or {}
    level = platform.get("tcb_level") or {}
    return ClaimFacts(
        tcb_status=str(tcb.get("status", "")),
        advisory_ids=tuple(sorted(str(a) for a in tcb.get("advisory_ids") or ())),
        tcb_eval_data_number=int(tcb.get("eval_data_number", 0)),
        tcb_date=_date(level.get("tcbDate")),
        dynamic_platform=_flag(pck.get("dynamic_platform")),
        cached_keys=_flag(pck.get("cached_keys")),
        smt_enabled=_flag(pck.get("smt_enabled")),
    )
