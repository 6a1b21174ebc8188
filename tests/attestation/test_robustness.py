"""Hostile input never raises out of the verifiers and never verifies."""

import base64
import json
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from worker_manager.attestation import (
    GpuEvidence,
    MemoryCollateralStore,
    MemoryRimStore,
    VerdictStatus,
    encode_envelope,
    verify_attestation,
    verify_gpu_evidence,
)
from worker_manager.attestation.nvidia import parse_gpu_evidence
from worker_manager.attestation.nvidia.evidence import GpuEvidenceItem

from .conftest import DATA, WORKER_TYPE, allow_quotes, load_quote_file

QUOTE_A = load_quote_file("dcap-qvl/tdx_quote")[:4936]
SIGNED_PART = 48 + 584
SECRETVM = parse_gpu_evidence(json.loads((DATA / "secretvm" / "gpu_attest.txt").read_text()))


def test_every_flipped_quote_byte_gives_a_verdict_and_signed_bytes_never_verify(
    expected: dict[str, Any], collateral_store: MemoryCollateralStore
) -> None:
    now = expected["dcap-qvl/tdx_quote"]["verify_at"]
    policy = allow_quotes(QUOTE_A)
    flips = [(o, 0x04) for o in range(0, len(QUOTE_A), 23)]
    flips += [(o, 0x80) for o in range(3, len(QUOTE_A), 11)]
    for offset, mask in flips:
        tampered = bytearray(QUOTE_A)
        tampered[offset] ^= mask
        verdict = verify_attestation(
            bytes(tampered).hex(),
            collateral=collateral_store,
            now=now,
            policy=policy,
            worker_type=WORKER_TYPE,
        )
        if offset < SIGNED_PART:
            assert verdict.status is not VerdictStatus.VALID, offset


def test_flipped_device_certificate_bytes_never_raise(rims: MemoryRimStore) -> None:
    certs = x509.load_pem_x509_certificates(SECRETVM.items[0].certificate_chain_pem)
    leaf = certs[0].public_bytes(Encoding.DER)
    rest = b"".join(c.public_bytes(Encoding.PEM) for c in certs[1:])
    for offset in range(0, len(leaf), 7):
        der = bytearray(leaf)
        der[offset] ^= 0x01
        pem = (
            b"-----BEGIN CERTIFICATE-----\n"
            + base64.encodebytes(bytes(der))
            + b"-----END CERTIFICATE-----\n"
        )
        item = GpuEvidenceItem(pem + rest, SECRETVM.items[0].evidence)
        evidence = GpuEvidence(SECRETVM.nonce, "HOPPER", (item,))
        verdict = verify_gpu_evidence(evidence, expected_nonce=SECRETVM.nonce, now=0, rims=rims)
        assert verdict.status is VerdictStatus.REJECTED, offset


@pytest.mark.parametrize("length", [0, 37, 38, 100, 133, 134, 500])
def test_short_spdm_blobs_are_malformed(length: int, rims: MemoryRimStore) -> None:
    item = GpuEvidenceItem(SECRETVM.items[0].certificate_chain_pem, b"\x11\xe0\x01" * length)
    verdict = verify_gpu_evidence(
        GpuEvidence(SECRETVM.nonce, "HOPPER", (item,)),
        expected_nonce=SECRETVM.nonce,
        now=0,
        rims=rims,
    )
    assert verdict.reasons == ("gpu_evidence_malformed",)


def test_envelope_with_foreign_tls_certificate_garbage(
    collateral_store: MemoryCollateralStore,
) -> None:
    text = encode_envelope(QUOTE_A, tls_certificate_pem="-----BEGIN CERTIFICATE-----\nAA==\n")
    verdict = verify_attestation(
        text, collateral=collateral_store, now=0, policy=allow_quotes(QUOTE_A), worker_type="x"
    )
    assert verdict.reasons == ("malformed_report",)
