"""End-to-end binding and policy tests on quotes signed by a test PKI.

These quotes carry report_data we choose; dcap-qvl verifies them fully (chain,
CRLs, TCB info, QE identity, QE report, quote signature) but only against the
test root passed to ``verify_attestation_with_root_ca``.
"""

import datetime as dt
import hashlib
import json
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from cryptography.x509.oid import NameOID

from worker_manager.attestation import (
    AttestationPolicy,
    MemoryCollateralStore,
    MemoryRimStore,
    SecretVmBinding,
    Verdict,
    VerdictStatus,
    WorkerKeyBinding,
    encode_envelope,
    expected_report_data,
    verify_attestation,
    verify_attestation_with_root_ca,
)

from .conftest import DATA, WORKER_TYPE, allow_quotes
from .synthetic import DEBUG_TD_ATTRIBUTES, NOW, TestPki, raw_signature

CHALLENGE = b"epoch-41-challenge"
PREVIOUS = b"epoch-40-challenge"
BINDING = WorkerKeyBinding(
    chain_id="secret-4",
    worker_pubkey=bytes([3]) + bytes(range(32)),
    payment_wallet="secret1qypqxpq9qcrsszg2pvxq6rs0zqg3yyc5lzv7xu",
    challenge=CHALLENGE,
)
GPU_ATTEST = json.loads((DATA / "secretvm" / "gpu_attest.txt").read_text())


def worker_key_policy(pki: TestPki, **overrides: Any) -> AttestationPolicy:
    fields: dict[str, Any] = {"binding": "worker_key", "require_fresh_challenge": True}
    fields.update(overrides)
    return allow_quotes(pki.quote(bytes(64)), **fields)


def run(
    pki: TestPki,
    report: bytes | str,
    policy: AttestationPolicy,
    *,
    store: MemoryCollateralStore | None = None,
    **kwargs: Any,
) -> Verdict:
    verdict = verify_attestation_with_root_ca(
        report.hex() if isinstance(report, bytes) else report,
        root_ca_der=pki.root_der,
        collateral=store or MemoryCollateralStore([pki.collateral()]),
        now=NOW,
        policy=policy,
        worker_type=WORKER_TYPE,
        **kwargs,
    )
    assert Verdict.from_json(verdict.to_json()) == verdict
    return verdict


def test_bound_quote_is_valid(pki: TestPki) -> None:
    quote = pki.quote(expected_report_data(BINDING, gpu=False))
    verdict = run(
        pki, quote, worker_key_policy(pki), binding=BINDING, fresh_challenges=(CHALLENGE, PREVIOUS)
    )
    assert verdict.status is VerdictStatus.VALID, verdict.message
    assert verdict.binding == "worker_key"
    assert verdict.tcb_status == "UpToDate"
    assert verdict.report_data == expected_report_data(BINDING, gpu=False).hex()


def test_previous_epoch_challenge_is_still_fresh(pki: TestPki) -> None:
    binding = WorkerKeyBinding(
        BINDING.chain_id, BINDING.worker_pubkey, BINDING.payment_wallet, PREVIOUS
    )
    quote = pki.quote(expected_report_data(binding, gpu=False))
    verdict = run(
        pki, quote, worker_key_policy(pki), binding=binding, fresh_challenges=(CHALLENGE, PREVIOUS)
    )
    assert verdict.status is VerdictStatus.VALID


@pytest.mark.parametrize(
    "claimed",
    [
        WorkerKeyBinding("secret-4", bytes([2]) + bytes(32), BINDING.payment_wallet, CHALLENGE),
        WorkerKeyBinding("secret-4", BINDING.worker_pubkey, "secret1someoneelse", CHALLENGE),
        WorkerKeyBinding("pulsar-3", BINDING.worker_pubkey, BINDING.payment_wallet, CHALLENGE),
    ],
    ids=["other-worker-key", "other-wallet", "other-chain"],
)
def test_quote_bound_to_other_fields_is_a_binding_mismatch(
    pki: TestPki, claimed: WorkerKeyBinding
) -> None:
    """The quote commits to BINDING; someone registers it with different fields."""
    quote = pki.quote(expected_report_data(BINDING, gpu=False))
    verdict = run(
        pki, quote, worker_key_policy(pki), binding=claimed, fresh_challenges=(CHALLENGE,)
    )
    assert verdict.status is VerdictStatus.REJECTED
    assert verdict.reasons == ("binding_mismatch",)


def test_stale_challenge(pki: TestPki) -> None:
    quote = pki.quote(expected_report_data(BINDING, gpu=False))
    verdict = run(
        pki, quote, worker_key_policy(pki), binding=BINDING, fresh_challenges=(b"epoch-42",)
    )
    assert verdict.reasons == ("stale_challenge",)
    relaxed = worker_key_policy(pki, require_fresh_challenge=False)
    assert run(pki, quote, relaxed, binding=BINDING).status is VerdictStatus.VALID


@pytest.mark.parametrize("allow_debug", [False, True])
def test_debug_td_is_refused(pki: TestPki, allow_debug: bool) -> None:
    """dcap-qvl 0.7.0 refuses debug TDs itself, so allow_debug cannot make one valid."""
    quote = pki.quote(expected_report_data(BINDING, gpu=False), td_attributes=DEBUG_TD_ATTRIBUTES)
    policy = worker_key_policy(pki, allow_debug=allow_debug)
    verdict = run(pki, quote, policy, binding=BINDING, fresh_challenges=(CHALLENGE,))
    assert verdict.status is VerdictStatus.REJECTED
    assert verdict.reasons == ("debug_td",)
    assert verdict.debug is True


def test_sept_ve_disable_off_is_refused(pki: TestPki) -> None:
    quote = pki.quote(expected_report_data(BINDING, gpu=False), td_attributes=bytes(8))
    verdict = run(
        pki, quote, worker_key_policy(pki), binding=BINDING, fresh_challenges=(CHALLENGE,)
    )
    assert verdict.reasons == ("td_attributes_not_allowed",)


def test_gpu_half_is_the_derived_nonce_when_gpu_evidence_is_sent(
    pki: TestPki, rims: MemoryRimStore
) -> None:
    """The binding accepts the derived half, and the GPU verifier then insists the
    evidence was produced for that nonce: real captured evidence was not."""
    quote = pki.quote(expected_report_data(BINDING, gpu=True))
    envelope = encode_envelope(quote, gpu_evidence=GPU_ATTEST)
    verdict = run(
        pki,
        envelope,
        worker_key_policy(pki),
        binding=BINDING,
        fresh_challenges=(CHALLENGE,),
        rims=rims,
    )
    assert verdict.reasons == ("gpu_nonce_mismatch",)
    assert verdict.gpu is not None
    assert verdict.gpu.checks.spdm_signature == "pass"
    assert verdict.gpu.checks.nonce == "fail"


def test_gpu_evidence_with_a_zero_second_half_is_a_binding_mismatch(
    pki: TestPki, rims: MemoryRimStore
) -> None:
    quote = pki.quote(expected_report_data(BINDING, gpu=False))
    envelope = encode_envelope(quote, gpu_evidence=GPU_ATTEST)
    verdict = run(
        pki,
        envelope,
        worker_key_policy(pki),
        binding=BINDING,
        fresh_challenges=(CHALLENGE,),
        rims=rims,
    )
    assert "binding_mismatch" in verdict.reasons
    assert "gpu_nonce_mismatch" in verdict.reasons


def tls_certificate() -> x509.Certificate:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "secretvm.example")])
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(7)
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=365))
        .sign(key, hashes.SHA256())
    )


def test_secretvm_tls_binding_with_real_gpu_evidence_is_valid(
    pki: TestPki, rims: MemoryRimStore
) -> None:
    """SecretVM's layout: sha256(TLS SPKI) || GPU nonce. The nonce is the real
    H100 evidence's, so the GPU part verifies end to end too (RIM valid at NOW)."""
    cert = tls_certificate()
    spki = cert.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    report_data = hashlib.sha256(spki).digest() + bytes.fromhex(GPU_ATTEST["nonce"])
    quote = pki.quote(report_data)
    policy = allow_quotes(quote, binding="secretvm_tls", require_fresh_challenge=False)
    envelope = encode_envelope(
        quote,
        gpu_evidence=GPU_ATTEST,
        tls_certificate_pem=cert.public_bytes(Encoding.PEM).decode(),
    )
    observed = SecretVmBinding(tls_certificate=cert.public_bytes(Encoding.DER))
    verdict = run(pki, envelope, policy, binding=observed, rims=rims)
    assert verdict.status is VerdictStatus.VALID, verdict.message
    assert verdict.binding == "secretvm_tls:spki"
    assert verdict.gpu is not None
    assert verdict.gpu.status is VerdictStatus.VALID
    from_envelope = run(pki, envelope, policy, rims=rims)
    assert from_envelope.status is VerdictStatus.VALID
    someone_else = SecretVmBinding(tls_certificate=tls_certificate().public_bytes(Encoding.PEM))
    assert run(pki, envelope, policy, binding=someone_else, rims=rims).reasons == (
        "binding_mismatch",
    )
    no_cert = run(pki, quote, policy)
    assert no_cert.reasons == ("binding_mismatch",)


@pytest.mark.parametrize(
    ("status", "advisories", "overrides", "reasons"),
    [
        ("OutOfDate", (), {}, ("tcb_status_not_allowed",)),
        ("OutOfDate", (), {"allowed_tcb_statuses": ("UpToDate", "OutOfDate")}, ()),
        ("SWHardeningNeeded", ("INTEL-SA-00615",), {}, ()),
        (
            "SWHardeningNeeded",
            ("INTEL-SA-00615",),
            {"rejected_advisories": ("INTEL-SA-00615",)},
            ("advisory_rejected",),
        ),
        ("Revoked", (), {}, ("tcb_revoked",)),
    ],
)
def test_tcb_status_and_advisories_from_the_collateral(
    pki: TestPki,
    status: str,
    advisories: tuple[str, ...],
    overrides: dict[str, Any],
    reasons: tuple[str, ...],
) -> None:
    quote = pki.quote(expected_report_data(BINDING, gpu=False))
    store = MemoryCollateralStore([pki.collateral(tcb_status=status, advisory_ids=advisories)])
    verdict = run(
        pki,
        quote,
        worker_key_policy(pki, **overrides),
        store=store,
        binding=BINDING,
        fresh_challenges=(CHALLENGE,),
    )
    assert verdict.reasons == reasons, verdict.message
    if status != "Revoked":
        assert verdict.tcb_status == status
        assert verdict.advisory_ids == advisories


def test_production_entry_point_never_trusts_the_test_root(pki: TestPki) -> None:
    quote = pki.quote(expected_report_data(BINDING, gpu=False))
    verdict = verify_attestation(
        quote.hex(),
        collateral=MemoryCollateralStore([pki.collateral()]),
        now=NOW,
        policy=worker_key_policy(pki),
        worker_type=WORKER_TYPE,
        binding=BINDING,
        fresh_challenges=(CHALLENGE,),
    )
    assert verdict.status is not VerdictStatus.VALID
    assert verdict.reasons == ("collateral_invalid",)


def test_root_ca_is_mandatory_for_the_test_entry_point(pki: TestPki) -> None:
    with pytest.raises(ValueError, match="root_ca_der"):
        verify_attestation_with_root_ca(
            "00",
            root_ca_der=b"",
            collateral=MemoryCollateralStore(),
            now=NOW,
            policy=AttestationPolicy(),
            worker_type=WORKER_TYPE,
        )


def test_a_resigned_tcb_info_with_a_wrong_key_is_collateral_invalid(pki: TestPki) -> None:
    text = json.loads(pki.collateral_json())
    other = ec.generate_private_key(ec.SECP256R1())
    text["tcb_info_signature"] = raw_signature(other, text["tcb_info"].encode()).hex()
    from worker_manager.attestation import CollateralBundle

    store = MemoryCollateralStore([CollateralBundle.from_json(json.dumps(text), ca="platform")])
    quote = pki.quote(expected_report_data(BINDING, gpu=False))
    verdict = run(
        pki,
        quote,
        worker_key_policy(pki),
        store=store,
        binding=BINDING,
        fresh_challenges=(CHALLENGE,),
    )
    assert verdict.reasons == ("collateral_invalid",)
    assert verdict.status is VerdictStatus.UNVERIFIED
