"""Offline NVIDIA Hopper evidence checks on the two real samples, and tampering."""

import base64
import json
from collections.abc import Sequence
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from worker_manager.attestation import (
    AttestationError,
    DriverRim,
    GpuEvidence,
    MemoryRimStore,
    Reason,
    VerdictStatus,
    load_driver_rim,
    verify_gpu_evidence,
)
from worker_manager.attestation.nvidia import parse_gpu_evidence
from worker_manager.attestation.nvidia.certs import ChainError, device_root, rim_root, verify_chain
from worker_manager.attestation.nvidia.dice import fwid_from_certificate
from worker_manager.attestation.nvidia.evidence import GpuEvidenceItem
from worker_manager.attestation.nvidia.spdm import parse_spdm

from .conftest import DATA

NOW = 1751328000  # 2025-07-01: inside the RIM chain's validity (it ends 2026-12-30)
RIM_CHAIN_END = 1798649810  # 2026-12-30T16:56:50Z
RIM_XML = (DATA / "nvidia" / "NV_GPU_DRIVER_GH100_550.144.03.xml").read_bytes()
SECRETVM = parse_gpu_evidence(json.loads((DATA / "secretvm" / "gpu_attest.txt").read_text()))
HOPPER = parse_gpu_evidence(json.loads((DATA / "nvidia" / "hopper_evidence.json").read_text()))


class AnyVersionRims:
    """A fake RIM source that offers the same RIMs for every driver version."""

    def __init__(self, rims: Sequence[DriverRim]) -> None:
        self.rims = tuple(rims)

    def driver_rims(self, version: str, product: str) -> Sequence[DriverRim]:
        return self.rims


def with_evidence(evidence: GpuEvidence, blob: bytes) -> GpuEvidence:
    item = GpuEvidenceItem(evidence.items[0].certificate_chain_pem, blob)
    return GpuEvidence(evidence.nonce, evidence.arch, (item,))


def flipped(data: bytes, offset: int) -> bytes:
    out = bytearray(data)
    out[offset] ^= 0x01
    return bytes(out)


def test_secretvm_h100_evidence_passes_every_offline_check(rims: MemoryRimStore) -> None:
    verdict = verify_gpu_evidence(SECRETVM, expected_nonce=SECRETVM.nonce, now=NOW, rims=rims)
    assert verdict.status is VerdictStatus.VALID, verdict.message
    checks = verdict.checks
    assert (checks.device_cert_chain, checks.fwid, checks.spdm_signature, checks.nonce) == (
        "pass",
        "pass",
        "pass",
        "pass",
    )
    assert checks.driver_rim == "pass"
    assert (checks.vbios_rim, checks.ocsp) == ("unchecked", "unchecked")
    (device,) = verdict.devices
    assert device.driver_version == "550.144.03"
    assert device.vbios_version == "96.00.9f.00.02"
    assert device.measurements_compared == 21
    assert device.mismatched_indexes == ()
    assert device.rim_sha256 is not None
    assert verdict.nonce == "a768bb3a38c48d3636b9e8250a3b12da05f557eca0b484bf9d8fa5719c0341bd"


def test_hopper_sample_passes_checks_1_to_4_and_mismatches_the_550_rim(
    rims: MemoryRimStore,
) -> None:
    no_rim = verify_gpu_evidence(HOPPER, expected_nonce=HOPPER.nonce, now=NOW, rims=rims)
    assert no_rim.status is VerdictStatus.UNVERIFIED
    assert no_rim.reasons == ("gpu_rim_unavailable",)
    assert no_rim.devices[0].driver_version == "590.12"
    assert no_rim.devices[0].vbios_version == "96.00.a5.00.01"
    forced = AnyVersionRims(rims.driver_rims("550.144.03", "GH100"))
    verdict = verify_gpu_evidence(HOPPER, expected_nonce=HOPPER.nonce, now=NOW, rims=forced)
    assert verdict.status is VerdictStatus.REJECTED
    assert verdict.reasons == ("gpu_measurement_mismatch",)
    checks = verdict.checks
    assert (checks.device_cert_chain, checks.fwid, checks.spdm_signature, checks.nonce) == (
        "pass",
        "pass",
        "pass",
        "pass",
    )
    assert checks.driver_rim == "fail"
    assert len(verdict.devices[0].mismatched_indexes) == 11
    assert "11 of 21" in verdict.message


def test_without_a_required_rim_the_gpu_is_unverified_and_optional_rim_passes(
    rims: MemoryRimStore,
) -> None:
    loose = verify_gpu_evidence(
        HOPPER, expected_nonce=HOPPER.nonce, now=NOW, rims=rims, require_driver_rim=False
    )
    assert loose.status is VerdictStatus.VALID
    assert loose.checks.driver_rim == "unavailable"
    none = verify_gpu_evidence(SECRETVM, expected_nonce=SECRETVM.nonce, now=NOW, rims=None)
    assert none.reasons == ("gpu_rim_unavailable",)


def test_rim_outside_its_chain_validity_is_unavailable(rims: MemoryRimStore) -> None:
    after = verify_gpu_evidence(
        SECRETVM, expected_nonce=SECRETVM.nonce, now=RIM_CHAIN_END + 1, rims=rims
    )
    assert after.reasons == ("gpu_rim_unavailable",)
    assert after.checks.device_cert_chain == "pass"  # device certificates run to 9999


def test_flipping_byte_300_of_the_evidence_fails_the_signature(rims: MemoryRimStore) -> None:
    for evidence in (SECRETVM, HOPPER):
        blob = evidence.items[0].evidence
        bad = with_evidence(evidence, flipped(blob, 300))
        verdict = verify_gpu_evidence(bad, expected_nonce=evidence.nonce, now=NOW, rims=rims)
        assert verdict.reasons == ("gpu_signature_invalid",)
        assert verdict.checks.spdm_signature == "fail"
        assert verdict.checks.nonce == "skipped"
        assert verdict.checks.driver_rim == "skipped"


@pytest.mark.parametrize("offset", [0, 1, 2, 5, 40, 41, 45, 1000, 3600, 4000, 4117])
def test_any_flipped_evidence_byte_fails(offset: int, rims: MemoryRimStore) -> None:
    blob = SECRETVM.items[0].evidence
    bad = with_evidence(SECRETVM, flipped(blob, offset))
    verdict = verify_gpu_evidence(bad, expected_nonce=SECRETVM.nonce, now=NOW, rims=rims)
    assert verdict.status is VerdictStatus.REJECTED
    assert set(verdict.reasons) <= {
        "gpu_evidence_malformed",
        "gpu_signature_invalid",
        "gpu_fwid_mismatch",
        "gpu_nonce_mismatch",
    }


def test_fwid_mismatch_is_caught_before_the_signature(rims: MemoryRimStore) -> None:
    blob = SECRETVM.items[0].evidence
    fwid = parse_spdm(blob).fwid
    assert fwid is not None
    offset = blob.index(fwid)
    verdict = verify_gpu_evidence(
        with_evidence(SECRETVM, flipped(blob, offset)),
        expected_nonce=SECRETVM.nonce,
        now=NOW,
        rims=rims,
    )
    assert verdict.reasons == ("gpu_fwid_mismatch",)
    assert verdict.checks.fwid == "fail"


def test_wrong_nonce_is_a_nonce_mismatch(rims: MemoryRimStore) -> None:
    verdict = verify_gpu_evidence(SECRETVM, expected_nonce=bytes(32), now=NOW, rims=rims)
    assert verdict.reasons == ("gpu_nonce_mismatch",)
    assert verdict.checks.spdm_signature == "pass"
    assert verdict.checks.nonce == "fail"


def test_tampered_device_chain_fails(rims: MemoryRimStore) -> None:
    certs = x509.load_pem_x509_certificates(SECRETVM.items[0].certificate_chain_pem)
    other = x509.load_pem_x509_certificates(HOPPER.items[0].certificate_chain_pem)
    mixed = b"".join(c.public_bytes(Encoding.PEM) for c in (certs[0], other[1], *certs[2:]))
    evidence = GpuEvidence(
        SECRETVM.nonce, "HOPPER", (GpuEvidenceItem(mixed, SECRETVM.items[0].evidence),)
    )
    verdict = verify_gpu_evidence(evidence, expected_nonce=SECRETVM.nonce, now=NOW, rims=rims)
    assert verdict.reasons == ("gpu_cert_chain_invalid",)
    assert verdict.checks.device_cert_chain == "fail"
    garbage = GpuEvidence(
        SECRETVM.nonce, "HOPPER", (GpuEvidenceItem(b"nope", SECRETVM.items[0].evidence),)
    )
    malformed = verify_gpu_evidence(garbage, expected_nonce=SECRETVM.nonce, now=NOW, rims=rims)
    assert malformed.reasons == ("gpu_evidence_malformed",)


def test_chain_to_the_wrong_root_fails() -> None:
    certs = x509.load_pem_x509_certificates(SECRETVM.items[0].certificate_chain_pem)
    assert verify_chain(certs, device_root(), now=NOW)[-1] == device_root()
    with pytest.raises(ChainError):
        verify_chain(certs, rim_root(), now=NOW)
    with pytest.raises(ChainError):
        verify_chain(certs[:1], device_root(), now=NOW)  # intermediates missing
    with pytest.raises(ChainError):
        verify_chain([], device_root(), now=NOW)
    with pytest.raises(ChainError, match="not valid at validation time"):
        verify_chain(certs, device_root(), now=0)


def test_unsupported_architecture(rims: MemoryRimStore) -> None:
    blackwell = GpuEvidence(SECRETVM.nonce, "BLACKWELL", SECRETVM.items)
    verdict = verify_gpu_evidence(blackwell, expected_nonce=SECRETVM.nonce, now=NOW, rims=rims)
    assert verdict.reasons == ("gpu_arch_unsupported",)
    assert verdict.devices == ()


def test_two_gpus_are_each_checked(rims: MemoryRimStore) -> None:
    bad = GpuEvidenceItem(SECRETVM.items[0].certificate_chain_pem, b"\x11" * 200)
    evidence = GpuEvidence(SECRETVM.nonce, "HOPPER", (SECRETVM.items[0], bad))
    verdict = verify_gpu_evidence(evidence, expected_nonce=SECRETVM.nonce, now=NOW, rims=rims)
    assert verdict.reasons == ("gpu_evidence_malformed",)
    assert verdict.devices[0].checks.driver_rim == "pass"
    assert verdict.checks.driver_rim == "skipped"  # the worst over both devices
    assert "GPU 1" in verdict.message


def test_spdm_parser_reads_the_layout() -> None:
    spdm = parse_spdm(SECRETVM.items[0].evidence)
    assert spdm.version == 0x11
    assert spdm.request_nonce == SECRETVM.nonce
    assert sorted(spdm.measurements) == list(range(1, 65))
    assert all(len(v) == 48 for v in spdm.measurements.values())
    assert spdm.nvdec0_disabled
    assert len(spdm.signature) == 96
    with pytest.raises(AttestationError):
        parse_spdm(SECRETVM.items[0].evidence + b"\0")
    with pytest.raises(AttestationError):
        parse_spdm(SECRETVM.items[0].evidence[:-1])


def test_fwid_is_read_from_the_leaf_certificate() -> None:
    certs = x509.load_pem_x509_certificates(SECRETVM.items[0].certificate_chain_pem)
    assert fwid_from_certificate(certs[0]) == parse_spdm(SECRETVM.items[0].evidence).fwid
    assert fwid_from_certificate(certs[1]) is None


def test_the_real_rim_loads_and_lists_21_active_measurements() -> None:
    rim = load_driver_rim(RIM_XML)
    assert (rim.version, rim.product) == ("550.144.03", "GH100")
    assert len(rim.measurements) == 21
    assert rim.valid_until == RIM_CHAIN_END
    assert rim.is_valid_at(NOW)
    assert not rim.is_valid_at(RIM_CHAIN_END + 1)


@pytest.mark.parametrize(
    "edit",
    [
        lambda x: x.replace(b'index="7" active="True"', b'index="7" active="False"'),
        lambda x: x.replace(b"4a5e4b3d501fe31f", b"4a5e4b3d501fe31e"),
        lambda x: x.replace(b'colloquialVersion="550.144.03"', b'colloquialVersion="550.144.04"'),
        lambda x: x.replace(b"TM4DnjO+vWfG", b"TM4DnjO+vWfH"),  # the signature value
        lambda x: x.replace(b"xml-c14n11", b"xml-exc-c14n", 1),
        lambda x: b'<!DOCTYPE x [<!ENTITY a "b">]>' + x,
        lambda x: x[:-200],
    ],
    ids=["deactivate", "golden-value", "version", "signature", "algorithm", "dtd", "truncated"],
)
def test_tampered_rims_are_refused(edit: Any) -> None:
    with pytest.raises(AttestationError) as info:
        load_driver_rim(edit(RIM_XML))
    assert info.value.code is Reason.GPU_RIM_UNAVAILABLE


def test_rim_store_keys_by_version_and_chip(rims: MemoryRimStore) -> None:
    assert len(rims.driver_rims("550.144.03", "gh100")) == 1
    assert rims.driver_rims("550.144.03", "GB100") == ()
    again = MemoryRimStore()
    again.add_xml(RIM_XML)
    again.add_xml(RIM_XML)
    assert len(again.driver_rims("550.144.03", "GH100")) == 1


def test_evidence_json_round_trip() -> None:
    from worker_manager.attestation.nvidia import gpu_evidence_to_json

    assert parse_gpu_evidence(gpu_evidence_to_json(HOPPER)) == HOPPER
    raw = json.loads((DATA / "secretvm" / "gpu_attest.txt").read_text())
    assert gpu_evidence_to_json(SECRETVM) == raw
    assert base64.b64decode(raw["evidence_list"][0]["evidence"]) == SECRETVM.items[0].evidence


def test_declared_nonce_must_be_the_signed_one(rims: MemoryRimStore) -> None:
    lying = GpuEvidence(bytes(32), SECRETVM.arch, SECRETVM.items)
    verdict = verify_gpu_evidence(lying, expected_nonce=SECRETVM.nonce, now=NOW, rims=rims)
    assert verdict.reasons == ("gpu_nonce_mismatch",)
    assert verdict.checks.nonce == "fail"
    assert verdict.devices[0].checks.nonce == "pass"


def test_only_spdm_1_1_is_accepted() -> None:
    blob = bytearray(SECRETVM.items[0].evidence)
    blob[0] = 0x12
    blob[37] = 0x12
    with pytest.raises(AttestationError, match=r"not 1\.1"):
        parse_spdm(bytes(blob))
