"""Offline verification of NVIDIA Hopper GPU evidence.

For each GPU, in order, stopping at the first failure (later checks are then
``skipped``):

1. ``device_cert_chain``: the device chain verifies to NVIDIA's pinned Device
   Identity CA at ``now``;
2. ``fwid``: the FWID the GPU reports equals the one in its leaf certificate
   (``absent`` when older firmware reports none, as NVIDIA's verifier allows);
3. ``spdm_signature``: the GET_MEASUREMENTS transcript is signed (ECDSA P-384)
   by the leaf key;
4. ``nonce``: the request nonce equals ``expected_nonce`` (report_data[32:64]
   of the TD quote), which binds the GPU evidence to that TD;
5. ``driver_rim``: every active measurement of a signed driver RIM for the
   GPU's driver version matches (index 35 is ignored when NVDEC0 is off, as
   NVIDIA's verifier does).

``vbios_rim`` and ``ocsp`` are always ``unchecked``: VBIOS RIMs and NVIDIA's
OCSP answers are not available offline. Only Hopper (H100/H200) is supported.
"""

from dataclasses import replace

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from worker_manager.attestation.errors import CERTIFICATE_PARSE_ERRORS, AttestationError, Reason
from worker_manager.attestation.nvidia.certs import ChainError, device_root, verify_chain
from worker_manager.attestation.nvidia.dice import fwid_from_certificate
from worker_manager.attestation.nvidia.evidence import GpuEvidence, GpuEvidenceItem
from worker_manager.attestation.nvidia.rim import DriverRim, RimSource
from worker_manager.attestation.nvidia.spdm import SpdmMeasurements, parse_spdm
from worker_manager.attestation.verdict import (
    CheckResult,
    GpuChecks,
    GpuDevice,
    GpuVerdict,
    status_for,
)

SUPPORTED_ARCH = "HOPPER"
HOPPER_CHIP = "GH100"
NVDEC0_MEASUREMENT_INDEX = 35
_SEVERITY = {"fail": 5, "unavailable": 4, "skipped": 3, "unchecked": 2, "absent": 1, "pass": 0}


class _DeviceFailure(Exception):
    def __init__(self, reason: Reason, message: str, checks: GpuChecks) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.checks = checks


def _verify_signature(leaf: x509.Certificate, spdm: SpdmMeasurements) -> bool:
    key = leaf.public_key()
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp384r1":
        return False
    r, s = int.from_bytes(spdm.signature[:48], "big"), int.from_bytes(spdm.signature[48:], "big")
    try:
        key.verify(encode_dss_signature(r, s), spdm.signed_data, ec.ECDSA(hashes.SHA384()))
    except InvalidSignature:
        return False
    return True


def _pick_rim(rims: RimSource | None, spdm: SpdmMeasurements, now: int) -> DriverRim | None:
    if rims is None:
        return None
    valid = [r for r in rims.driver_rims(spdm.driver_version, HOPPER_CHIP) if r.is_valid_at(now)]
    return max(valid, key=lambda r: (r.valid_from, r.sha256)) if valid else None


def _compare(
    rim: DriverRim, spdm: SpdmMeasurements
) -> tuple[int, tuple[int, ...], tuple[int, ...]]:
    mismatched: list[int] = []
    ignored: list[int] = []
    for golden in rim.measurements:
        value = spdm.measurements.get(golden.index + 1)  # SPDM blocks count from 1
        ok = value is not None and len(value) == golden.size and value in golden.alternatives
        if ok:
            continue
        if golden.index == NVDEC0_MEASUREMENT_INDEX and spdm.nvdec0_disabled:
            ignored.append(golden.index)
        else:
            mismatched.append(golden.index)
    return len(rim.measurements), tuple(mismatched), tuple(ignored)


def _check_device(
    item: GpuEvidenceItem,
    *,
    expected_nonce: bytes,
    now: int,
    rims: RimSource | None,
    require_driver_rim: bool,
) -> GpuDevice:
    checks = GpuChecks()
    try:
        spdm = parse_spdm(item.evidence)
        chain = x509.load_pem_x509_certificates(item.certificate_chain_pem)
    except AttestationError as exc:
        raise _DeviceFailure(exc.code, exc.message, checks) from exc
    except CERTIFICATE_PARSE_ERRORS as exc:
        raise _DeviceFailure(
            Reason.GPU_EVIDENCE_MALFORMED, "device certificate chain is not PEM", checks
        ) from exc
    try:
        verify_chain(chain, device_root(), now=now)
    except ChainError as exc:
        checks = replace(checks, device_cert_chain="fail")
        raise _DeviceFailure(Reason.GPU_CERT_CHAIN_INVALID, str(exc), checks) from exc
    reported, certified = spdm.fwid, fwid_from_certificate(chain[0])
    fwid: CheckResult = "absent" if reported is None else "pass"
    if reported is not None and reported != certified:
        fwid = "fail"
    checks = replace(checks, device_cert_chain="pass", fwid=fwid)
    if fwid == "fail":
        raise _DeviceFailure(Reason.GPU_FWID_MISMATCH, "FWID differs from the leaf's", checks)
    if not _verify_signature(chain[0], spdm):
        checks = replace(checks, spdm_signature="fail")
        raise _DeviceFailure(Reason.GPU_SIGNATURE_INVALID, "SPDM signature invalid", checks)
    checks = replace(checks, spdm_signature="pass")
    if spdm.request_nonce != expected_nonce:
        checks = replace(checks, nonce="fail")
        raise _DeviceFailure(
            Reason.GPU_NONCE_MISMATCH, "SPDM request nonce is not report_data[32:64]", checks
        )
    checks = replace(checks, nonce="pass")
    return _check_rim(spdm, checks, now=now, rims=rims, require_driver_rim=require_driver_rim)


def _check_rim(
    spdm: SpdmMeasurements,
    checks: GpuChecks,
    *,
    now: int,
    rims: RimSource | None,
    require_driver_rim: bool,
) -> GpuDevice:
    rim = _pick_rim(rims, spdm, now)
    compared = 0
    mismatched: tuple[int, ...] = ()
    ignored: tuple[int, ...] = ()
    outcome: CheckResult = "unavailable"
    reasons: tuple[str, ...] = ()
    if rim is None:
        if require_driver_rim:
            reasons = (Reason.GPU_RIM_UNAVAILABLE.value,)
    else:
        compared, mismatched, ignored = _compare(rim, spdm)
        outcome = "fail" if mismatched else "pass"
        if mismatched:
            reasons = (Reason.GPU_MEASUREMENT_MISMATCH.value,)
    return GpuDevice(
        checks=replace(checks, driver_rim=outcome),
        reasons=reasons,
        driver_version=spdm.driver_version,
        vbios_version=spdm.vbios_version,
        fwid=(spdm.fwid or b"").hex(),
        rim_sha256=None if rim is None else rim.sha256,
        measurements_compared=compared,
        mismatched_indexes=mismatched,
        ignored_indexes=ignored,
    )


def _describe(index: int, device: GpuDevice) -> str | None:
    if device.mismatched_indexes:
        return (
            f"GPU {index}: {len(device.mismatched_indexes)} of {device.measurements_compared} "
            f"driver measurements differ from the signed RIM "
            f"(indexes {list(device.mismatched_indexes)})"
        )
    if device.checks.driver_rim == "unavailable":
        return f"GPU {index}: no valid signed driver RIM for driver {device.driver_version}"
    return None


def _worst(devices: tuple[GpuDevice, ...], *, nonce_ok: bool) -> GpuChecks:
    if not devices:
        return GpuChecks()
    worst = {
        name: max((getattr(d.checks, name) for d in devices), key=lambda v: _SEVERITY[v])
        for name in GpuChecks.__dataclass_fields__
    }
    if not nonce_ok:
        worst["nonce"] = "fail"
    return GpuChecks(**worst)


def verify_gpu_evidence(
    evidence: GpuEvidence,
    *,
    expected_nonce: bytes,
    now: int,
    rims: RimSource | None = None,
    require_driver_rim: bool = True,
) -> GpuVerdict:
    """Check every GPU's evidence offline (see the module docstring); never raises."""
    reasons: list[Reason] = []
    devices: list[GpuDevice] = []
    messages: list[str] = []
    if evidence.arch != SUPPORTED_ARCH:
        reasons.append(Reason.GPU_ARCH_UNSUPPORTED)
        messages.append(f"GPU architecture {evidence.arch} is not supported")
    else:
        if evidence.nonce != expected_nonce:
            reasons.append(Reason.GPU_NONCE_MISMATCH)
            messages.append("the evidence nonce is not report_data[32:64]")
        for item in evidence.items:
            try:
                device = _check_device(
                    item,
                    expected_nonce=expected_nonce,
                    now=now,
                    rims=rims,
                    require_driver_rim=require_driver_rim,
                )
            except _DeviceFailure as failure:
                device = GpuDevice(checks=failure.checks, reasons=(failure.reason.value,))
                messages.append(f"GPU {len(devices)}: {failure.message}")
            else:
                note = _describe(len(devices), device)
                if note is not None:
                    messages.append(note)
            reasons.extend(Reason(r) for r in device.reasons)
            devices.append(device)
    unique = tuple(dict.fromkeys(reasons))
    return GpuVerdict(
        status=status_for(unique),
        reasons=tuple(r.value for r in unique),
        message="; ".join(messages) or "ok",
        arch=evidence.arch,
        nonce=evidence.nonce.hex(),
        checks=_worst(tuple(devices), nonce_ok=evidence.nonce == expected_nonce),
        devices=tuple(devices),
    )
