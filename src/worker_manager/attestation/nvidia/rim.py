"""Signed driver RIMs: NVIDIA's golden GPU measurements, checked offline.

A RIM (Reference Integrity Manifest) is a SWID tag XML listing, per
measurement index, the SHA-384 values a GPU may report, signed with an
enveloped XML signature (ECDSA P-384 over C14N 1.1) by a certificate chain
that ends at NVIDIA's CoRIM signing root, which we pin.

:func:`load_driver_rim` checks everything that does not depend on time. lxml
parses with no network, no entities and no DTD. We insist on the one
signature layout NVIDIA uses (a single signature, a child of the root, one
reference to the whole document, C14N 1.1, ECDSA-SHA384, SHA-384): signxml
checks algorithms, but not the canonicalization or what a reference covers.
signxml then checks the digest and the signature, and hands back the signed
content, the only part we read. Last, the certificate chain goes to the pinned
root (see :mod:`.certs` for why that check is link by link). The chain's
validity window is kept on the RIM and compared with the given ``now`` at
verification time (the 550.144.03 RIM's chain ends 2026-12-30). Revocation is
not checked (no OCSP offline). RIMs must be imported by an operator; none is
fetched here.
"""

import base64
import binascii
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ec
from lxml import etree
from signxml.algorithms import DigestAlgorithm, SignatureMethod
from signxml.exceptions import InvalidDigest, InvalidSignature, SignXMLException
from signxml.verifier import SignatureConfiguration, XMLVerifier

from worker_manager.attestation.errors import CERTIFICATE_PARSE_ERRORS, AttestationError, Reason
from worker_manager.attestation.nvidia.certs import (
    ChainError,
    rim_root,
    validity_window,
    verify_chain_links,
)

SWID_NS = "http://standards.iso.org/iso/19770/-2/2015/schema.xsd"
DSIG_NS = "http://www.w3.org/2000/09/xmldsig#"
SHA384_NS = "http://www.w3.org/2001/04/xmlenc#sha384"
C14N11 = "http://www.w3.org/2006/12/xml-c14n11"
ECDSA_SHA384 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384"
DIGEST_SHA384 = "http://www.w3.org/2001/04/xmldsig-more#sha384"
ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
MAX_RIM_BYTES = 1024 * 1024

# lxml has no type hints: its elements are Any here.
Element = Any


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


def _parser() -> Any:
    """A parser that never fetches, never expands entities and keeps libxml2's size limits."""
    return etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False)


def _parse(xml: bytes) -> Element:
    """Parse with :func:`_parser`; refuse DTDs and processing instructions anywhere."""
    try:
        root = etree.fromstring(xml, parser=_parser())
    except etree.XMLSyntaxError as exc:
        raise _fail(f"not well-formed XML: {exc}") from exc
    nodes = [*root.itersiblings(preceding=True), *root.iter(), *root.itersiblings()]
    if root.getroottree().docinfo.doctype or any(node.tag is etree.PI for node in nodes):
        raise _fail("DTDs, entities and processing instructions are not accepted")
    return root


def _children(parent: Element, namespace: str, local: str) -> list[Element]:
    return list(parent.iterchildren(f"{{{namespace}}}{local}"))


def _one(parent: Element, namespace: str, local: str) -> Element:
    found = _children(parent, namespace, local)
    if len(found) != 1:
        raise _fail(f"expected exactly one {local}, found {len(found)}")
    return found[0]


def _algorithm(parent: Element, local: str, expected: str) -> None:
    if _one(parent, DSIG_NS, local).get("Algorithm") != expected:
        raise _fail(f"{local} must be {expected}")


def _b64(text: str | None, what: str) -> bytes:
    try:
        return base64.b64decode("".join((text or "").split()), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise _fail(f"{what} is not base64") from exc


def _signature(root: Element) -> Element:
    """The one signature, a child of the root, in the layout NVIDIA signs with."""
    found = list(root.iter(f"{{{DSIG_NS}}}Signature"))
    if len(found) != 1:
        raise _fail(f"expected exactly one Signature, found {len(found)}")
    signature = found[0]
    if signature.getparent() is not root:
        raise _fail("the Signature must be a child of the root element")
    signed_info = _one(signature, DSIG_NS, "SignedInfo")
    _algorithm(signed_info, "CanonicalizationMethod", C14N11)
    _algorithm(signed_info, "SignatureMethod", ECDSA_SHA384)
    reference = _one(signed_info, DSIG_NS, "Reference")
    if reference.get("URI") != "":
        raise _fail('the signature must reference the whole document (URI="")')
    transforms = _children(_one(reference, DSIG_NS, "Transforms"), DSIG_NS, "Transform")
    if [t.get("Algorithm") for t in transforms] != [ENVELOPED, C14N11]:
        raise _fail("transforms must be enveloped-signature then C14N 1.1")
    _algorithm(reference, "DigestMethod", DIGEST_SHA384)
    for parent, local in ((reference, "DigestValue"), (signature, "SignatureValue")):
        if not _b64(_one(parent, DSIG_NS, local).text, local):
            raise _fail(f"{local} is empty")
    key_info = _one(signature, DSIG_NS, "KeyInfo")
    if len(list(key_info.iterchildren(etree.Element))) != 1:
        raise _fail("KeyInfo must hold only X509Data")
    return signature


def _certificates(signature: Element) -> list[x509.Certificate]:
    data = _one(_one(signature, DSIG_NS, "KeyInfo"), DSIG_NS, "X509Data")
    elements = list(data.iterchildren(etree.Element))
    if any(e.tag != f"{{{DSIG_NS}}}X509Certificate" for e in elements):
        raise _fail("X509Data must hold only X509Certificate elements")
    try:
        return [x509.load_der_x509_certificate(_b64(e.text, "X509Certificate")) for e in elements]
    except CERTIFICATE_PARSE_ERRORS as exc:
        raise _fail("an X509Certificate does not parse") from exc


def _verify_signature(xml: bytes, signer: x509.Certificate) -> Element:
    """Check the digest and signature with signxml; return the signed content, parsed.

    signxml also wants the signer's certificate valid at some time; loading is
    time-free, so it gets the certificate's own notBefore (the dates that
    matter are compared with ``now`` at verification, see :class:`DriverRim`).
    """
    try:
        key = signer.public_key()
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise _fail("the signing key does not parse") from exc
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp384r1":
        raise _fail("the signing key is not ECDSA P-384")
    config = SignatureConfiguration(
        location="./",
        expect_references=1,
        signature_methods=frozenset({SignatureMethod.ECDSA_SHA384}),
        digest_algorithms=frozenset({DigestAlgorithm.SHA384}),
        verification_time=signer.not_valid_before_utc,
    )
    try:
        result = XMLVerifier().verify(xml, x509_cert=signer, parser=_parser(), expect_config=config)
    except InvalidDigest as exc:
        raise _fail("document digest does not match the signature") from exc
    except InvalidSignature as exc:
        detail = str(exc).removeprefix("Signature verification failed:").strip()
        raise _fail("signature does not verify" + (f" ({detail})" if detail else "")) from exc
    except (SignXMLException, etree.LxmlError, ValueError, TypeError) as exc:  # odd input
        raise _fail(f"signature does not verify ({type(exc).__name__}: {exc})") from exc
    if isinstance(result, list) or result.signed_xml is None:  # expect_references=1: one result
        raise _fail("the signed content is not one XML document")
    return result.signed_xml


def _measurements(root: Element) -> tuple[RimMeasurement, ...]:
    result: list[RimMeasurement] = []
    seen: set[int] = set()
    for resource in _children(_one(root, SWID_NS, "Payload"), SWID_NS, "Resource"):
        try:
            index = int(resource.get("index") or "")
            count = int(resource.get("alternatives") or "")
            size = int(resource.get("size") or "")
            values = tuple(
                bytes.fromhex(resource.get(f"{{{SHA384_NS}}}Hash{i}") or "") for i in range(count)
            )
        except ValueError as exc:
            raise _fail("a Resource has a bad index, size or hash") from exc
        if index in seen:
            raise _fail(f"measurement index {index} repeats")
        seen.add(index)
        if resource.get("active") == "True":
            result.append(RimMeasurement(index=index, size=size, alternatives=values))
    if not result:
        raise _fail("no active measurements")
    return tuple(result)


def load_driver_rim(xml: bytes) -> DriverRim:
    """Parse and authenticate a driver RIM; raise ``gpu_rim_unavailable`` if it fails."""
    if len(xml) > MAX_RIM_BYTES:
        raise _fail("larger than 1 MiB")
    root = _parse(xml)
    if root.tag != f"{{{SWID_NS}}}SoftwareIdentity":
        raise _fail("not a SWID SoftwareIdentity document")
    certs = _certificates(_signature(root))
    if not certs:
        raise _fail("no signing certificate")
    signed = _verify_signature(xml, certs[0])
    if signed.tag != f"{{{SWID_NS}}}SoftwareIdentity":
        raise _fail("not a SWID SoftwareIdentity document")
    try:
        path = verify_chain_links(certs, rim_root())
    except ChainError as exc:
        raise _fail(f"signing chain: {exc}") from exc
    meta = _one(signed, SWID_NS, "Meta")
    valid_from, valid_until = validity_window(path)
    return DriverRim(
        version=(meta.get("colloquialVersion") or "").lower(),
        product=(meta.get("product") or "").upper(),
        measurements=_measurements(signed),
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
