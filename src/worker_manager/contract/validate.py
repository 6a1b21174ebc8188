"""Input checks shared by the handlers: each returns the canonical value or raises.

Canonical forms matter because the worker's address is its record key: two
spellings of one machine (``::FFFF:10.0.0.1`` and ``10.0.0.1``, ``Host.Example.``
and ``host.example``) must land on the same key, and ``10.0.0.1:8001`` and
``10.0.0.1:8002`` must stay two workers behind one shared address.
"""

import ipaddress
import re
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from worker_manager.contract.error import (
    AttestationTooLarge,
    InvalidAddress,
    InvalidField,
    InvalidIpAddress,
    InvalidUrl,
    InvalidWorkerType,
)
from worker_manager.keys.address import AddressError, validate_address

if TYPE_CHECKING:
    from worker_manager.contract.state import Config

MAX_HOST_CHARS = 253
MAX_LABEL_CHARS = 63
MAX_WORKER_TYPE_CHARS = 64
MAX_URL_CHARS = 2048
MAX_PORT = 65535

#: Worker types name models (``llama3.3:70b``, ``meta-llama/Llama-3.1-8B``):
#: letters, digits and ``. _ : / + @ -``, starting with a letter or digit.
WORKER_TYPE_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/+@-]{0,63}")
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_PORT = re.compile(r"[0-9]{1,5}")
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
#: A dotted quad already canonical (no leading zeros) whose first octet is 1-223: not
#: unspecified, multicast or broadcast, so ``ipaddress`` would give it back unchanged.
#: Every liveliness answer names its worker; this spares each one the full parse.
_PLAIN_UNICAST_V4 = re.compile(
    rf"(?:22[0-3]|2[01][0-9]|1[0-9][0-9]|[1-9][0-9]?)(?:\.{_OCTET}){{3}}"
)


def canonical_address(field: str, value: str) -> str:
    """A valid ``secret1…`` address in lower case, or InvalidAddress naming the field."""
    try:
        return validate_address(value)
    except AddressError as exc:
        raise InvalidAddress(field, str(exc)) from exc


def _parse_port(field: str, text: str) -> int:
    if not _PORT.fullmatch(text):
        raise InvalidIpAddress(field, f"port {text!r} is not a number")
    port = int(text)
    if not 1 <= port <= MAX_PORT:
        raise InvalidIpAddress(field, f"port {port} is outside 1-{MAX_PORT}")
    return port


def _canonical_ip(field: str, ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_unspecified:
        raise InvalidIpAddress(field, f"{ip} is the unspecified address, not a worker")
    if ip.is_multicast:
        raise InvalidIpAddress(field, f"{ip} is a multicast address, not a worker")
    if isinstance(ip, ipaddress.IPv4Address) and ip == ipaddress.IPv4Address("255.255.255.255"):
        raise InvalidIpAddress(field, "255.255.255.255 is the broadcast address, not a worker")
    return str(ip)


def _canonical_host_name(field: str, text: str) -> str:
    name = text.lower()
    if name.endswith("."):
        name = name[:-1]
    if not name:
        raise InvalidIpAddress(field, "host name is empty")
    if len(name) > MAX_HOST_CHARS:
        raise InvalidIpAddress(field, f"host name is longer than {MAX_HOST_CHARS} characters")
    labels = name.split(".")
    for label in labels:
        if not label:
            raise InvalidIpAddress(field, f"{text!r} has an empty label (two dots in a row)")
        if len(label) > MAX_LABEL_CHARS:
            raise InvalidIpAddress(field, f"label {label!r} is longer than {MAX_LABEL_CHARS}")
        if not _LABEL.fullmatch(label):
            raise InvalidIpAddress(
                field,
                f"label {label!r} must be letters, digits and inner hyphens "
                "(use punycode xn--… for international names)",
            )
    if labels[-1].isdigit():
        raise InvalidIpAddress(field, f"{text!r} is neither a valid IPv4 address nor a host name")
    return name


def _canonical_bracketed(field: str, text: str) -> str:
    """``[IPv6]`` or ``[IPv6]:port``."""
    close = text.find("]")
    if close < 0:
        raise InvalidIpAddress(field, f"{text!r} opens '[' without closing it")
    inner, rest = text[1:close], text[close + 1 :]
    try:
        ip6 = ipaddress.IPv6Address(inner)
    except ValueError as exc:
        raise InvalidIpAddress(field, f"{inner!r} is not an IPv6 address") from exc
    host = _canonical_ip(field, ip6)
    if rest == "":
        return host
    if not rest.startswith(":"):
        raise InvalidIpAddress(field, f"unexpected {rest!r} after ']'")
    port = _parse_port(field, rest[1:])
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def canonical_worker_address(value: str, field: str = "ip_address") -> str:
    """Normalise a worker's address: IPv4, IPv6 or DNS name, each with an optional port.

    Forms accepted: ``10.0.0.1``, ``10.0.0.1:8443``, ``2001:db8::1``,
    ``[2001:db8::1]:8443``, ``gpu1.example.com``, ``gpu1.example.com:8443``.
    Canonical output: IPv4 dotted quad, IPv6 compressed lower case (in brackets
    when a port follows), host names lower case without a trailing dot, and the
    port as a plain decimal number.
    """
    if not isinstance(value, str):
        raise InvalidIpAddress(field, "must be a string")
    text = value.strip()
    if not text:
        raise InvalidIpAddress(field, "is empty")
    if len(text) > MAX_HOST_CHARS + 8:
        raise InvalidIpAddress(field, f"is longer than {MAX_HOST_CHARS + 8} characters")
    if "://" in text or "/" in text:
        raise InvalidIpAddress(field, f"{text!r} looks like a URL; give only host[:port]")
    if "%" in text:
        raise InvalidIpAddress(field, "IPv6 zone identifiers (%…) are local to one machine")

    if text.startswith("["):
        return _canonical_bracketed(field, text)
    if text.count(":") > 1:
        try:
            return _canonical_ip(field, ipaddress.IPv6Address(text))
        except ValueError as exc:
            raise InvalidIpAddress(
                field, f"{text!r} is not an IPv6 address (write [addr]:port to add a port)"
            ) from exc

    host_text, sep, port_text = text.partition(":")
    port = _parse_port(field, port_text) if sep else None
    if _PLAIN_UNICAST_V4.fullmatch(host_text):
        host = host_text
    else:
        try:
            host = _canonical_ip(field, ipaddress.IPv4Address(host_text))
        except ipaddress.AddressValueError:
            host = _canonical_host_name(field, host_text)
    return host if port is None else f"{host}:{port}"


def host_of(canonical: str) -> str:
    """The host part of a canonical worker address (IPv6 kept in brackets)."""
    if canonical.startswith("["):
        return canonical[: canonical.index("]") + 1]
    if canonical.count(":") > 1:
        return f"[{canonical}]"
    return canonical.partition(":")[0]


def worker_type(value: str, field: str = "worker_type") -> str:
    """A worker type: 1-64 characters of ``A-Z a-z 0-9 . _ : / + @ -``, starting alphanumeric."""
    if not isinstance(value, str) or not value:
        raise InvalidWorkerType(field, "is empty")
    if len(value) > MAX_WORKER_TYPE_CHARS:
        raise InvalidWorkerType(
            field, f"is {len(value)} characters; at most {MAX_WORKER_TYPE_CHARS} are allowed"
        )
    if not WORKER_TYPE_PATTERN.fullmatch(value):
        raise InvalidWorkerType(
            field,
            f"{value!r} must start with a letter or digit and use only letters, digits "
            "and . _ : / + @ -",
        )
    return value


def http_url(value: str, field: str = "url") -> str:
    """An absolute http(s) URL with a host, no credentials, at most 2048 characters."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidUrl(field, "is empty")
    text = value.strip()
    if len(text) > MAX_URL_CHARS:
        raise InvalidUrl(field, f"is longer than {MAX_URL_CHARS} characters")
    if any(c.isspace() for c in text):
        raise InvalidUrl(field, "contains white space")
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - reading it raises on a bad port
    except ValueError as exc:
        raise InvalidUrl(field, f"{text!r} is not a valid URL: {exc}") from exc
    if parts.scheme not in ("http", "https"):
        raise InvalidUrl(field, f"scheme must be http or https, got {parts.scheme or 'none'!r}")
    if not parts.hostname:
        raise InvalidUrl(field, f"{text!r} has no host")
    if parts.username is not None or parts.password is not None:
        raise InvalidUrl(field, "must not carry a user name or password")
    return text


URL_TEMPLATE_FIELDS = ("address", "host")


def url_authority(canonical: str) -> str:
    """The address as a URL authority: a bare IPv6 address gets its brackets."""
    if canonical.count(":") > 1 and not canonical.startswith("["):
        return f"[{canonical}]"
    return canonical


def render_url_template(template: str, canonical_address: str) -> str:
    """Apply the config's URL template: ``{address}`` is host[:port], ``{host}`` the host."""
    return template.replace("{address}", url_authority(canonical_address)).replace(
        "{host}", host_of(canonical_address)
    )


def url_template(value: str, field: str = "url_template") -> str:
    """A template that yields a valid URL for any worker address (checked on samples)."""
    if "{address}" not in value and "{host}" not in value:
        raise InvalidUrl(field, "must contain {address} or {host}")
    leftover = value.replace("{address}", "").replace("{host}", "")
    if "{" in leftover or "}" in leftover:
        raise InvalidUrl(field, "only the placeholders {address} and {host} are known")
    for sample in ("10.0.0.1", "2001:db8::1", "[2001:db8::1]:8443", "gpu1.example.com:21434"):
        http_url(render_url_template(value, sample), field)
    return value


def public_key_hex(value: str, field: str) -> bytes:
    """Decode a hex secp256k1 compressed public key (33 bytes) or raise naming the field."""
    from worker_manager.keys.secp256k1 import SignatureError, parse_public_key

    raw = hex_bytes(value, field)
    try:
        parse_public_key(raw)
    except SignatureError as exc:
        raise InvalidField(field, str(exc)) from exc
    return raw


def hex_bytes(value: str, field: str) -> bytes:
    """Decode hex text (optional 0x) or raise naming the field."""
    if not isinstance(value, str) or not value:
        raise InvalidField(field, "is empty")
    text = value[2:] if value[:2] in ("0x", "0X") else value
    try:
        return bytes.fromhex(text)
    except ValueError as exc:
        raise InvalidField(field, "is not hex") from exc


def attestation_report_text(config: "Config", report: str) -> str:
    """A report within the config's size cap. An empty one registers the worker as
    ``not_attested`` (the original contract's own scripts send ``""``)."""
    size = len(report.encode("utf-8"))
    if size > config.max_attestation_report_bytes:
        raise AttestationTooLarge(size, config.max_attestation_report_bytes)
    return report
