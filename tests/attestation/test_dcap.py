"""The dcap-qvl wrapper: real error messages map to the right reason codes."""

from typing import Any

import pytest

from worker_manager.attestation import AttestationError, CollateralBundle, Reason, parse_quote
from worker_manager.attestation.dcap import classify, verify_quote

from .conftest import load_quote_file

DAY = 86400
A_QUOTE, A_COLL = "dcap-qvl/tdx_quote", "dcap-qvl/tdx_quote_collateral.json"
C_COLL = "dcap-qvl/near-gas-test/quote_collateral.json"


def failure(raw: bytes, bundle: CollateralBundle, now: int) -> AttestationError:
    with pytest.raises(AttestationError) as info:
        verify_quote(raw, bundle, now)
    return info.value


def test_claims_of_a_genuine_quote(
    bundles: dict[str, CollateralBundle], expected: dict[str, Any]
) -> None:
    claims = verify_quote(
        parse_quote(load_quote_file(A_QUOTE)).raw, bundles[A_COLL], expected[A_QUOTE]["verify_at"]
    )
    assert claims.tcb_status == "UpToDate"
    assert claims.advisory_ids == ()
    assert claims.tcb_eval_data_number == 17
    assert claims.tcb_date == 1710288000  # 2024-03-13, the matched level's tcbDate
    assert (claims.dynamic_platform, claims.cached_keys, claims.smt_enabled) == (True, True, True)


def test_window_errors_straight_from_dcap_qvl(bundles: dict[str, CollateralBundle]) -> None:
    raw = parse_quote(load_quote_file(A_QUOTE)).raw
    bundle = bundles[A_COLL]
    before = failure(raw, bundle, bundle.valid_from - DAY)
    assert before.code is Reason.COLLATERAL_NOT_YET_VALID
    assert "issue date is in the future" in before.message
    after = failure(raw, bundle, bundle.valid_until + DAY)
    assert after.code is Reason.COLLATERAL_EXPIRED
    assert after.message == "TCBInfo expired"
    years_later = failure(raw, bundle, bundle.valid_until + 365 * DAY)
    assert years_later.code is Reason.COLLATERAL_EXPIRED


def test_fmspc_mismatch_and_tampering(
    bundles: dict[str, CollateralBundle], expected: dict[str, Any]
) -> None:
    raw = parse_quote(load_quote_file(A_QUOTE)).raw
    c_time = expected["dcap-qvl/near-gas-test/quote_hex.txt"]["verify_at"]
    assert failure(raw, bundles[C_COLL], c_time).code is Reason.COLLATERAL_MISMATCH
    tampered = bytearray(raw)
    tampered[184] ^= 1
    error = failure(bytes(tampered), bundles[A_COLL], expected[A_QUOTE]["verify_at"])
    assert error.code is Reason.SIGNATURE_INVALID


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        ("Failed to decode quote", Reason.MALFORMED_QUOTE),
        ("ISV enclave report signature is invalid", Reason.SIGNATURE_INVALID),
        ("Signature is invalid for qe_report in quote", Reason.SIGNATURE_INVALID),
        ("QE report hash mismatch", Reason.SIGNATURE_INVALID),
        ("TCBInfo issue date is in the future", Reason.COLLATERAL_NOT_YET_VALID),
        ("QE Identity issue date is in the future", Reason.COLLATERAL_NOT_YET_VALID),
        ("TCBInfo expired", Reason.COLLATERAL_EXPIRED),
        ("QE Identity expired", Reason.COLLATERAL_EXPIRED),
        ("CrlExpired { time: UnixTime(1), next_update: UnixTime(0) }", Reason.COLLATERAL_EXPIRED),
        ("Fmspc mismatch", Reason.COLLATERAL_MISMATCH),
        (
            "Failed to parse root CA CRL\n\nCaused by:\n    InvalidCrlSignatureForPublicKey",
            Reason.COLLATERAL_INVALID,
        ),
        ("Signature is invalid for tcb_info in quote_collateral", Reason.COLLATERAL_INVALID),
        ("Failed to verify certificate chain", Reason.CERT_CHAIN_INVALID),
        ("CertRevoked", Reason.CERTIFICATE_REVOKED),
        ("QE MRSIGNER mismatch: expected AA, got BB", Reason.QE_IDENTITY_MISMATCH),
        ("TDX module MRSIGNER mismatch: expected AA, got BB", Reason.TDX_MODULE_MISMATCH),
        ("No matching TCB level found", Reason.TCB_NO_MATCHING_LEVEL),
        ("TCB status is invalid: Revoked", Reason.TCB_REVOKED),
        ("Debug mode is enabled", Reason.DEBUG_TD),
        ("SEPT_VE_DISABLE is not enabled", Reason.TD_ATTRIBUTES_NOT_ALLOWED),
        ("Unsupported DCAP attestation key type", Reason.UNSUPPORTED_QUOTE),
        ("Unsupported TEE type: 7", Reason.NOT_TDX),
        ("something new in a later dcap-qvl", Reason.VERIFICATION_FAILED),
    ],
)
def test_classify(message: str, reason: Reason) -> None:
    assert classify(message) is reason
