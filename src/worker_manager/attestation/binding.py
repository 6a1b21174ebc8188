"""Binding rules: what a TD's 64 ``report_data`` bytes must commit to.

Without a binding a genuine quote could be lifted from another machine. Two
rules are supported.

**worker_key** (ours). The worker's agent asks its TD for a quote with::

    report_data[0:32]  = sha256( LP("worker-manager/register/v1")
                               || LP(chain_id)          # UTF-8, e.g. "secret-4"
                               || LP(worker_pubkey)     # 33-byte compressed secp256k1
                               || LP(payment_wallet)    # UTF-8 bech32 address, as registered
                               || LP(challenge) )       # raw challenge bytes of the epoch
    report_data[32:64] = sha256( LP("worker-manager/gpu/v1") || LP(report_data[0:32]) )
                         for a worker sending GPU evidence, else 32 zero bytes

where ``LP(x) = len(x) as 4-byte big-endian || x``. Length prefixes make the
encoding injective: no two different field tuples hash the same input. The
second half doubles as the GPU attestation nonce, which ties the GPU evidence
to this TD (the same split layout SecretVM uses). :func:`expected_report_data`
is what the agent calls; the verifier recomputes it from the registration.

A worker that serves its inference endpoint over TLS and wants it pinnable binds
the certificate too, with the ``v2`` tag and one more field, and sends the
certificate in its report's envelope (``tls_certificate``)::

    report_data[0:32]  = sha256( LP("worker-manager/register/v2")
                               || LP(chain_id) || LP(worker_pubkey)
                               || LP(payment_wallet) || LP(challenge)
                               || LP(sha256(SPKI DER of the TLS certificate)) )

The verdict then names the binding ``worker_key:tls``; a quote of the first form
(``worker_key``) still verifies, unpinned.

**secretvm_tls** (SecretVM's). ``report_data[0:32] = sha256(SPKI DER of the
VM's TLS certificate)``, or, for older images, sha256 of the whole certificate
DER. ``report_data[32:64]`` is the GPU evidence nonce when GPU evidence is
present (checked by the GPU verifier). The certificate must be the one the node
saw on the live endpoint; the envelope's copy only says which one to expect.
"""

import hashlib
import hmac
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from worker_manager.attestation.errors import CERTIFICATE_PARSE_ERRORS, AttestationError, Reason

REGISTER_TAG = b"worker-manager/register/v1"
REGISTER_TLS_TAG = b"worker-manager/register/v2"
GPU_TAG = b"worker-manager/gpu/v1"
PUBKEY_LEN = 33
HALF = 32


def _lp(data: bytes) -> bytes:
    return len(data).to_bytes(4, "big") + data


@dataclass(frozen=True, slots=True)
class WorkerKeyBinding:
    """The registration fields a ``worker_key`` quote must commit to."""

    chain_id: str
    worker_pubkey: bytes
    payment_wallet: str
    challenge: bytes
    #: sha256 of the SPKI DER of the TLS certificate the quote binds too (``v2``), if any
    tls_spki_sha256: bytes | None = None

    def __post_init__(self) -> None:
        if len(self.worker_pubkey) != PUBKEY_LEN or self.worker_pubkey[0] not in (2, 3):
            raise ValueError("worker_pubkey must be a 33-byte compressed secp256k1 key")
        if self.tls_spki_sha256 is not None and len(self.tls_spki_sha256) != HALF:
            raise ValueError("tls_spki_sha256 must be 32 bytes")

    def registration_digest(self) -> bytes:
        """``report_data[0:32]`` for these fields."""
        fields = (
            _lp(self.chain_id.encode())
            + _lp(self.worker_pubkey)
            + _lp(self.payment_wallet.encode())
            + _lp(self.challenge)
        )
        if self.tls_spki_sha256 is None:
            return hashlib.sha256(_lp(REGISTER_TAG) + fields).digest()
        return hashlib.sha256(_lp(REGISTER_TLS_TAG) + fields + _lp(self.tls_spki_sha256)).digest()


@dataclass(frozen=True, slots=True)
class SecretVmBinding:
    """The TLS certificate (PEM or DER) the node saw on the worker's endpoint.

    ``None`` falls back to the envelope's ``tls_certificate``; then the node must
    still confirm the live endpoint serves that certificate.
    """

    tls_certificate: bytes | None = None


def gpu_nonce(registration_digest: bytes) -> bytes:
    """``report_data[32:64]`` (and the GPU nonce) derived from the first half."""
    return hashlib.sha256(_lp(GPU_TAG) + _lp(registration_digest)).digest()


def expected_report_data(binding: WorkerKeyBinding, *, gpu: bool) -> bytes:
    """The 64 bytes the agent puts in its quote request."""
    first = binding.registration_digest()
    return first + (gpu_nonce(first) if gpu else bytes(HALF))


def check_worker_key_binding(report_data: bytes, binding: WorkerKeyBinding, *, gpu: bool) -> None:
    """Raise ``binding_mismatch`` unless ``report_data`` is exactly the expected value."""
    expected = expected_report_data(binding, gpu=gpu)
    if not hmac.compare_digest(report_data[:HALF], expected[:HALF]):
        raise AttestationError(
            Reason.BINDING_MISMATCH,
            "report_data[0:32] does not commit to this chain, worker key, wallet and challenge",
        )
    if not hmac.compare_digest(report_data[HALF:], expected[HALF:]):
        what = "the derived GPU nonce" if gpu else "32 zero bytes (no GPU evidence sent)"
        raise AttestationError(Reason.BINDING_MISMATCH, f"report_data[32:64] is not {what}")


def load_certificate(data: bytes) -> x509.Certificate:
    """A certificate from PEM or DER bytes, or ``binding_mismatch``."""
    try:
        if data.lstrip().startswith(b"-----BEGIN"):
            return x509.load_pem_x509_certificate(data)
        return x509.load_der_x509_certificate(data)
    except CERTIFICATE_PARSE_ERRORS as exc:
        raise AttestationError(Reason.BINDING_MISMATCH, "TLS certificate is unreadable") from exc


def tls_key_digests(certificate: x509.Certificate) -> tuple[bytes, bytes]:
    """(sha256 of the SPKI DER, sha256 of the whole certificate DER)."""
    try:
        key = certificate.public_key()
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise AttestationError(
            Reason.BINDING_MISMATCH, "the TLS certificate's key cannot be read"
        ) from exc
    spki = key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    whole = certificate.public_bytes(Encoding.DER)
    return hashlib.sha256(spki).digest(), hashlib.sha256(whole).digest()


def tls_spki_sha256(certificate_pem_or_der: bytes) -> bytes:
    """sha256 of the SPKI DER of a certificate (PEM or DER), as ``v2`` binds it."""
    return tls_key_digests(load_certificate(certificate_pem_or_der))[0]


def check_secretvm_binding(report_data: bytes, certificate: x509.Certificate) -> str:
    """Return ``"spki"`` or ``"certificate"`` (legacy) for the form that matched, else raise."""
    spki_digest, cert_digest = tls_key_digests(certificate)
    if hmac.compare_digest(report_data[:HALF], spki_digest):
        return "spki"
    if hmac.compare_digest(report_data[:HALF], cert_digest):
        return "certificate"
    raise AttestationError(
        Reason.BINDING_MISMATCH, "report_data[0:32] is not the hash of this TLS certificate"
    )
