"""Decode a worker's ``attestation_report`` text into an :class:`AttestationBundle`.

The text is one of two things.

**A bare quote**: the Intel TDX quote bytes as hex (an optional ``0x`` prefix,
either case) or as standard base64. Surrounding whitespace is ignored. Because
a lowercase hex string is also valid base64, the rule is: *an even-length
string of hex digits is hex; anything else is base64*. A quote has a 48-byte
header, so a base64 quote is never all hex digits in practice.

**A JSON envelope** (the text starts with ``{``)::

    {
      "tdx_quote": "<hex or base64, as above>",             // required
      "gpu_evidence": {                                     // optional, NVIDIA GPUs
        "nonce": "<64 hex>",                                //   == report_data[32:64]
        "arch": "HOPPER",
        "evidence_list": [                                  //   one item per GPU
          {"certificate": "<base64 of the PEM device chain>",
           "evidence": "<base64 of SPDM GET_MEASUREMENTS request || response>"}
        ]
      },
      "event_log": [                                        // optional; replaying it must give
        {"imr": 0, "digest": "<96 hex>", "event": "...", ...}  //   exactly RTMR0-3 of the quote
      ],
      "tls_certificate": "-----BEGIN CERTIFICATE-----..."   // optional PEM; SecretVM binding
    }

``gpu_evidence`` is exactly the request body SecretVM serves and NVIDIA's NRAS
accepts; the nvattest list form ``[{arch, nonce, certificate, evidence}]`` is
accepted too. Unknown top-level keys are refused, so a typo cannot silently
drop evidence. Limits: the whole text is at most 1 MiB, the quote at most
64 KiB, at most 16 GPUs and 4096 events.

Decoding never verifies anything; it only turns text into typed values.
"""

import base64
import binascii
import json
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from worker_manager.attestation.errors import CERTIFICATE_PARSE_ERRORS, AttestationError, Reason
from worker_manager.attestation.eventlog import EventLogEntry, parse_event_log
from worker_manager.attestation.nvidia.evidence import GpuEvidence, parse_gpu_evidence

MAX_REPORT_CHARS = 1024 * 1024
MAX_QUOTE_BYTES = 64 * 1024
ENVELOPE_KEYS = frozenset({"tdx_quote", "gpu_evidence", "event_log", "tls_certificate"})
_HEX_DIGITS = frozenset(string.hexdigits)


@dataclass(frozen=True, slots=True)
class AttestationBundle:
    """Everything a worker sent: the quote (as received, not yet cut) and extras."""

    quote: bytes
    gpu_evidence: GpuEvidence | None = None
    event_log: tuple[EventLogEntry, ...] | None = None
    tls_certificate_der: bytes | None = None


def _malformed(message: str) -> AttestationError:
    return AttestationError(Reason.MALFORMED_REPORT, message)


def decode_quote_text(text: str) -> bytes:
    """Hex (optional ``0x``) or base64 quote text -> bytes; see the module docstring."""
    body = text.strip()
    if body[:2] in ("0x", "0X"):
        body = body[2:]
    if not body:
        raise _malformed("empty quote")
    if len(body) % 2 == 0 and _HEX_DIGITS.issuperset(body):
        raw = bytes.fromhex(body)
    else:
        try:
            raw = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise _malformed("quote is neither hex nor base64") from exc
    if not raw or len(raw) > MAX_QUOTE_BYTES:
        raise _malformed(f"quote must be 1..{MAX_QUOTE_BYTES} bytes")
    return raw


def _tls_certificate(value: object) -> bytes:
    if not isinstance(value, str):
        raise _malformed("tls_certificate must be a PEM string")
    try:
        cert = x509.load_pem_x509_certificate(value.encode())
    except CERTIFICATE_PARSE_ERRORS as exc:
        raise _malformed("tls_certificate is not a PEM certificate") from exc
    return cert.public_bytes(Encoding.DER)


def _envelope(text: str) -> AttestationBundle:
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _malformed(f"envelope is not valid JSON: {exc.msg}") from exc
    if not isinstance(obj, dict):
        raise _malformed("envelope must be a JSON object")
    unknown = sorted(set(obj) - ENVELOPE_KEYS)
    if unknown:
        raise _malformed(f"unknown envelope keys: {', '.join(unknown)}")
    quote = obj.get("tdx_quote")
    if not isinstance(quote, str):
        raise _malformed("envelope needs tdx_quote as a hex or base64 string")
    gpu = obj.get("gpu_evidence")
    events = obj.get("event_log")
    tls = obj.get("tls_certificate")
    return AttestationBundle(
        quote=decode_quote_text(quote),
        gpu_evidence=None if gpu is None else parse_gpu_evidence(gpu),
        event_log=None if events is None else parse_event_log(events),
        tls_certificate_der=None if tls is None else _tls_certificate(tls),
    )


def decode_report(text: str) -> AttestationBundle:
    """Decode ``attestation_report`` text, or raise AttestationError.

    Codes: ``malformed_report`` for bad text or envelope, ``gpu_evidence_malformed``
    for a bad ``gpu_evidence`` member.
    """
    if not isinstance(text, str):
        raise _malformed("attestation_report must be text")
    if len(text) > MAX_REPORT_CHARS:
        raise _malformed(f"attestation_report is longer than {MAX_REPORT_CHARS} characters")
    if text.lstrip().startswith("{"):
        return _envelope(text)
    return AttestationBundle(quote=decode_quote_text(text))


def encode_envelope(
    quote: bytes,
    *,
    gpu_evidence: Mapping[str, object] | Sequence[object] | None = None,
    event_log: Sequence[Mapping[str, object]] | None = None,
    tls_certificate_pem: str | None = None,
) -> str:
    """Build envelope text (hex quote), as a worker agent would send it."""
    obj: dict[str, object] = {"tdx_quote": quote.hex()}
    if gpu_evidence is not None:
        obj["gpu_evidence"] = (
            dict(gpu_evidence) if isinstance(gpu_evidence, Mapping) else list(gpu_evidence)
        )
    if event_log is not None:
        obj["event_log"] = [dict(e) for e in event_log]
    if tls_certificate_pem is not None:
        obj["tls_certificate"] = tls_certificate_pem
    return json.dumps(obj, sort_keys=True)
