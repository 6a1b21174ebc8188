"""decode_report: bare quotes in hex or base64, and the JSON envelope."""

import base64
import json

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from worker_manager.attestation import AttestationError, Reason, decode_report, encode_envelope
from worker_manager.attestation.decode import decode_quote_text

from .conftest import DATA, load_quote_file
from .synthetic import TestPki

QUOTE_A = load_quote_file("dcap-qvl/tdx_quote")
GPU_ATTEST = json.loads((DATA / "secretvm" / "gpu_attest.txt").read_text())
EVENT_LOG = json.loads((DATA / "near-mpc" / "tcb_info.json").read_text())["event_log"]


def code_of(text: str) -> Reason:
    with pytest.raises(AttestationError) as info:
        decode_report(text)
    return info.value.code


@pytest.mark.parametrize(
    "text",
    [
        QUOTE_A.hex(),
        QUOTE_A.hex().upper(),
        "0x" + QUOTE_A.hex(),
        "0X" + QUOTE_A.hex(),
        "  \n" + QUOTE_A.hex() + "\n",
        base64.b64encode(QUOTE_A).decode(),
    ],
    ids=["hex", "HEX", "0x", "0X", "whitespace", "base64"],
)
def test_bare_quote_encodings_decode_to_the_same_bytes(text: str) -> None:
    bundle = decode_report(text)
    assert bundle.quote == QUOTE_A
    assert bundle.gpu_evidence is None
    assert bundle.event_log is None


def test_even_length_hex_text_is_hex_even_though_it_is_also_valid_base64() -> None:
    assert decode_quote_text("deadbeef") == bytes.fromhex("deadbeef")
    assert decode_quote_text("3q2+7w==") == bytes.fromhex("deadbeef")


def test_text_that_is_not_even_length_hex_is_read_as_base64() -> None:
    assert decode_quote_text("QUJD") == b"ABC"
    with pytest.raises(AttestationError):
        decode_quote_text("abc")  # odd-length hex digits are not base64 either


@pytest.mark.parametrize("text", ["", "   ", "0x", "not a quote!", "zz"])
def test_garbage_is_malformed_report(text: str) -> None:
    assert code_of(text) is Reason.MALFORMED_REPORT


def test_oversized_report_is_refused() -> None:
    assert code_of("00" * (600 * 1024)) is Reason.MALFORMED_REPORT


def test_envelope_with_everything() -> None:
    text = encode_envelope(QUOTE_A, gpu_evidence=GPU_ATTEST, event_log=EVENT_LOG)
    bundle = decode_report(text)
    assert bundle.quote == QUOTE_A
    assert bundle.gpu_evidence is not None
    assert bundle.gpu_evidence.arch == "HOPPER"
    assert bundle.gpu_evidence.nonce.hex() == GPU_ATTEST["nonce"]
    assert len(bundle.gpu_evidence.items) == 1
    assert bundle.event_log is not None
    assert len(bundle.event_log) == len(EVENT_LOG)
    assert bundle.event_log[0].imr == 0


def test_envelope_quote_may_be_base64() -> None:
    text = json.dumps({"tdx_quote": base64.b64encode(QUOTE_A).decode()})
    assert decode_report(text).quote == QUOTE_A


def test_envelope_accepts_the_nvattest_list_shape() -> None:
    hopper = json.loads((DATA / "nvidia" / "hopper_evidence.json").read_text())
    bundle = decode_report(encode_envelope(QUOTE_A, gpu_evidence=hopper))
    assert bundle.gpu_evidence is not None
    assert bundle.gpu_evidence.nonce.hex() == hopper[0]["nonce"]


@pytest.mark.parametrize(
    ("envelope", "code"),
    [
        ("{", Reason.MALFORMED_REPORT),
        ("[]", Reason.MALFORMED_REPORT),  # a list is not an envelope (and not hex/base64)
        ('{"gpu_evidence": {}}', Reason.MALFORMED_REPORT),
        ('{"tdx_quote": 12}', Reason.MALFORMED_REPORT),
        ('{"tdx_quote": "00", "extra": 1}', Reason.MALFORMED_REPORT),
        ('{"tdx_quote": "00", "tls_certificate": "nope"}', Reason.MALFORMED_REPORT),
        ('{"tdx_quote": "00", "event_log": [{"imr": 4, "digest": ""}]}', Reason.MALFORMED_REPORT),
        ('{"tdx_quote": "00", "event_log": {}}', Reason.MALFORMED_REPORT),
        ('{"tdx_quote": "00", "gpu_evidence": {"nonce": "00"}}', Reason.GPU_EVIDENCE_MALFORMED),
        ('{"tdx_quote": "00", "gpu_evidence": "x"}', Reason.GPU_EVIDENCE_MALFORMED),
    ],
)
def test_bad_envelopes(envelope: str, code: Reason) -> None:
    assert code_of(envelope) is code


def test_gpu_evidence_must_be_base64_and_share_one_nonce() -> None:
    bad = dict(GPU_ATTEST, evidence_list=[{"certificate": "!!", "evidence": "AA=="}])
    assert code_of(encode_envelope(QUOTE_A, gpu_evidence=bad)) is Reason.GPU_EVIDENCE_MALFORMED
    hopper = json.loads((DATA / "nvidia" / "hopper_evidence.json").read_text())
    mixed = [hopper[0], dict(hopper[0], nonce="00" * 32)]
    assert code_of(encode_envelope(QUOTE_A, gpu_evidence=mixed)) is Reason.GPU_EVIDENCE_MALFORMED
    empty = dict(GPU_ATTEST, evidence_list=[])
    assert code_of(encode_envelope(QUOTE_A, gpu_evidence=empty)) is Reason.GPU_EVIDENCE_MALFORMED


def test_tls_certificate_is_kept_as_der(pki: TestPki) -> None:
    pem = pki.tcb.public_bytes(Encoding.PEM).decode()
    bundle = decode_report(encode_envelope(QUOTE_A, tls_certificate_pem=pem))
    assert bundle.tls_certificate_der == pki.tcb.public_bytes(Encoding.DER)
