"""NVIDIA certificate chains: the pinned roots, offline chain checks, and the FWID.

Chains are checked with ``cryptography`` one link at a time: each certificate
must be directly issued (name and signature) by the next, the last by the
pinned root; issuers must be CAs allowed to sign certificates, path lengths
are respected, unknown critical extensions are refused, and, when a time is
given, every certificate including the root must be valid then. The time is
always a parameter; nothing here reads the clock.

Revocation (OCSP) is *not* checked: it needs NVIDIA's OCSP service. Verdicts
say so (``ocsp: unchecked``).
"""

import functools
import hashlib
from collections.abc import Sequence
from importlib import resources

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives.serialization import Encoding

DEVICE_ROOT_FILE = "nvidia_device_identity_ca.pem"
DEVICE_ROOT_SHA256 = "102bf659d5419614c9d8e6aecebc80454eb26b1df6a769ac720b9a690b167b48"
RIM_ROOT_FILE = "nvidia_corim_signing_root_ca.pem"
RIM_ROOT_SHA256 = "12977b5115acb0381179279fffeb5a8c4d264971ebb32298023a465fa41df5d1"

TCG_DICE_FWID_OIDS = frozenset({"2.23.133.5.4.1", "2.23.133.5.4.1.1"})
# DER of OID 2.16.840.1.101.3.4.2.2 (SHA-384) followed by OCTET STRING of 48 bytes
_SHA384_FWID_PREFIX = bytes.fromhex("0609608648016503040202") + bytes.fromhex("0430")
FWID_LEN = 48


class ChainError(ValueError):
    """A certificate chain does not verify; the message says which link and why."""


def _load_pinned(name: str, sha256: str) -> x509.Certificate:
    data = resources.files(__package__).joinpath("roots", name).read_bytes()
    cert = x509.load_pem_x509_certificate(data)
    digest = hashlib.sha256(cert.public_bytes(Encoding.DER)).hexdigest()
    if digest != sha256:
        raise RuntimeError(f"pinned root {name} has sha256 {digest}, expected {sha256}")
    return cert


@functools.cache
def device_root() -> x509.Certificate:
    """NVIDIA Device Identity CA: the anchor of GPU device certificate chains."""
    return _load_pinned(DEVICE_ROOT_FILE, DEVICE_ROOT_SHA256)


@functools.cache
def rim_root() -> x509.Certificate:
    """NVIDIA CoRIM signing Root CA: the anchor of RIM signing chains."""
    return _load_pinned(RIM_ROOT_FILE, RIM_ROOT_SHA256)


def _check_issuer(issuer: x509.Certificate, below: int, where: str) -> None:
    try:
        constraints = issuer.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound as exc:
        raise ChainError(f"{where}: issuer has no basicConstraints") from exc
    if not constraints.ca:
        raise ChainError(f"{where}: issuer is not a CA")
    if constraints.path_length is not None and constraints.path_length < below:
        raise ChainError(f"{where}: path length constraint exceeded")
    try:
        usage = issuer.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return
    if not usage.key_cert_sign:
        raise ChainError(f"{where}: issuer may not sign certificates")


def _check_extensions(cert: x509.Certificate, where: str) -> None:
    for extension in cert.extensions:
        if extension.critical and isinstance(extension.value, x509.UnrecognizedExtension):
            raise ChainError(f"{where}: unknown critical extension {extension.oid.dotted_string}")


def validity_window(chain: Sequence[x509.Certificate]) -> tuple[int, int]:
    """(latest notBefore, earliest notAfter) over ``chain``, in unix seconds."""
    return (
        max(int(c.not_valid_before_utc.timestamp()) for c in chain),
        min(int(c.not_valid_after_utc.timestamp()) for c in chain),
    )


def verify_chain(
    chain: Sequence[x509.Certificate], root: x509.Certificate, *, now: int | None
) -> tuple[x509.Certificate, ...]:
    """Check ``chain`` (leaf first, root optional at the end) against the pinned ``root``.

    Returns the full path ending in ``root``. ``now=None`` skips the validity
    dates (used when the check time is not known yet); raises ChainError.
    """
    root_der = root.public_bytes(Encoding.DER)
    certs = list(chain)
    if certs and certs[-1].public_bytes(Encoding.DER) == root_der:
        certs.pop()
    if not certs:
        raise ChainError("the chain has no certificate below the root")
    path = (*certs, root)
    for index, cert in enumerate(certs):
        issuer = path[index + 1]
        where = f"certificate {index}"
        try:
            cert.verify_directly_issued_by(issuer)
        except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm) as exc:
            raise ChainError(f"{where} is not issued by the next certificate: {exc}") from exc
        try:
            _check_issuer(issuer, index, where)
            _check_extensions(cert, where)
        except ValueError as exc:  # a malformed extension (ChainError is a ValueError too)
            raise ChainError(str(exc)) from exc
    if now is not None:
        start, end = validity_window(path)
        if not start <= now <= end:
            raise ChainError(f"the chain is valid from {start} to {end}, not at {now}")
    return path


def fwid_from_certificate(cert: x509.Certificate) -> bytes | None:
    """The SHA-384 FWID in the TCG DICE extension of a Hopper leaf, or None.

    The FWID is the last element of the extension: ``OID sha384, OCTET STRING (48)``.
    """
    for extension in cert.extensions:
        if extension.oid.dotted_string not in TCG_DICE_FWID_OIDS:
            continue
        value = extension.value
        raw = value.value if isinstance(value, x509.UnrecognizedExtension) else b""
        tail = raw[-(FWID_LEN + len(_SHA384_FWID_PREFIX)) :]
        if tail.startswith(_SHA384_FWID_PREFIX):
            return tail[len(_SHA384_FWID_PREFIX) :]
    return None
