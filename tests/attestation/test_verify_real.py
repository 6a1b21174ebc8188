"""verify_attestation on the real samples (cases A-G of the test-data README).

Every call uses the fixed ``verify_at`` of expected.json, never the clock.
"""

import json
from collections.abc import Callable
from typing import Any

import pytest

from worker_manager.attestation import (
    AttestationPolicy,
    CollateralBundle,
    FixedCollateral,
    MemoryCollateralStore,
    MemoryRimStore,
    Reason,
    Verdict,
    VerdictStatus,
    WorkerKeyBinding,
    WorkerTypePolicy,
    encode_envelope,
    measurement_sets_from_secretvm_csv,
    verify_attestation,
)

from .conftest import DATA, WORKER_TYPE, allow_quotes, load_quote_file

A, B, C, D, E = (
    "dcap-qvl/tdx_quote",
    "dcap-qvl/tdx_quote_outdated",
    "dcap-qvl/near-gas-test/quote_hex.txt",
    "dcap-qvl/sgx_quote",
    "near-mpc/quote.json",
)
F, G = "secretvm/secretai_cpu_quote.txt", "secretvm/tdx_cpu_docker_check_quote.txt"
DAY = 86400
GPU_ATTEST = json.loads((DATA / "secretvm" / "gpu_attest.txt").read_text())
EVENT_LOG = json.loads((DATA / "near-mpc" / "tcb_info.json").read_text())["event_log"]


def verify(
    raw: bytes | str,
    collateral_store: Any,
    now: int,
    policy: AttestationPolicy,
    **kwargs: Any,
) -> Verdict:
    text = raw.hex() if isinstance(raw, bytes) else raw
    verdict = verify_attestation(
        text, collateral=collateral_store, now=now, policy=policy, worker_type=WORKER_TYPE, **kwargs
    )
    assert Verdict.from_json(verdict.to_json()) == verdict
    return verdict


@pytest.mark.parametrize("path", [A, C, E])
def test_genuine_up_to_date_quotes_are_valid_when_allowlisted(
    path: str, expected: dict[str, Any], collateral_store: MemoryCollateralStore
) -> None:
    case = expected[path]
    raw = load_quote_file(path)
    verdict = verify(raw, collateral_store, case["verify_at"], allow_quotes(raw))
    assert verdict.status is VerdictStatus.VALID, verdict.message
    assert verdict.reasons == ()
    assert verdict.tcb_status == "UpToDate"
    assert verdict.advisory_ids == ()
    assert verdict.fmspc == case["fmspc"].lower()
    assert verdict.quote_version == 4
    assert verdict.mrtd == case["fields"]["mr_td"]
    assert verdict.rtmr3 == case["fields"]["rt_mr3"]
    assert verdict.report_data == case["fields"]["report_data"]
    assert verdict.measurement_label == "set-0"
    assert verdict.binding == "none"
    assert verdict.verified_at == case["verify_at"]
    assert verdict.collateral_sha256 is not None
    assert verdict.debug is False


def test_e_reports_tcb_eval_number_19(
    expected: dict[str, Any], collateral_store: MemoryCollateralStore
) -> None:
    raw = load_quote_file(E)
    verdict = verify(raw, collateral_store, expected[E]["verify_at"], allow_quotes(raw))
    assert verdict.tcb_eval_data_number == 19


def test_b_below_every_tcb_level_is_rejected_not_out_of_date(
    expected: dict[str, Any], collateral_store: MemoryCollateralStore
) -> None:
    raw = load_quote_file(B)
    policy = allow_quotes(raw, allowed_tcb_statuses=("UpToDate", "OutOfDate"))
    verdict = verify(raw, collateral_store, expected[B]["verify_at"], policy)
    assert verdict.status is VerdictStatus.REJECTED
    assert verdict.reasons == ("tcb_no_matching_level",)
    assert "No matching TCB level found" in verdict.message
    assert verdict.tcb_status is None
    assert verdict.quote_version == 5


def test_d_sgx_is_rejected_as_not_tdx(
    expected: dict[str, Any], collateral_store: MemoryCollateralStore
) -> None:
    verdict = verify(
        load_quote_file(D), collateral_store, expected[D]["verify_at"], AttestationPolicy()
    )
    assert verdict.status is VerdictStatus.REJECTED
    assert verdict.reasons == ("not_tdx",)
    assert verdict.quote_sha256 is None


@pytest.mark.parametrize("path", [F, G])
def test_f_and_g_without_collateral_are_unverified_never_valid(
    path: str, bundles: dict[str, CollateralBundle]
) -> None:
    raw = load_quote_file(path)
    now = 1775000000  # 2026-04-01: after the quotes' PCK certificates were issued
    other_fmspc = bundles["dcap-qvl/near-gas-test/quote_collateral.json"]
    for collateral_store in (MemoryCollateralStore(), MemoryCollateralStore([other_fmspc])):
        verdict = verify(raw, collateral_store, now, allow_quotes(raw))
        assert verdict.status is VerdictStatus.UNVERIFIED
        assert verdict.reasons == ("collateral_unavailable",)
        assert verdict.mrtd == parse_mrtd(path)


def parse_mrtd(path: str) -> str:
    from worker_manager.attestation import parse_quote

    return parse_quote(load_quote_file(path)).mrtd


def test_g_between_two_bundles_of_its_fmspc_is_unverified(
    bundles: dict[str, CollateralBundle], collateral_store: MemoryCollateralStore
) -> None:
    """A's bundle (July 2025) has ended, E's (August 2026) has not started."""
    raw = load_quote_file(G)
    expired_only = MemoryCollateralStore([bundles["dcap-qvl/tdx_quote_collateral.json"]])
    verdict = verify(raw, expired_only, 1775000000, allow_quotes(raw))
    assert (verdict.status, verdict.reasons) == (VerdictStatus.UNVERIFIED, ("collateral_expired",))
    verdict = verify(raw, collateral_store, 1775000000, allow_quotes(raw))
    assert (verdict.status, verdict.reasons) == (
        VerdictStatus.UNVERIFIED,
        ("collateral_not_yet_valid",),
    )


def test_measurements_not_on_the_allowlist_are_rejected(
    expected: dict[str, Any], collateral_store: MemoryCollateralStore
) -> None:
    raw = load_quote_file(A)
    other = allow_quotes(load_quote_file(C))
    verdict = verify(raw, collateral_store, expected[A]["verify_at"], other)
    assert verdict.status is VerdictStatus.REJECTED
    assert verdict.reasons == ("measurement_not_allowed",)
    assert verdict.tcb_status == "UpToDate"  # the crypto passed; only the policy refused
    unknown_type = verify_attestation(
        raw.hex(),
        collateral=collateral_store,
        now=expected[A]["verify_at"],
        policy=allow_quotes(raw),
        worker_type="no-such-type",
    )
    assert unknown_type.reasons == ("measurement_not_allowed",)


@pytest.mark.parametrize("path", [A, B, C, E])
def test_flipping_the_first_mrtd_byte_breaks_the_signature(
    path: str, expected: dict[str, Any], collateral_store: MemoryCollateralStore
) -> None:
    raw = bytearray(load_quote_file(path))
    raw[184] ^= 0x01
    verdict = verify(
        bytes(raw),
        collateral_store,
        expected[path]["verify_at"],
        allow_quotes(load_quote_file(path)),
    )
    assert verdict.status is VerdictStatus.REJECTED
    assert verdict.reasons == ("signature_invalid",)
    assert "ISV enclave report signature is invalid" in verdict.message


@pytest.mark.parametrize("path", [A, B, C, E])
def test_a_day_outside_the_window_is_unverified_with_the_direction(
    path: str, expected: dict[str, Any], collateral_store: MemoryCollateralStore
) -> None:
    raw = load_quote_file(path)
    case = expected[path]
    bundle = next(
        b
        for b in collateral_store.bundles_for(case["fmspc"], "platform")
        if b.is_valid_at(case["verify_at"])
    )
    only = MemoryCollateralStore([bundle])
    before = verify(raw, only, bundle.valid_from - DAY, allow_quotes(raw))
    after = verify(raw, only, bundle.valid_until + DAY, allow_quotes(raw))
    assert (before.status, before.reasons) == (
        VerdictStatus.UNVERIFIED,
        ("collateral_not_yet_valid",),
    )
    assert (after.status, after.reasons) == (VerdictStatus.UNVERIFIED, ("collateral_expired",))


def test_verifying_today_with_stored_collateral_is_never_valid(
    collateral_store: MemoryCollateralStore,
) -> None:
    raw = load_quote_file(A)
    verdict = verify(raw, collateral_store, 1893456000, allow_quotes(raw))  # 2030-01-01
    assert verdict.status is VerdictStatus.UNVERIFIED
    assert verdict.reasons == ("collateral_expired",)


def test_a_with_c_collateral_is_an_fmspc_mismatch(
    expected: dict[str, Any], bundles: dict[str, CollateralBundle]
) -> None:
    raw = load_quote_file(A)
    fixed = FixedCollateral(bundles["dcap-qvl/near-gas-test/quote_collateral.json"])
    verdict = verify(raw, fixed, expected[C]["verify_at"], allow_quotes(raw))
    assert verdict.status is VerdictStatus.UNVERIFIED
    assert verdict.reasons == ("collateral_mismatch",)
    assert "Fmspc mismatch" in verdict.message


@pytest.mark.parametrize("cut", [100, 700, 4000])
def test_truncated_quote_is_malformed(
    cut: int, expected: dict[str, Any], collateral_store: MemoryCollateralStore
) -> None:
    raw = load_quote_file(A)[:cut]
    verdict = verify(raw, collateral_store, expected[A]["verify_at"], AttestationPolicy())
    assert verdict.status is VerdictStatus.REJECTED
    assert verdict.reasons == ("malformed_quote",)


def test_malformed_text_is_rejected(collateral_store: MemoryCollateralStore) -> None:
    verdict = verify("not hex!", collateral_store, 0, AttestationPolicy())
    assert (verdict.status, verdict.reasons) == (VerdictStatus.REJECTED, ("malformed_report",))


def test_padding_and_garbage_do_not_change_the_quote_hash(
    expected: dict[str, Any], collateral_store: MemoryCollateralStore
) -> None:
    raw = load_quote_file(A)
    now = expected[A]["verify_at"]
    plain = verify(raw, collateral_store, now, allow_quotes(raw))
    padded = verify(raw + b"tail", collateral_store, now, allow_quotes(raw))
    assert plain.quote_sha256 == padded.quote_sha256
    assert plain.to_json() == padded.to_json()


def test_unsigned_pem_whitespace_changes_the_quote_hash_but_not_the_body_hash(
    expected: dict[str, Any], collateral_store: MemoryCollateralStore
) -> None:
    raw = load_quote_file(A)[:4936]
    first_line_end = raw.index(b"\n", raw.index(b"-----BEGIN CERTIFICATE-----") + 28)
    variant = raw[:first_line_end] + b"\x0b" + raw[first_line_end + 1 :]
    now = expected[A]["verify_at"]
    original = verify(raw, collateral_store, now, allow_quotes(raw))
    changed = verify(variant, collateral_store, now, allow_quotes(raw))
    assert changed.status is VerdictStatus.VALID  # the PCK chain is not covered by the signature
    assert changed.quote_sha256 != original.quote_sha256
    assert changed.quote_body_sha256 == original.quote_body_sha256


def test_verdicts_are_deterministic(
    expected: dict[str, Any], collateral_store: MemoryCollateralStore
) -> None:
    raw = load_quote_file(C)
    policy = allow_quotes(raw)
    runs = {
        verify(raw, collateral_store, expected[C]["verify_at"], policy).to_json() for _ in range(3)
    }
    assert len(runs) == 1


TcbCase = tuple[dict[str, Any], str, VerdictStatus]


@pytest.mark.parametrize(
    ("overrides", "reason", "status"),
    [
        (
            {"allowed_tcb_statuses": ("SWHardeningNeeded",)},
            "tcb_status_not_allowed",
            VerdictStatus.REJECTED,
        ),
        ({"min_tcb_eval_data_number": 18}, "tcb_eval_too_old", VerdictStatus.UNVERIFIED),
        ({"max_collateral_age": DAY}, "collateral_too_old", VerdictStatus.UNVERIFIED),
        ({"allow_smt": False}, "platform_flag_not_allowed", VerdictStatus.REJECTED),
        ({"allow_dynamic_platform": False}, "platform_flag_not_allowed", VerdictStatus.REJECTED),
    ],
)
def test_policy_refusals_on_a_genuine_quote(
    overrides: dict[str, Any],
    reason: str,
    status: VerdictStatus,
    expected: dict[str, Any],
    collateral_store: MemoryCollateralStore,
) -> None:
    raw = load_quote_file(A)
    verdict = verify(
        raw, collateral_store, expected[A]["verify_at"], allow_quotes(raw, **overrides)
    )
    assert verdict.reasons == (reason,)
    assert verdict.status is status


def test_worker_key_binding_refuses_a_quote_bound_to_something_else(
    expected: dict[str, Any], collateral_store: MemoryCollateralStore
) -> None:
    raw = load_quote_file(A)
    policy = allow_quotes(raw, binding="worker_key", require_fresh_challenge=True)
    binding = WorkerKeyBinding("secret-4", bytes([2]) * 33, "secret1x", b"c")
    verdict = verify(
        raw,
        collateral_store,
        expected[A]["verify_at"],
        policy,
        binding=binding,
        fresh_challenges=[b"c"],
    )
    assert verdict.reasons == ("binding_mismatch",)
    missing = verify(raw, collateral_store, expected[A]["verify_at"], policy)
    assert missing.reasons == ("binding_mismatch",)
    assert "registration fields" in missing.message


def test_gpu_worker_type_without_gpu_evidence(
    expected: dict[str, Any], collateral_store: MemoryCollateralStore
) -> None:
    raw = load_quote_file(A)
    sets = allow_quotes(raw).worker_types[WORKER_TYPE].measurements
    policy = allow_quotes(
        raw, worker_types={WORKER_TYPE: WorkerTypePolicy(measurements=sets, require_gpu=True)}
    )
    verdict = verify(raw, collateral_store, expected[A]["verify_at"], policy)
    assert (verdict.status, verdict.reasons) == (VerdictStatus.REJECTED, ("gpu_evidence_missing",))


def test_e_with_its_event_log_replays_to_the_quote(
    expected: dict[str, Any], collateral_store: MemoryCollateralStore
) -> None:
    raw = load_quote_file(E)
    now = expected[E]["verify_at"]
    good = verify(
        encode_envelope(raw, event_log=EVENT_LOG), collateral_store, now, allow_quotes(raw)
    )
    assert good.status is VerdictStatus.VALID, good.message
    assert good.event_log_verified is True
    tampered = [dict(e) for e in EVENT_LOG]
    tampered[-1]["digest"] = "00" * 48
    bad = verify(encode_envelope(raw, event_log=tampered), collateral_store, now, allow_quotes(raw))
    assert bad.reasons == ("event_log_mismatch",)
    assert bad.event_log_verified is False
    assert "RTMR[3]" in bad.message


def test_f_becomes_valid_once_collateral_for_its_fmspc_exists(
    bundles: dict[str, CollateralBundle], rims: MemoryRimStore, expected: dict[str, Any]
) -> None:
    """F shares FMSPC B0C06F000000 with E, so E's bundle (Aug 2026) verifies F too.

    With SecretVM's registry as the allowlist and the H100 evidence of the same
    VM (its nonce is F's report_data[32:64]), the whole report is valid: TDX,
    measurements (registry row 4xlarge_256GB_gpu/prod/v0.0.21) and GPU.
    """
    raw = load_quote_file(F)
    registry = measurement_sets_from_secretvm_csv((DATA / "secretvm" / "tdx.csv").read_text())
    policy = AttestationPolicy(
        binding="none",
        require_fresh_challenge=False,
        worker_types={WORKER_TYPE: WorkerTypePolicy(measurements=registry, require_gpu=True)},
    )
    collateral_store = MemoryCollateralStore([bundles["near-mpc/collateral.json"]])
    envelope = encode_envelope(raw, gpu_evidence=GPU_ATTEST)
    verdict = verify(envelope, collateral_store, expected[E]["verify_at"], policy, rims=rims)
    assert verdict.status is VerdictStatus.VALID, verdict.message
    assert verdict.measurement_label == "4xlarge_256GB_gpu/prod/v0.0.21"
    assert verdict.gpu is not None
    assert verdict.gpu.status is VerdictStatus.VALID
    assert verdict.gpu.checks.ocsp == "unchecked"
    assert verdict.gpu.devices[0].measurements_compared == 21
    assert verdict.report_data is not None
    assert verdict.report_data[64:] == GPU_ATTEST["nonce"]


def test_f_gpu_evidence_is_checked_even_while_the_tdx_part_is_unverified(
    rims: MemoryRimStore,
) -> None:
    raw = load_quote_file(F)
    envelope = encode_envelope(raw, gpu_evidence=GPU_ATTEST)
    verdict = verify(envelope, MemoryCollateralStore(), 1775000000, allow_quotes(raw), rims=rims)
    assert verdict.status is VerdictStatus.UNVERIFIED
    assert verdict.reasons == ("collateral_unavailable",)
    assert verdict.gpu is not None
    assert verdict.gpu.status is VerdictStatus.VALID


def test_gpu_evidence_of_another_td_is_rejected(
    expected: dict[str, Any], collateral_store: MemoryCollateralStore, rims: MemoryRimStore
) -> None:
    raw = load_quote_file(A)  # A's report_data[32:64] is not the GPU nonce
    envelope = encode_envelope(raw, gpu_evidence=GPU_ATTEST)
    verdict = verify(
        envelope, collateral_store, expected[A]["verify_at"], allow_quotes(raw), rims=rims
    )
    assert verdict.status is VerdictStatus.REJECTED
    assert verdict.reasons == ("gpu_nonce_mismatch",)
    assert verdict.gpu is not None
    assert verdict.gpu.checks.nonce == "fail"


ReasonCheck = Callable[[Verdict], None]


def test_reason_codes_in_verdicts_are_known(
    expected: dict[str, Any], collateral_store: MemoryCollateralStore
) -> None:
    raw = load_quote_file(A)
    verdict = verify(
        raw,
        collateral_store,
        expected[A]["verify_at"],
        AttestationPolicy(binding="none", require_fresh_challenge=False),
    )
    assert all(Reason(code) for code in verdict.reasons)
