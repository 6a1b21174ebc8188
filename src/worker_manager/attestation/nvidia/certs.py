"""NVIDIA certificate chains: the pinned roots and the chain checks.

GPU device chains are checked by ``cryptography``'s X.509 path validation
(:func:`verify_chain`) against the pinned NVIDIA Device Identity CA, at the
time passed in; nothing here reads the clock. The policy is the library's
web-PKI CA profile for the CAs, and for the leaf only what the SPDM check
needs: it may sign (keyUsage ``digitalSignature`` when the extension is
there) and it is not a CA. Web-PKI leaf rules that mean nothing for a GPU (a
subjectAltName, serverAuth/clientAuth key usages) are not asked for.

RIM signing chains cannot use that verifier: two of NVIDIA's RIM CAs encode
2023 validity dates as GeneralizedTime, which RFC 5280 section 4.1.2.5
forbids and the library always refuses (``validity dates between 1950 and
2049 must be UtcTime``; no policy option turns this off). They are checked
link by link by :func:`verify_chain_links`, the smallest check that stays
sound: every signature is verified by ``cryptography``
(``verify_directly_issued_by``) and only the CA rules are ours.

Revocation (OCSP) is *not* checked: it needs NVIDIA's OCSP service. Verdicts
say so (``ocsp: unchecked``).
"""

import functools
import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime
from importlib import resources

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.verification import (
    Criticality,
    ExtensionPolicy,
    Policy,
    PolicyBuilder,
    Store,
    VerificationError,
)

DEVICE_ROOT_FILE = "nvidia_device_identity_ca.pem"
DEVICE_ROOT_SHA256 = "102bf659d5419614c9d8e6aecebc80454eb26b1df6a769ac720b9a690b167b48"
RIM_ROOT_FILE = "nvidia_corim_signing_root_ca.pem"
RIM_ROOT_SHA256 = "12977b5115acb0381179279fffeb5a8c4d264971ebb32298023a465fa41df5d1"


class ChainError(ValueError):
    """A certificate chain does not verify; the message says why."""


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


def _leaf_may_sign(_policy: Policy, _cert: x509.Certificate, usage: x509.KeyUsage | None) -> None:
    if usage is not None and not usage.digital_signature:
        raise ValueError("the leaf's keyUsage does not allow digitalSignature")


def _leaf_is_not_ca(
    _policy: Policy, _cert: x509.Certificate, constraints: x509.BasicConstraints | None
) -> None:
    if constraints is not None and constraints.ca:
        raise ValueError("the leaf is a CA")


def _leaf_policy() -> ExtensionPolicy:
    return (
        ExtensionPolicy.permit_all()
        .may_be_present(x509.KeyUsage, Criticality.AGNOSTIC, _leaf_may_sign)
        .may_be_present(x509.BasicConstraints, Criticality.AGNOSTIC, _leaf_is_not_ca)
    )


def _as_datetime(now: int) -> datetime:
    try:
        return datetime.fromtimestamp(now, tz=UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise ChainError(f"time {now} is outside the range certificates can express") from exc


def verify_chain(
    chain: Sequence[x509.Certificate], root: x509.Certificate, *, now: int
) -> tuple[x509.Certificate, ...]:
    """Check ``chain`` (leaf first, then intermediates in any order) against ``root`` at ``now``.

    Returns the validated path, leaf first and ``root`` last; raises ChainError.
    """
    if not chain:
        raise ChainError("the chain is empty")
    verifier = (
        PolicyBuilder()
        .store(Store([root]))
        .time(_as_datetime(now))
        .extension_policies(
            ca_policy=ExtensionPolicy.webpki_defaults_ca(), ee_policy=_leaf_policy()
        )
        .build_client_verifier()
    )
    try:
        verified = verifier.verify(chain[0], list(chain[1:]))
    except (VerificationError, ValueError) as exc:  # ValueError: a field that does not parse
        raise ChainError(f"the chain does not verify to the pinned root: {exc}") from exc
    return tuple(verified.chain)


def validity_window(chain: Sequence[x509.Certificate]) -> tuple[int, int]:
    """(latest notBefore, earliest notAfter) over ``chain``, in unix seconds."""
    return (
        max(int(c.not_valid_before_utc.timestamp()) for c in chain),
        min(int(c.not_valid_after_utc.timestamp()) for c in chain),
    )


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


def verify_chain_links(
    chain: Sequence[x509.Certificate], root: x509.Certificate
) -> tuple[x509.Certificate, ...]:
    """Check ``chain`` (leaf first, in order, root optional at the end) link by link to ``root``.

    Only for chains :func:`verify_chain` cannot read (see the module
    docstring). Dates are not checked: the caller keeps
    :func:`validity_window` of the returned path and compares it with the
    verification time. Returns the path ending in ``root``; raises ChainError.
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
    return path
