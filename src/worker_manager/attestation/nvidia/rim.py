"""Signed driver RIMs: NVIDIA's golden GPU measurements, checked offline.

A RIM (Reference Integrity Manifest) is a SWID tag XML listing, per
measurement index, the SHA-384 values a GPU may report, signed with an
enveloped XML signature (ECDSA P-384 over C14N 1.1) by a certificate chain
that ends at NVIDIA's CoRIM signing root, which we pin.

:func:`load_driver_rim` checks everything that does not depend on time: the
signature layout (one reference to the whole document, the exact algorithms
NVIDIA uses and nothing else), the digest, the signature, and the certificate
chain's signatures up to the pinned root. The chain's validity window is kept
on the RIM and checked at verification time against the given ``now`` (the
550.144.03 RIM's chain ends 2026-12-30). Revocation is not checked (no OCSP
offline). RIMs must be imported by an operator; none is fetched here.
"""

import base64
import binascii
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from worker_manager.attestation.errors import CERTIFICATE_PARSE_ERRORS, AttestationError, Reason
from worker_manager.attestation.nvidia import c14n
from worker_manager.attestation.nvidia.certs import (
    ChainError,
    rim_root,
    validity_window,
    verify_chain,
)

SWID_NS = "http://standards.iso.org/iso/19770/-2/2015/schema.xsd"
DSIG_NS = "http://www.w3.org/2000/09/xmldsig#"
SHA384_NS = "http://www.w3.org/2001/04/xmlenc#sha384"
C14N11 = "http://www.w3.org/2006/12/xml-c14n11"
ECDSA_SHA384 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384"
DIGEST_SHA384 = "http://www.w3.org/2001/04/xmldsig-more#sha384"
ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
MAX_RIM_BYTES = 1024 * 1024


def _fail(message: str) -> AttestationError:
    return AttestationError(Reason.GPU_RIM_UNAVAILABLE, f"driver RIM: {message}")


@dataclass(frozen=True, slots=True)
class RimMeasurement:
    """One active golden measurement: any of ``alternatives`` is acceptable."""

    index: int
    size: int
    alternatives: tuple[bytes, ...]


@dataclass(frozen=True, slots=True)
class DriverRim:
    """A driver RIM whose signature and chain were checked (all but the dates)."""

    version: str
    product: str
    measurements: tuple[RimMeasurement, ...]
    sha256: str
    valid_from: int
    valid_until: int

    def is_valid_at(self, now: int) -> bool:
        """True when every certificate of the signing chain is valid at ``now``."""
        return self.valid_from <= now <= self.valid_until


def _one(parent: c14n.XmlElement, namespace: str, local: str) -> c14n.XmlElement:
    found = list(parent.elements(namespace, local))
    if len(found) != 1:
        raise _fail(f"expected exactly one {local}, found {len(found)}")
    return found[0]


def _algorithm(parent: c14n.XmlElement, local: str, expected: str) -> None:
    if _one(parent, DSIG_NS, local).attribute("", "Algorithm") != expected:
        raise _fail(f"{local} must be {expected}")


def _b64(text: str, what: str) -> bytes:
    try:
        return base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise _fail(f"{what} is not base64") from exc


def _check_signed_info(signed_info: c14n.XmlElement) -> bytes:
    """Enforce the one layout we accept; return the expected document digest."""
    _algorithm(signed_info, "CanonicalizationMethod", C14N11)
    _algorithm(signed_info, "SignatureMethod", ECDSA_SHA384)
    reference = _one(signed_info, DSIG_NS, "Reference")
    if reference.attribute("", "URI") != "":
        raise _fail('the signature must reference the whole document (URI="")')
    transforms = list(_one(reference, DSIG_NS, "Transforms").elements(DSIG_NS, "Transform"))
    if [t.attribute("", "Algorithm") for t in transforms] != [ENVELOPED, C14N11]:
        raise _fail("transforms must be enveloped-signature then C14N 1.1")
    _algorithm(reference, "DigestMethod", DIGEST_SHA384)
    return _b64(_one(reference, DSIG_NS, "DigestValue").text(), "DigestValue")


def _certificates(signature: c14n.XmlElement) -> list[x509.Certificate]:
    data = _one(_one(signature, DSIG_NS, "KeyInfo"), DSIG_NS, "X509Data")
    try:
        return [
            x509.load_der_x509_certificate(_b64(e.text(), "X509Certificate"))
            for e in data.elements(DSIG_NS, "X509Certificate")
        ]
    except CERTIFICATE_PARSE_ERRORS as exc:
        raise _fail("an X509Certificate does not parse") from exc


def _verify_signature(root: c14n.XmlElement, signature: c14n.XmlElement) -> list[x509.Certificate]:
    signed_info = _one(signature, DSIG_NS, "SignedInfo")
    expected_digest = _check_signed_info(signed_info)
    document = c14n.canonicalize_document(root, omit=signature)
    if hashlib.sha384(document).digest() != expected_digest:
        raise _fail("document digest does not match the signature")
    certs = _certificates(signature)
    if not certs:
        raise _fail("no signing certificate")
    key = certs[0].public_key()
    raw = _b64(_one(signature, DSIG_NS, "SignatureValue").text(), "SignatureValue")
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp384r1":
        raise _fail("the signing key is not ECDSA P-384")
    if len(raw) != 96:
        raise _fail("SignatureValue is not a 96-byte r||s")
    der = encode_dss_signature(int.from_bytes(raw[:48], "big"), int.from_bytes(raw[48:], "big"))
    try:
        key.verify(der, c14n.canonicalize_subtree(signed_info), ec.ECDSA(hashes.SHA384()))
    except InvalidSignature as exc:
        raise _fail("signature does not verify") from exc
    return certs


def _measurements(root: c14n.XmlElement) -> tuple[RimMeasurement, ...]:
    result: list[RimMeasurement] = []
    seen: set[int] = set()
    for resource in _one(root, SWID_NS, "Payload").elements(SWID_NS, "Resource"):
        try:
            index = int(resource.attribute("", "index") or "")
            count = int(resource.attribute("", "alternatives") or "")
            size = int(resource.attribute("", "size") or "")
            values = tuple(
                bytes.fromhex(resource.attribute(SHA384_NS, f"Hash{i}") or "") for i in range(count)
            )
        except ValueError as exc:
            raise _fail("a Resource has a bad index, size or hash") from exc
        if index in seen:
            raise _fail(f"measurement index {index} repeats")
        seen.add(index)
        if resource.attribute("", "active") == "True":
            result.append(RimMeasurement(index=index, size=size, alternatives=values))
    if not result:
        raise _fail("no active measurements")
    return tuple(result)


def load_driver_rim(xml: bytes) -> DriverRim:
    """Parse and authenticate a driver RIM; raise ``gpu_rim_unavailable`` if it fails."""
    if len(xml) > MAX_RIM_BYTES:
        raise _fail("larger than 1 MiB")
    try:
        root = c14n.parse(xml)
    except c14n.XmlError as exc:
        raise _fail(str(exc)) from exc
    if root.expanded_name() != (SWID_NS, "SoftwareIdentity"):
        raise _fail("not a SWID SoftwareIdentity document")
    certs = _verify_signature(root, _one(root, DSIG_NS, "Signature"))
    try:
        path = verify_chain(certs, rim_root(), now=None)
    except ChainError as exc:
        raise _fail(f"signing chain: {exc}") from exc
    meta = _one(root, SWID_NS, "Meta")
    valid_from, valid_until = validity_window(path)
    return DriverRim(
        version=(meta.attribute("", "colloquialVersion") or "").lower(),
        product=(meta.attribute("", "product") or "").upper(),
        measurements=_measurements(root),
        sha256=hashlib.sha256(xml).hexdigest(),
        valid_from=valid_from,
        valid_until=valid_until,
    )


class RimSource(Protocol):
    """Anything that can list the authenticated driver RIMs for a driver version."""

    def driver_rims(self, version: str, product: str) -> Sequence[DriverRim]:
        """RIMs for this driver version (lowercase) and chip (e.g. ``GH100``)."""
        ...


class MemoryRimStore:
    """Driver RIMs in memory, keyed by (version, product)."""

    def __init__(self, rims: Iterable[DriverRim] = ()) -> None:
        self._rims: dict[tuple[str, str], dict[str, DriverRim]] = {}
        for rim in rims:
            self.add(rim)

    def add(self, rim: DriverRim) -> None:
        """Keep ``rim`` (same bytes twice are kept once)."""
        self._rims.setdefault((rim.version, rim.product), {})[rim.sha256] = rim

    def add_xml(self, xml: bytes) -> DriverRim:
        """Authenticate and keep a RIM file's content."""
        rim = load_driver_rim(xml)
        self.add(rim)
        return rim

    def driver_rims(self, version: str, product: str) -> Sequence[DriverRim]:
        """RIMs for this driver version and chip."""
        return tuple(self._rims.get((version.lower(), product.upper()), {}).values())
