"""Differential: the GPU verdicts on well-kept libraries are those of the hand-written checks.

Issue 11 replaced a hand-written C14N 1.1 and XML-DSig check (RIMs), a chain walk
(device certificates) and a byte-suffix match (FWID) with signxml + lxml,
``cryptography``'s X.509 verifier and asn1crypto. Before the old code was deleted it
was run over every case below and in ``test_nvidia_rim.py`` and ``test_nvidia_certs.py``;
the ``OLD_*`` tables are what it decided, so each test compares the new code with the
old on the same input. Where the new code decides otherwise on purpose, the case is in
a ``DELIBERATE_*`` table with the reason. The samples are ``tests/data/attestation``
(byte-identical copies of ``shared/testdata/attestation``).
"""

import json
from collections.abc import Callable, Sequence

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from worker_manager.attestation import (
    DriverRim,
    GpuEvidence,
    MemoryRimStore,
    Reason,
    verify_gpu_evidence,
)
from worker_manager.attestation.nvidia.evidence import GpuEvidenceItem
from worker_manager.attestation.nvidia.rim import RimSource

from .conftest import DATA
from .nvidia_samples import HOPPER, HP, NOW, RIM_CHAIN, SECRETVM, SV, SV_FWID

RIM_CHAIN_END = 1798649810


def flipped(data: bytes, offset: int) -> bytes:
    out = bytearray(data)
    out[offset] ^= 0x01
    return bytes(out)


def pem(certs: Sequence[x509.Certificate]) -> bytes:
    return b"".join(c.public_bytes(Encoding.PEM) for c in certs)


def with_item(
    evidence: GpuEvidence, chain: bytes | None = None, blob: bytes | None = None
) -> GpuEvidence:
    item = evidence.items[0]
    new = GpuEvidenceItem(chain or item.certificate_chain_pem, blob or item.evidence)
    return GpuEvidence(evidence.nonce, evidence.arch, (new,))


class AllVersions:
    """A fake RIM source offering the same RIMs for every driver version."""

    def __init__(self, rims: Sequence[DriverRim]) -> None:
        self.rims = tuple(rims)

    def driver_rims(self, version: str, product: str) -> Sequence[DriverRim]:
        return self.rims


# ---------------------------------------------------------------- verdicts on the samples

SV_BLOB = SECRETVM.items[0].evidence
SV_LEAF_DER = SV[0].public_bytes(Encoding.DER)
SV_LEAF_FWID_FLIPPED = x509.load_der_x509_certificate(
    flipped(SV_LEAF_DER, SV_LEAF_DER.index(SV_FWID))
)
VerdictCase = tuple[GpuEvidence, bytes, int, RimSource | None]


def verdict_case(name: str, rims: MemoryRimStore) -> VerdictCase:
    """The inputs of one verdict case: evidence, expected nonce, time, RIM source."""
    forced = AllVersions(rims.driver_rims("550.144.03", "GH100"))
    cases: dict[str, Callable[[], VerdictCase]] = {
        "secretvm": lambda: (SECRETVM, SECRETVM.nonce, NOW, rims),
        "secretvm-no-rims": lambda: (SECRETVM, SECRETVM.nonce, NOW, None),
        "secretvm-after-rim-chain": lambda: (SECRETVM, SECRETVM.nonce, RIM_CHAIN_END + 1, rims),
        "secretvm-at-0": lambda: (SECRETVM, SECRETVM.nonce, 0, rims),
        "hopper": lambda: (HOPPER, HOPPER.nonce, NOW, rims),
        "hopper-forced-550": lambda: (HOPPER, HOPPER.nonce, NOW, forced),
        "secretvm-mixed-chain": lambda: (
            with_item(SECRETVM, pem([SV[0], HP[1], *SV[2:]])),
            SECRETVM.nonce,
            NOW,
            rims,
        ),
        "secretvm-rim-chain": lambda: (
            with_item(SECRETVM, pem(RIM_CHAIN)),
            SECRETVM.nonce,
            NOW,
            rims,
        ),
        "secretvm-hopper-chain": lambda: (with_item(SECRETVM, pem(HP)), SECRETVM.nonce, NOW, rims),
        "secretvm-leaf-fwid-flipped": lambda: (
            with_item(SECRETVM, pem([SV_LEAF_FWID_FLIPPED, *SV[1:]])),
            SECRETVM.nonce,
            NOW,
            rims,
        ),
        "secretvm-evidence-fwid-flipped": lambda: (
            with_item(SECRETVM, blob=flipped(SV_BLOB, SV_BLOB.index(SV_FWID))),
            SECRETVM.nonce,
            NOW,
            rims,
        ),
        "secretvm-evidence-byte-300": lambda: (
            with_item(SECRETVM, blob=flipped(SV_BLOB, 300)),
            SECRETVM.nonce,
            NOW,
            rims,
        ),
        "secretvm-wrong-nonce": lambda: (SECRETVM, bytes(32), NOW, rims),
        "secretvm-leaf-only": lambda: (with_item(SECRETVM, pem(SV[:1])), SECRETVM.nonce, NOW, rims),
        "secretvm-garbage-chain": lambda: (with_item(SECRETVM, b"nope"), SECRETVM.nonce, NOW, rims),
    }
    return cases[name]()


SV_FWID_HEX = (
    "0686bfc4f127bad1e4786d89e3f96427a9590692e1a81018"
    "4834d269eff9f8b000e295d843ed9cf787d108c0147ae92f"
)
HP_FWID_HEX = (
    "956ecf09ee4191f115224d1cb09e76b897b77591c3ea7c2a"
    "22e1c50546aeba7961cd67edbb4a274e294fe1402036211d"
)
RIM_SHA256 = "585ccd55e3d9420d693f82f4a1aa0b7506f126ba2ab9344ec67e244fde0c6305"
SV_WITH_RIM = ("550.144.03", "96.00.9f.00.02", SV_FWID_HEX, RIM_SHA256, 21, (), ())
SV_NO_RIM = ("550.144.03", "96.00.9f.00.02", SV_FWID_HEX, None, 0, (), ())
HP_NO_RIM = ("590.12", "96.00.a5.00.01", HP_FWID_HEX, None, 0, (), ())
FAILED = ("", "", "", None, 0, (), ())
HP_AGAINST_550 = (
    "590.12",
    "96.00.a5.00.01",
    HP_FWID_HEX,
    RIM_SHA256,
    21,
    (7, 21, 22, 25, 26, 27, 29, 30, 31, 39, 40),
    (),
)
OLD_VERDICTS: dict[str, tuple[str, str, str, tuple[object, ...]]] = {
    "secretvm": ("valid", "", "pass pass pass pass pass unchecked unchecked", SV_WITH_RIM),
    "secretvm-no-rims": (
        "unverified",
        "gpu_rim_unavailable",
        "pass pass pass pass unavailable unchecked unchecked",
        SV_NO_RIM,
    ),
    "secretvm-after-rim-chain": (
        "unverified",
        "gpu_rim_unavailable",
        "pass pass pass pass unavailable unchecked unchecked",
        SV_NO_RIM,
    ),
    "secretvm-at-0": (
        "rejected",
        "gpu_cert_chain_invalid",
        "fail skipped skipped skipped skipped unchecked unchecked",
        FAILED,
    ),
    "hopper": (
        "unverified",
        "gpu_rim_unavailable",
        "pass pass pass pass unavailable unchecked unchecked",
        HP_NO_RIM,
    ),
    "hopper-forced-550": (
        "rejected",
        "gpu_measurement_mismatch",
        "pass pass pass pass fail unchecked unchecked",
        HP_AGAINST_550,
    ),
    "secretvm-mixed-chain": (
        "rejected",
        "gpu_cert_chain_invalid",
        "fail skipped skipped skipped skipped unchecked unchecked",
        FAILED,
    ),
    "secretvm-rim-chain": (
        "rejected",
        "gpu_cert_chain_invalid",
        "fail skipped skipped skipped skipped unchecked unchecked",
        FAILED,
    ),
    "secretvm-hopper-chain": (
        "rejected",
        "gpu_fwid_mismatch",
        "pass fail skipped skipped skipped unchecked unchecked",
        FAILED,
    ),
    "secretvm-leaf-fwid-flipped": (
        "rejected",
        "gpu_cert_chain_invalid",
        "fail skipped skipped skipped skipped unchecked unchecked",
        FAILED,
    ),
    "secretvm-evidence-fwid-flipped": (
        "rejected",
        "gpu_fwid_mismatch",
        "pass fail skipped skipped skipped unchecked unchecked",
        FAILED,
    ),
    "secretvm-evidence-byte-300": (
        "rejected",
        "gpu_signature_invalid",
        "pass pass fail skipped skipped unchecked unchecked",
        FAILED,
    ),
    "secretvm-wrong-nonce": (
        "rejected",
        "gpu_nonce_mismatch",
        "pass pass pass fail skipped unchecked unchecked",
        FAILED,
    ),
    "secretvm-leaf-only": (
        "rejected",
        "gpu_cert_chain_invalid",
        "fail skipped skipped skipped skipped unchecked unchecked",
        FAILED,
    ),
    "secretvm-garbage-chain": (
        "rejected",
        "gpu_evidence_malformed",
        "skipped skipped skipped skipped skipped unchecked unchecked",
        FAILED,
    ),
}


@pytest.mark.parametrize("name", sorted(OLD_VERDICTS))
def test_verdicts_are_those_of_the_hand_written_checks(name: str, rims: MemoryRimStore) -> None:
    evidence, nonce, now, source = verdict_case(name, rims)
    verdict = verify_gpu_evidence(evidence, expected_nonce=nonce, now=now, rims=source)
    c = verdict.checks
    checks = (
        c.device_cert_chain,
        c.fwid,
        c.spdm_signature,
        c.nonce,
        c.driver_rim,
        c.vbios_rim,
        c.ocsp,
    )
    (d,) = verdict.devices
    got = (
        verdict.status.value,
        " ".join(verdict.reasons),
        " ".join(checks),
        (
            d.driver_version,
            d.vbios_version,
            d.fwid,
            d.rim_sha256,
            d.measurements_compared,
            d.mismatched_indexes,
            d.ignored_indexes,
        ),
    )
    assert got == OLD_VERDICTS[name]


def test_expected_json_gpu_cases_get_their_offline_verdicts(rims: MemoryRimStore) -> None:
    cases = {c["id"]: c for c in json.loads((DATA / "expected.json").read_text())["gpu_cases"]}
    assert sorted(cases) == ["nvidia/hopper_evidence.json", "secretvm/gpu_attest.txt"]
    forced = AllVersions(rims.driver_rims("550.144.03", "GH100"))
    for evidence, case in (
        (SECRETVM, cases["secretvm/gpu_attest.txt"]),
        (HOPPER, cases["nvidia/hopper_evidence.json"]),
    ):
        stored = verify_gpu_evidence(evidence, expected_nonce=evidence.nonce, now=NOW, rims=rims)
        offline = case["offline_checks"]
        checks = stored.checks
        assert offline["device_cert_chain_to_nvidia_root"] is (checks.device_cert_chain == "pass")
        assert offline["fwid_match"] is (checks.fwid == "pass")
        assert offline["spdm_signature"] is (checks.spdm_signature == "pass")
        assert offline["request_nonce_equals_nonce"] is (checks.nonce == "pass")
        assert checks.ocsp == "unchecked"
        (device,) = stored.devices
        assert (stored.arch, stored.nonce) == (case["arch"], case["nonce"])
        assert (device.driver_version, device.vbios_version) == (case["driver"], case["vbios"])
        against_550 = verify_gpu_evidence(
            evidence, expected_nonce=evidence.nonce, now=NOW, rims=forced
        )
        mismatched = len(against_550.devices[0].mismatched_indexes)
        if case["driver"] == "550.144.03":  # "RIM signature valid, all 21 ... measurements match"
            assert (checks.driver_rim, stored.devices[0].measurements_compared) == ("pass", 21)
            assert mismatched == 0
        else:  # "no matching RIM stored; against the 550.144.03 RIM 11 ... mismatch"
            assert checks.driver_rim == "unavailable"
            assert stored.reasons == (Reason.GPU_RIM_UNAVAILABLE.value,)
            assert mismatched == 11
            assert against_550.reasons == (Reason.GPU_MEASUREMENT_MISMATCH.value,)
