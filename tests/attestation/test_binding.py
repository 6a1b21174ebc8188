"""The report_data binding rules: our worker_key rule and SecretVM's TLS rule."""

import dataclasses
import datetime as dt
import hashlib

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from cryptography.x509.oid import NameOID

from worker_manager.attestation import (
    AttestationError,
    Reason,
    WorkerKeyBinding,
    expected_report_data,
    gpu_nonce,
)
from worker_manager.attestation.binding import (
    check_secretvm_binding,
    check_worker_key_binding,
    load_certificate,
)

BINDING = WorkerKeyBinding(
    chain_id="secret-4",
    worker_pubkey=bytes([2]) + bytes([0x11]) * 32,
    payment_wallet="secret1qypqxpq9qcrsszg2pvxq6rs0zqg3yyc5lzv7xu",
    challenge=bytes(range(32)),
)
# Pinned test vector: the agent and any other implementation must produce these bytes.
VECTOR_FIRST_HALF = "80f63aed6b120987663c7679605aa7196aa7b75c2358ff7b57c5240a8f0e0c98"
VECTOR_GPU_HALF = "52e0b683034b4763e4511c5631ba597c21147a64cc6a3d38c3a92e3fe4b12c19"


def lp(data: bytes) -> bytes:
    return len(data).to_bytes(4, "big") + data


def test_test_vector_and_its_definition() -> None:
    first = hashlib.sha256(
        lp(b"worker-manager/register/v1")
        + lp(b"secret-4")
        + lp(BINDING.worker_pubkey)
        + lp(BINDING.payment_wallet.encode())
        + lp(BINDING.challenge)
    ).digest()
    assert first.hex() == VECTOR_FIRST_HALF
    assert hashlib.sha256(lp(b"worker-manager/gpu/v1") + lp(first)).hexdigest() == VECTOR_GPU_HALF
    assert expected_report_data(BINDING, gpu=False).hex() == VECTOR_FIRST_HALF + "00" * 32
    assert expected_report_data(BINDING, gpu=True).hex() == VECTOR_FIRST_HALF + VECTOR_GPU_HALF
    assert gpu_nonce(first).hex() == VECTOR_GPU_HALF


#: The same fields binding a TLS key too (``v2``): pinned like the first vector.
TLS_KEY = bytes([0x22]) * 32
VECTOR_TLS_FIRST_HALF = "98209948d2a68d9b173014dca4d2db051675657a314e4d363f6eca83e55344f7"


def test_the_tls_form_adds_the_key_under_its_own_tag() -> None:
    """``v2`` = the v1 fields under another tag, then the TLS key's SHA-256: a v1 quote
    never passes for a v2 one, nor the reverse."""
    first = hashlib.sha256(
        lp(b"worker-manager/register/v2")
        + lp(b"secret-4")
        + lp(BINDING.worker_pubkey)
        + lp(BINDING.payment_wallet.encode())
        + lp(BINDING.challenge)
        + lp(TLS_KEY)
    ).digest()
    with_tls = dataclasses.replace(BINDING, tls_spki_sha256=TLS_KEY)
    assert first.hex() == VECTOR_TLS_FIRST_HALF
    assert expected_report_data(with_tls, gpu=False).hex() == VECTOR_TLS_FIRST_HALF + "00" * 32
    check_worker_key_binding(expected_report_data(with_tls, gpu=False), with_tls, gpu=False)
    with pytest.raises(AttestationError):
        check_worker_key_binding(expected_report_data(BINDING, gpu=False), with_tls, gpu=False)
    with pytest.raises(AttestationError):
        check_worker_key_binding(expected_report_data(with_tls, gpu=False), BINDING, gpu=False)
    with pytest.raises(ValueError, match="32 bytes"):
        dataclasses.replace(BINDING, tls_spki_sha256=bytes(31))


def test_length_prefixes_keep_field_boundaries() -> None:
    a = WorkerKeyBinding("ab", BINDING.worker_pubkey, "c", b"")
    b = WorkerKeyBinding("a", BINDING.worker_pubkey, "bc", b"")
    assert a.registration_digest() != b.registration_digest()


@pytest.mark.parametrize(
    "pubkey", [b"", bytes(33), bytes([4]) + bytes(32), bytes([2]) + bytes(31)], ids=str
)
def test_worker_pubkey_must_be_compressed(pubkey: bytes) -> None:
    with pytest.raises(ValueError, match="33-byte"):
        WorkerKeyBinding("secret-4", pubkey, "w", b"")


@pytest.mark.parametrize("gpu", [False, True])
def test_worker_key_check_accepts_the_expected_bytes(gpu: bool) -> None:
    check_worker_key_binding(expected_report_data(BINDING, gpu=gpu), BINDING, gpu=gpu)


@pytest.mark.parametrize(
    "other",
    [
        WorkerKeyBinding("secret-5", BINDING.worker_pubkey, BINDING.payment_wallet, bytes(32)),
        WorkerKeyBinding("secret-4", bytes([3]) + bytes(32), BINDING.payment_wallet, bytes(32)),
        WorkerKeyBinding("secret-4", BINDING.worker_pubkey, "secret1other", bytes(32)),
        WorkerKeyBinding("secret-4", BINDING.worker_pubkey, BINDING.payment_wallet, b"x"),
    ],
    ids=["chain", "key", "wallet", "challenge"],
)
def test_worker_key_check_refuses_other_fields(other: WorkerKeyBinding) -> None:
    with pytest.raises(AttestationError) as info:
        check_worker_key_binding(expected_report_data(other, gpu=False), BINDING, gpu=False)
    assert info.value.code is Reason.BINDING_MISMATCH


def test_gpu_half_must_match_the_gpu_flag() -> None:
    with pytest.raises(AttestationError, match=r"report_data\[32:64\]"):
        check_worker_key_binding(expected_report_data(BINDING, gpu=True), BINDING, gpu=False)
    with pytest.raises(AttestationError, match="GPU nonce"):
        check_worker_key_binding(expected_report_data(BINDING, gpu=False), BINDING, gpu=True)


def make_tls_certificate() -> x509.Certificate:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "worker.example")])
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=365))
        .sign(key, hashes.SHA256())
    )


def test_secretvm_binding_accepts_spki_and_legacy_whole_certificate() -> None:
    cert = make_tls_certificate()
    spki = cert.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    nonce = bytes(32)
    assert check_secretvm_binding(hashlib.sha256(spki).digest() + nonce, cert) == "spki"
    whole = hashlib.sha256(cert.public_bytes(Encoding.DER)).digest()
    assert check_secretvm_binding(whole + nonce, cert) == "certificate"
    with pytest.raises(AttestationError) as info:
        check_secretvm_binding(bytes(64), cert)
    assert info.value.code is Reason.BINDING_MISMATCH


def test_certificates_load_from_pem_or_der_and_garbage_is_a_mismatch() -> None:
    cert = make_tls_certificate()
    assert load_certificate(cert.public_bytes(Encoding.PEM)) == cert
    assert load_certificate(cert.public_bytes(Encoding.DER)) == cert
    with pytest.raises(AttestationError):
        load_certificate(b"junk")
