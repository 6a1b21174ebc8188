"""The JSON shapes NVIDIA GPU evidence arrives in, decoded into typed values.

Two shapes are accepted, both produced by real tools:

* the NRAS request that SecretVM serves (``gpu_attest``)::

      {"nonce": "<64 hex>", "arch": "HOPPER",
       "evidence_list": [{"certificate": "<base64 PEM chain>", "evidence": "<base64 SPDM>"}]}

* the nvattest list (NVIDIA/attestation-sdk serialized evidence)::

      [{"arch": "HOPPER", "nonce": "<64 hex>", "certificate": "...", "evidence": "..."}]

In both, ``certificate`` is the base64 of the device certificate chain in PEM
(leaf first) and ``evidence`` the base64 of SPDM GET_MEASUREMENTS request ||
response. One item per GPU; every item must carry the same nonce.
"""

import base64
import binascii
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from worker_manager.attestation.errors import AttestationError, Reason

MAX_GPUS = 16
"""More items than this is refused: no host has more GPUs, and it bounds work."""

MAX_ITEM_BYTES = 64 * 1024
"""Bound on one decoded certificate chain or evidence blob (real ones are ~6 KB)."""


@dataclass(frozen=True, slots=True)
class GpuEvidenceItem:
    """One GPU's evidence: its device certificate chain and its SPDM transcript."""

    certificate_chain_pem: bytes
    evidence: bytes


@dataclass(frozen=True, slots=True)
class GpuEvidence:
    """Evidence for all GPUs of one worker, bound to one 32-byte nonce."""

    nonce: bytes
    arch: str
    items: tuple[GpuEvidenceItem, ...]


def _fail(message: str) -> AttestationError:
    return AttestationError(Reason.GPU_EVIDENCE_MALFORMED, message)


def _b64(value: object, what: str) -> bytes:
    if not isinstance(value, str):
        raise _fail(f"{what} must be a base64 string")
    try:
        data = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise _fail(f"{what} is not valid base64") from exc
    if not data or len(data) > MAX_ITEM_BYTES:
        raise _fail(f"{what} is empty or larger than {MAX_ITEM_BYTES} bytes")
    return data


def _nonce(value: object) -> bytes:
    if not isinstance(value, str) or len(value) != 64:
        raise _fail("nonce must be 64 hex characters")
    try:
        return bytes.fromhex(value)
    except ValueError as exc:
        raise _fail("nonce is not hex") from exc


def _arch(value: object) -> str:
    if not isinstance(value, str) or not value:
        raise _fail("arch must be a non-empty string")
    return value.upper()


def _item(obj: object) -> GpuEvidenceItem:
    if not isinstance(obj, Mapping):
        raise _fail("each evidence item must be an object")
    return GpuEvidenceItem(
        certificate_chain_pem=_b64(obj.get("certificate"), "certificate"),
        evidence=_b64(obj.get("evidence"), "evidence"),
    )


def _check_count(items: Sequence[Any]) -> None:
    if not items:
        raise _fail("evidence list is empty")
    if len(items) > MAX_GPUS:
        raise _fail(f"more than {MAX_GPUS} GPUs")


def parse_gpu_evidence(obj: object) -> GpuEvidence:
    """Decode either accepted shape (see the module docstring) or raise.

    Raises AttestationError with ``gpu_evidence_malformed``.
    """
    if isinstance(obj, Mapping):
        items = obj.get("evidence_list")
        if not isinstance(items, list):
            raise _fail("evidence_list must be a list")
        _check_count(items)
        return GpuEvidence(
            nonce=_nonce(obj.get("nonce")),
            arch=_arch(obj.get("arch")),
            items=tuple(_item(i) for i in items),
        )
    if isinstance(obj, list):
        _check_count(obj)
        if not all(isinstance(i, Mapping) for i in obj):
            raise _fail("each evidence item must be an object")
        nonces = {_nonce(i.get("nonce")) for i in obj}
        arches = {_arch(i.get("arch")) for i in obj}
        if len(nonces) != 1 or len(arches) != 1:
            raise _fail("all evidence items must share one nonce and one arch")
        return GpuEvidence(
            nonce=nonces.pop(), arch=arches.pop(), items=tuple(_item(i) for i in obj)
        )
    raise _fail("GPU evidence must be an object or a list")


def gpu_evidence_to_json(evidence: GpuEvidence) -> dict[str, object]:
    """The NRAS-request shape of ``evidence`` (what agents put in envelopes)."""
    return {
        "nonce": evidence.nonce.hex(),
        "arch": evidence.arch,
        "evidence_list": [
            {
                "certificate": base64.b64encode(i.certificate_chain_pem).decode(),
                "evidence": base64.b64encode(i.evidence).decode(),
            }
            for i in evidence.items
        ],
    }
