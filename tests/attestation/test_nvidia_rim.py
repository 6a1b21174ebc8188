"""Driver RIM signatures on signxml + lxml, against what the hand-written C14N/XML-DSig decided.

The old check (a hand-written C14N 1.1 and XML-DSig, deleted in issue 11) was run
over every edit below; ``OLD_RIM`` is what it decided. The rewrites C14N treats as
the same document must still verify (lxml canonicalizes them alike), and every
document the old parser refused (DTDs, entities, processing instructions, broken
XML) is still refused.
"""

import base64
import json
import re
from collections.abc import Callable

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from worker_manager.attestation import AttestationError, DriverRim, Reason, load_driver_rim
from worker_manager.attestation.nvidia import parse_gpu_evidence

from .conftest import DATA

RIM_XML = (DATA / "nvidia" / "NV_GPU_DRIVER_GH100_550.144.03.xml").read_bytes()
SECRETVM = parse_gpu_evidence(json.loads((DATA / "secretvm" / "gpu_attest.txt").read_text()))
SV = x509.load_pem_x509_certificates(SECRETVM.items[0].certificate_chain_pem)
CERT_RE = re.compile(rb"<ds:X509Certificate>(.*?)</ds:X509Certificate>", re.S)
RIM_CERTS = CERT_RE.findall(RIM_XML)
SIGNATURE = RIM_XML[RIM_XML.index(b"<ds:Signature") : RIM_XML.index(b"</ds:Signature>") + 15]
GENUINE = load_driver_rim(RIM_XML)


def b64der(cert: x509.Certificate) -> bytes:
    return base64.b64encode(cert.public_bytes(Encoding.DER))


def outcome(xml: bytes) -> DriverRim | AttestationError:
    """What load_driver_rim makes of ``xml``: the RIM, or the error it raised."""
    try:
        return load_driver_rim(xml)
    except AttestationError as exc:
        return exc


def says_what_the_signed_rim_says(rim: DriverRim) -> bool:
    """Everything but the file's sha256 is the genuine RIM's."""
    return (rim.version, rim.product, rim.measurements, rim.valid_from, rim.valid_until) == (
        GENUINE.version,
        GENUINE.product,
        GENUINE.measurements,
        GENUINE.valid_from,
        GENUINE.valid_until,
    )


def replace_cert(xml: bytes, index: int, new: bytes) -> bytes:
    old = b"<ds:X509Certificate>" + CERT_RE.findall(xml)[index] + b"</ds:X509Certificate>"
    return xml.replace(old, b"<ds:X509Certificate>" + new + b"</ds:X509Certificate>")


def drop_cert(xml: bytes, index: int) -> bytes:
    return replace_cert(xml, index, b"").replace(b"<ds:X509Certificate></ds:X509Certificate>", b"")


def corrupt_signer_key(xml: bytes) -> bytes:
    der = base64.b64decode(RIM_CERTS[0])
    point = der.index(b"\x03\x62\x00\x04") + 3  # the uncompressed-point marker of the P-384 key
    return replace_cert(xml, 0, base64.b64encode(der[:point] + b"\x07" + der[point + 1 :]))


RIM_EDITS: dict[str, Callable[[bytes], bytes]] = {
    "genuine": lambda x: x,
    "deactivate": lambda x: x.replace(b'index="7" active="True"', b'index="7" active="False"'),
    "golden-value": lambda x: x.replace(b"4a5e4b3d501fe31f", b"4a5e4b3d501fe31e"),
    "version": lambda x: x.replace(
        b'colloquialVersion="550.144.03"', b'colloquialVersion="550.144.04"'
    ),
    "signed-byte-tag-id": lambda x: x.replace(b'tagId="8aa5', b'tagId="9aa5'),
    "signed-byte-entity-name": lambda x: x.replace(b"NVIDIA Corporation", b"NVIDIA Corporatiom", 1),
    "signed-whitespace": lambda x: x.replace(b"</ns0:Payload>", b" </ns0:Payload>"),
    "signed-new-element": lambda x: x.replace(b"</ns0:Payload>", b"<ns0:Resource/></ns0:Payload>"),
    "element-after-signature": lambda x: x.replace(
        b"</ds:Signature>", b"</ds:Signature><ns0:Payload/>"
    ),
    "digest-value": lambda x: x.replace(b"BqNofyPEyR5BQcx1", b"BqNofyPEyR5BQcx2"),
    "signature-value": lambda x: x.replace(b"TM4DnjO+vWfG", b"TM4DnjO+vWfH"),
    "signature-value-end": lambda x: x.replace(b"jmcGn4lHufkvDPZ1", b"jmcGn4lHufkvDPZ2"),
    "signature-value-short": lambda x: x.replace(b"jmcGn4lHufkvDPZ1", b"jmcGn4lHufkv"),
    "signature-value-not-base64": lambda x: x.replace(b"TM4DnjO+vWfG", b"TM4DnjO*vWfG"),
    "signature-value-empty": lambda x: re.sub(
        rb"<ds:SignatureValue>.*?</ds:SignatureValue>", b"<ds:SignatureValue/>", x, flags=re.S
    ),
    "digest-value-empty": lambda x: re.sub(
        rb"<ds:DigestValue>.*?</ds:DigestValue>", b"<ds:DigestValue/>", x, flags=re.S
    ),
    "comment-in-signed-info": lambda x: x.replace(b"<ds:SignedInfo>", b"<ds:SignedInfo><!-- c -->"),
    "whitespace-in-signed-info": lambda x: x.replace(b"<ds:SignedInfo>", b"<ds:SignedInfo> "),
    "object-in-signature": lambda x: x.replace(
        b"</ds:KeyInfo>", b"</ds:KeyInfo><ds:Object>unsigned</ds:Object>"
    ),
    "signature-not-child-of-root": lambda x: x.replace(
        b"</ns0:Payload>\n<ds:Signature", b"</ns0:Payload>\n<ns0:Evidence><ds:Signature"
    ).replace(
        b"</ds:Signature></SoftwareIdentity>", b"</ds:Signature></ns0:Evidence></SoftwareIdentity>"
    ),
    "algorithm-typo": lambda x: x.replace(b"xml-c14n11", b"xml-exc-c14n", 1),
    "c14n-exclusive": lambda x: x.replace(
        b'Method Algorithm="http://www.w3.org/2006/12/xml-c14n11"',
        b'Method Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"',
    ),
    "c14n-1.0": lambda x: x.replace(
        b'Method Algorithm="http://www.w3.org/2006/12/xml-c14n11"',
        b'Method Algorithm="http://www.w3.org/TR/2001/REC-xml-c14n-20010315"',
    ),
    "signature-method-sha256": lambda x: x.replace(b"#ecdsa-sha384", b"#ecdsa-sha256"),
    "signature-method-rsa": lambda x: x.replace(b"#ecdsa-sha384", b"#rsa-sha384"),
    "digest-method-sha256": lambda x: x.replace(
        b"http://www.w3.org/2001/04/xmldsig-more#sha384", b"http://www.w3.org/2001/04/xmlenc#sha256"
    ),
    "digest-method-sha1": lambda x: x.replace(
        b"http://www.w3.org/2001/04/xmldsig-more#sha384", b"http://www.w3.org/2000/09/xmldsig#sha1"
    ),
    "reference-uri-fragment": lambda x: x.replace(
        b'<ds:Reference URI="">', b'<ds:Reference URI="#x">'
    ),
    "reference-no-uri": lambda x: x.replace(b'<ds:Reference URI="">', b"<ds:Reference>"),
    "second-reference": lambda x: x.replace(
        b"</ds:SignedInfo>",
        b'<ds:Reference URI=""><ds:DigestMethod Algorithm="http://www.w3.org/2001/04/'
        b'xmldsig-more#sha384"/><ds:DigestValue>AAAA</ds:DigestValue></ds:Reference></ds:SignedInfo>',
    ),
    "no-enveloped-transform": lambda x: x.replace(
        b'<ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>', b""
    ),
    "extra-xpath-transform": lambda x: x.replace(
        b"</ds:Transforms>",
        b'<ds:Transform Algorithm="http://www.w3.org/TR/1999/REC-xpath-19991116">'
        b"<ds:XPath>1</ds:XPath></ds:Transform></ds:Transforms>",
    ),
    "no-signature": lambda x: x.replace(SIGNATURE, b""),
    "two-signatures": lambda x: x.replace(SIGNATURE, SIGNATURE + SIGNATURE),
    "foreign-signing-cert": lambda x: replace_cert(x, 0, b64der(SV[0])),
    "foreign-intermediate": lambda x: replace_cert(x, 1, b64der(SV[1])),
    "device-chain-instead": lambda x: replace_cert(
        replace_cert(
            replace_cert(replace_cert(x, 0, b64der(SV[0])), 1, b64der(SV[1])), 2, b64der(SV[2])
        ),
        3,
        b64der(SV[4]),
    ),
    "no-intermediates": lambda x: drop_cert(drop_cert(x, 2), 1),
    "no-certificates": lambda x: drop_cert(drop_cert(drop_cert(drop_cert(x, 3), 2), 1), 0),
    "cert-not-der": lambda x: replace_cert(x, 1, b"AAAA"),
    "signer-cert-last": lambda x: replace_cert(replace_cert(x, 0, RIM_CERTS[3]), 3, RIM_CERTS[0]),
    "comment-in-signed-content": lambda x: x.replace(
        b"</ns0:Payload>", b"<!-- hi --></ns0:Payload>"
    ),
    "single-quotes": lambda x: x.replace(b'corpus="false"', b"corpus='false'"),
    "xml-declaration": lambda x: b'<?xml version="1.0" encoding="UTF-8"?>\n' + x,
    "utf8-bom": lambda x: b"\xef\xbb\xbf" + x,
    "pi-before-root": lambda x: b"<?pi data?>" + x,
    "pi-inside": lambda x: x.replace(b"</ns0:Payload>", b"<?pi data?></ns0:Payload>"),
    "dtd": lambda x: b'<!DOCTYPE x [<!ENTITY a "b">]>' + x,
    "external-entity": lambda x: (
        b'<!DOCTYPE s [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
        + x.replace(b'name="GH100"', b'name="&e;"', 1)
    ),
    "entity-expansion": lambda x: (
        b'<!DOCTYPE s [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        + x.replace(b'name="GH100"', b'name="&b;"', 1)
    ),
    "truncated": lambda x: x[:-200],
    "not-xml": lambda x: b"not xml at all",
    "empty": lambda x: b"",
    "two-roots": lambda x: x + b"<x/>",
    "oversize": lambda x: x.replace(
        b"</ns0:Payload>", b"<!--" + b"a" * 1024 * 1024 + b"--></ns0:Payload>"
    ),
    "root-renamed": lambda x: x.replace(b"<SoftwareIdentity ", b"<SoftwareIdentityX ").replace(
        b"</SoftwareIdentity>", b"</SoftwareIdentityX>"
    ),
}

ACCEPTED = "accepted"
OLD_RIM: dict[str, str] = {
    "genuine": ACCEPTED,
    "deactivate": "document digest does not match the signature",
    "golden-value": "document digest does not match the signature",
    "version": "document digest does not match the signature",
    "signed-byte-tag-id": "document digest does not match the signature",
    "signed-byte-entity-name": "document digest does not match the signature",
    "signed-whitespace": "document digest does not match the signature",
    "signed-new-element": "document digest does not match the signature",
    "element-after-signature": "document digest does not match the signature",
    "digest-value": "document digest does not match the signature",
    "signature-value": "signature does not verify",
    "signature-value-end": "signature does not verify",
    "signature-value-short": "SignatureValue is not a 96-byte r||s",
    "signature-value-not-base64": "SignatureValue is not base64",
    "signature-value-empty": "SignatureValue is not a 96-byte r||s",
    "digest-value-empty": "document digest does not match the signature",
    "comment-in-signed-info": ACCEPTED,
    "whitespace-in-signed-info": "signature does not verify",
    "object-in-signature": ACCEPTED,
    "signature-not-child-of-root": "expected exactly one Signature, found 0",
    "algorithm-typo": ("CanonicalizationMethod must be http://www.w3.org/2006/12/xml-c14n11"),
    "c14n-exclusive": ("CanonicalizationMethod must be http://www.w3.org/2006/12/xml-c14n11"),
    "c14n-1.0": ("CanonicalizationMethod must be http://www.w3.org/2006/12/xml-c14n11"),
    "signature-method-sha256": (
        "SignatureMethod must be http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384"
    ),
    "signature-method-rsa": (
        "SignatureMethod must be http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384"
    ),
    "digest-method-sha256": ("DigestMethod must be http://www.w3.org/2001/04/xmldsig-more#sha384"),
    "digest-method-sha1": ("DigestMethod must be http://www.w3.org/2001/04/xmldsig-more#sha384"),
    "reference-uri-fragment": 'the signature must reference the whole document (URI="")',
    "reference-no-uri": 'the signature must reference the whole document (URI="")',
    "second-reference": "expected exactly one Reference, found 2",
    "no-enveloped-transform": "transforms must be enveloped-signature then C14N 1.1",
    "extra-xpath-transform": "transforms must be enveloped-signature then C14N 1.1",
    "no-signature": "expected exactly one Signature, found 0",
    "two-signatures": "expected exactly one Signature, found 2",
    "foreign-signing-cert": "signature does not verify",
    "foreign-intermediate": (
        "signing chain: certificate 0 is not issued by the next "
        "certificate: Issuer certificate subject does not match "
        "certificate issuer."
    ),
    "device-chain-instead": "signature does not verify",
    "no-intermediates": (
        "signing chain: certificate 0 is not issued by the next "
        "certificate: Issuer certificate subject does not match "
        "certificate issuer."
    ),
    "no-certificates": "no signing certificate",
    "cert-not-der": "an X509Certificate does not parse",
    "signer-cert-last": (
        "signing chain: certificate 2 is not issued by the next "
        "certificate: Issuer certificate subject does not match "
        "certificate issuer."
    ),
    "comment-in-signed-content": ACCEPTED,
    "single-quotes": ACCEPTED,
    "xml-declaration": ACCEPTED,
    "utf8-bom": ACCEPTED,
    "pi-before-root": "DTDs, entities and processing instructions are not accepted",
    "pi-inside": "DTDs, entities and processing instructions are not accepted",
    "dtd": "DTDs, entities and processing instructions are not accepted",
    "external-entity": "DTDs, entities and processing instructions are not accepted",
    "entity-expansion": "DTDs, entities and processing instructions are not accepted",
    "truncated": "not well-formed XML: no element found: line 122, column 55",
    "not-xml": "not well-formed XML: syntax error: line 1, column 0",
    "empty": "not well-formed XML: no element found: line 1, column 0",
    "two-roots": ("not well-formed XML: junk after document element: line 127, column 0"),
    "oversize": "larger than 1 MiB",
    "root-renamed": "not a SWID SoftwareIdentity document",
}
"""What the hand-written code said: ACCEPTED, or its gpu_rim_unavailable message."""

DELIBERATE_RIM = {
    "signer-key-corrupt": (
        corrupt_signer_key,
        "the signing key does not parse",
        "the old code let cryptography's ValueError out of load_driver_rim",
    ),
    "key-name-in-key-info": (
        lambda x: x.replace(b"<ds:KeyInfo>", b"<ds:KeyInfo><ds:KeyName>x</ds:KeyName>"),
        "KeyInfo must hold only X509Data",
        "the old code ignored it; anything but X509Data could steer signxml to another key",
    ),
}


@pytest.mark.parametrize("name", sorted(RIM_EDITS))
def test_rim_decisions_are_those_of_the_hand_written_check(name: str) -> None:
    assert sorted(OLD_RIM) == sorted(RIM_EDITS)
    result = outcome(RIM_EDITS[name](RIM_XML))
    if OLD_RIM[name] == ACCEPTED:
        assert isinstance(result, DriverRim), result
        assert says_what_the_signed_rim_says(result)
    else:
        assert isinstance(result, AttestationError)
        assert result.code is Reason.GPU_RIM_UNAVAILABLE


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("deactivate", "document digest does not match the signature"),
        ("signature-value", "signature does not verify"),
        ("signature-value-short", "Expected 96 byte SignatureValue"),
        ("foreign-signing-cert", "signature does not verify"),
        ("algorithm-typo", "CanonicalizationMethod must be"),
        ("signature-method-rsa", "SignatureMethod must be"),
        ("digest-method-sha1", "DigestMethod must be"),
        ("reference-uri-fragment", "the whole document"),
        ("extra-xpath-transform", "transforms must be enveloped-signature then C14N 1.1"),
        ("two-signatures", "exactly one Signature"),
        ("foreign-intermediate", "signing chain: certificate 0 is not issued"),
        ("dtd", "DTDs, entities and processing instructions are not accepted"),
        ("pi-before-root", "DTDs, entities and processing instructions are not accepted"),
        ("truncated", "not well-formed XML"),
        ("oversize", "larger than 1 MiB"),
        ("root-renamed", "not a SWID SoftwareIdentity document"),
    ],
)
def test_a_refused_rim_says_which_check_failed(name: str, says: str) -> None:
    with pytest.raises(AttestationError, match=re.escape(says)):
        load_driver_rim(RIM_EDITS[name](RIM_XML))


@pytest.mark.parametrize("name", sorted(DELIBERATE_RIM))
def test_deliberate_rim_differences(name: str) -> None:
    edit, says, _why = DELIBERATE_RIM[name]
    with pytest.raises(AttestationError, match=says) as info:
        load_driver_rim(edit(RIM_XML))
    assert info.value.code is Reason.GPU_RIM_UNAVAILABLE


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(st.integers(0, len(RIM_XML) - 1), st.sampled_from(b'<>"=/ &;!?:xa\n\x00\xff')),
        min_size=1,
        max_size=3,
    )
)
def test_any_edited_rim_is_refused_or_says_exactly_what_the_signed_one_says(
    edits: list[tuple[int, int]],
) -> None:
    data = bytearray(RIM_XML)
    for offset, byte in edits:
        data[offset] = byte
    result = outcome(bytes(data))
    if isinstance(result, AttestationError):
        assert result.code is Reason.GPU_RIM_UNAVAILABLE
    else:
        assert says_what_the_signed_rim_says(result)


ENTITY = b'<ns0:Entity name="NVIDIA Corporation" role="softwareCreator tagCreator"/>'
SWID = b"http://standards.iso.org/iso/19770/-2/2015/schema.xsd"
ROOT_NAMESPACES = b'xmlns:ns0="' + SWID + b'" xmlns:ns2="http://www.w3.org/2001/04/xmlenc#sha384"'
C14N_REWRITES: dict[str, tuple[Callable[[bytes], bytes], bool]] = {
    # name: (rewrite, whether C14N 1.1 maps it to the signed document: the old code agreed on each)
    "attribute-order-and-end-tag": (
        lambda x: x.replace(
            ENTITY,
            b'<ns0:Entity role="softwareCreator tagCreator" name="NVIDIA Corporation">'
            b"</ns0:Entity>",
        ),
        True,
    ),
    "space-in-tags": (
        lambda x: x.replace(b"<ns0:Payload xmlns:SHA384", b"<ns0:Payload   xmlns:SHA384").replace(
            b"</ns0:Payload>", b"</ns0:Payload  >"
        ),
        True,
    ),
    "namespace-declaration-order": (
        lambda x: x.replace(
            ROOT_NAMESPACES,
            b'xmlns:ns2="http://www.w3.org/2001/04/xmlenc#sha384" xmlns:ns0="' + SWID + b'"',
        ),
        True,
    ),
    "character-reference": (lambda x: x.replace(b'name="GH100"', b'name="&#x47;H100"', 1), True),
    "redundant-namespace-declaration": (
        lambda x: x.replace(b"<ns0:Entity ", b'<ns0:Entity xmlns:ns0="' + SWID + b'" '),
        True,
    ),
    "crlf-line-ends": (lambda x: x.replace(b"\n", b"\r\n"), True),
    "tab-in-attribute": (
        lambda x: x.replace(b"softwareCreator tagCreator", b"softwareCreator\ttagCreator"),
        True,
    ),
    "empty-cdata": (lambda x: x.replace(b"</ns0:Payload>", b"<![CDATA[]]></ns0:Payload>"), True),
    "new-namespace-declaration": (
        lambda x: x.replace(b"<ns0:Entity ", b'<ns0:Entity xmlns:x="urn:x" '),
        False,
    ),
    "xml-lang-on-root": (
        lambda x: x.replace(b"<SoftwareIdentity ", b'<SoftwareIdentity xml:lang="en" '),
        False,
    ),
}


@pytest.mark.parametrize("name", sorted(C14N_REWRITES))
def test_rewrites_verify_exactly_when_c14n_makes_them_the_signed_document(name: str) -> None:
    """What test_c14n.py checked of the hand-written C14N, now of lxml's through signxml."""
    rewrite, same_document = C14N_REWRITES[name]
    edited = rewrite(RIM_XML)
    assert edited != RIM_XML
    result = outcome(edited)
    if same_document:
        assert isinstance(result, DriverRim), result
        assert says_what_the_signed_rim_says(result)
    else:
        assert isinstance(result, AttestationError)
        assert "document digest does not match" in result.message


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (b'<!DOCTYPE r [<!ENTITY x "y">]><r>&x;</r>', "DTDs, entities"),
        (b"<r><?pi data?></r>", "DTDs, entities and processing instructions"),
        (b"<r>", "not well-formed XML"),
        (b"", "not well-formed XML"),
        (b"<a/><b/>", "not well-formed XML"),
    ],
)
def test_documents_the_old_parser_refused_are_refused(data: bytes, says: str) -> None:
    with pytest.raises(AttestationError, match=says) as info:
        load_driver_rim(data)
    assert info.value.code is Reason.GPU_RIM_UNAVAILABLE
