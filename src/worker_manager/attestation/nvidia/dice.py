"""The FWID of a GPU's leaf certificate, read from its TCG DICE extension with asn1crypto.

Hopper leaves carry, under the tcg-dice-TcbInfo OID (2.23.133.5.4.1), the
older RIoT/DICE *composite device ID* layout rather than the ``DiceTcbInfo``
that OID names today: a version, the device key and one FWID (the SHA-384
of the GPU firmware). Both layouts are read; the FWID compared with the one
the GPU reports is the SHA-384 one.
"""

from asn1crypto import algos, core, keys
from cryptography import x509

TCG_DICE_FWID_OIDS = frozenset({"2.23.133.5.4.1", "2.23.133.5.4.1.1"})
FWID_LEN = 48

# asn1crypto has no type hints, so mypy sees its base classes as Any.


class Fwid(core.Sequence):  # type: ignore[misc]
    """TCG DICE ``FWID ::= SEQUENCE { hashAlg OBJECT IDENTIFIER, digest OCTET STRING }``."""

    _fields = [("hash_alg", algos.DigestAlgorithmId), ("digest", core.OctetString)]  # noqa: RUF012


class FwidList(core.SequenceOf):  # type: ignore[misc]
    """TCG DICE ``FWIDLIST ::= SEQUENCE SIZE (1..MAX) OF FWID``."""

    _child_spec = Fwid


class CompositeDeviceId(core.Sequence):  # type: ignore[misc]
    """What Hopper leaves carry under the TcbInfo OID: the RIoT/DICE composite device ID.

    ``SEQUENCE { version INTEGER, deviceIdPublic SubjectPublicKeyInfo, fwid FWID }``;
    the FWID is the firmware's SHA-384 measurement.
    """

    _fields = [  # noqa: RUF012
        ("version", core.Integer),
        ("device_id_public", keys.PublicKeyInfo),
        ("fwid", Fwid),
    ]


class DiceTcbInfo(core.Sequence):  # type: ignore[misc]
    """TCG DICE ``DiceTcbInfo`` (tcg-dice-TcbInfo, 2.23.133.5.4.1): every field optional."""

    _fields = [  # noqa: RUF012
        ("vendor", core.UTF8String, {"implicit": 0, "optional": True}),
        ("model", core.UTF8String, {"implicit": 1, "optional": True}),
        ("version", core.UTF8String, {"implicit": 2, "optional": True}),
        ("svn", core.Integer, {"implicit": 3, "optional": True}),
        ("layer", core.Integer, {"implicit": 4, "optional": True}),
        ("index", core.Integer, {"implicit": 5, "optional": True}),
        ("fwids", FwidList, {"implicit": 6, "optional": True}),
        ("flags", core.BitString, {"implicit": 7, "optional": True}),
        ("vendor_info", core.OctetString, {"implicit": 8, "optional": True}),
        ("type", core.OctetString, {"implicit": 9, "optional": True}),
        ("flags_mask", core.BitString, {"implicit": 10, "optional": True}),
    ]


def _fwids(raw: bytes) -> list[Fwid]:
    """The FWIDs in an extension value of either layout; [] when it parses as neither."""
    for layout in (CompositeDeviceId, DiceTcbInfo):
        try:
            parsed = layout.load(raw, strict=True)
            _ = parsed.native  # asn1crypto parses lazily: this parses every field now
        except (ValueError, TypeError, KeyError, AttributeError):  # asn1crypto on bad DER
            continue
        if isinstance(parsed, CompositeDeviceId):
            return [parsed["fwid"]]
        fwids = parsed["fwids"]
        return [] if isinstance(fwids, core.Void) else list(fwids)
    return []


def fwid_from_certificate(cert: x509.Certificate) -> bytes | None:
    """The SHA-384 FWID in the TCG DICE extension of a Hopper leaf, or None."""
    for extension in cert.extensions:
        if extension.oid.dotted_string not in TCG_DICE_FWID_OIDS:
            continue
        value = extension.value
        if not isinstance(value, x509.UnrecognizedExtension):
            continue
        for fwid in _fwids(value.value):
            digest = fwid["digest"].native
            if fwid["hash_alg"].native == "sha384" and len(digest) == FWID_LEN:
                return bytes(digest)
    return None
