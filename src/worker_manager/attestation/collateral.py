"""Intel collateral bundles: import, normalise, hash, and compute validity windows.

A bundle is dcap-qvl's nine-field ``QuoteCollateralV3`` JSON: TCB info and QE
identity (JSON text, hex signatures, PEM issuer chains), the root CA CRL and
the PCK CRL (hex DER). There is one bundle per (FMSPC, CA) at a time, where CA
is ``platform`` or ``processor``; Intel reissues them about every 30 days.

Normalisation on import, so that equal content hashes equally:

* CRLs become lowercase hex of their DER. Accepted inputs: hex of DER (the
  dcap-qvl layout), hex of *hex text* of DER (a known PCCS quirk for the root CA
  CRL), or a PEM ``X509 CRL``.
* Signatures become lowercase hex; TCB info and QE identity text is kept
  byte-for-byte (Intel's signature covers the exact text).
* ``pck_certificate_chain`` (a tenth field some tools add) is dropped: it
  belongs to one machine, while a bundle serves every machine of an FMSPC, and
  dcap-qvl would prefer it over the chain inside the quote. Quotes must carry
  their own PCK chain (certification data type 5, as real TDX quotes do).

The canonical form is compact JSON with sorted keys; its sha256 names the
bundle and is stored with every verdict, so a replay can find the exact bytes.

Validity window: from the latest of the TCB info and QE identity ``issueDate``,
both CRLs' ``thisUpdate`` and the issuer certificates' ``notBefore``, up to
(excluding) the earliest ``nextUpdate``/``notAfter``. dcap-qvl enforces the same
window (it fails on the very second the PCK CRL's ``nextUpdate`` is reached).
"""

import hashlib
import json
import string
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import dcap_qvl
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from worker_manager.attestation.errors import CERTIFICATE_PARSE_ERRORS, AttestationError, Reason

TEXT_FIELDS = (
    "pck_crl_issuer_chain",
    "tcb_info_issuer_chain",
    "tcb_info",
    "qe_identity_issuer_chain",
    "qe_identity",
)
CRL_FIELDS = ("root_ca_crl", "pck_crl")
SIGNATURE_FIELDS = ("tcb_info_signature", "qe_identity_signature")
DROPPED_FIELDS = frozenset({"pck_certificate_chain"})
CA_BY_ISSUER_CN = {
    "Intel SGX PCK Platform CA": "platform",
    "Intel SGX PCK Processor CA": "processor",
}
KNOWN_CAS = frozenset(CA_BY_ISSUER_CN.values())
_HEX = frozenset(string.hexdigits)


def _invalid(message: str) -> AttestationError:
    return AttestationError(Reason.COLLATERAL_INVALID, message)


@dataclass(frozen=True, slots=True)
class CollateralBundle:
    """One normalised bundle and the facts the store selects it by.

    ``tcb_eval_data_number`` is the smaller of the TCB info's and the QE
    identity's, as dcap-qvl reports it.
    """

    fmspc: str
    ca: str
    valid_from: int
    valid_until: int
    tcb_eval_data_number: int
    sha256: str
    canonical_json: str

    def is_valid_at(self, now: int) -> bool:
        """True when ``valid_from <= now < valid_until``."""
        return self.valid_from <= now < self.valid_until

    def to_dcap(self) -> Any:
        """The dcap-qvl ``QuoteCollateralV3`` object (about 60 µs to build)."""
        return dcap_qvl.QuoteCollateralV3.from_json(self.canonical_json)

    @classmethod
    def from_json(cls, text: str | bytes, *, ca: str | None = None) -> "CollateralBundle":
        """Normalise a bundle in dcap-qvl's JSON layout; see the module docstring.

        ``ca`` is needed only when the PCK CRL issuer is not one of Intel's PCK
        CAs (test PKIs). Raises AttestationError ``collateral_invalid``.
        """
        try:
            obj = json.loads(text)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise _invalid("collateral is not valid JSON") from exc
        except RecursionError as exc:
            raise _invalid("collateral JSON is nested too deeply") from exc
        if not isinstance(obj, dict):
            raise _invalid("collateral must be a JSON object")
        return _build(obj, ca)

    @classmethod
    def from_dcap(cls, collateral: Any, *, ca: str | None = None) -> "CollateralBundle":
        """Normalise a ``QuoteCollateralV3`` (for example from ``get_collateral``)."""
        return cls.from_json(str(collateral.to_json()), ca=ca)


def _build(obj: dict[str, Any], ca: str | None) -> CollateralBundle:
    expected = set(TEXT_FIELDS + CRL_FIELDS + SIGNATURE_FIELDS)
    missing = sorted(expected - set(obj))
    unknown = sorted(set(obj) - expected - DROPPED_FIELDS)
    if missing or unknown:
        raise _invalid(f"missing fields {missing}, unknown fields {unknown}")
    norm: dict[str, str] = {}
    for name in TEXT_FIELDS:
        if not isinstance(obj[name], str) or not obj[name]:
            raise _invalid(f"{name} must be a non-empty string")
        norm[name] = obj[name]
    crls = {name: _crl_der(name, obj[name]) for name in CRL_FIELDS}
    for name, der in crls.items():
        norm[name] = der.hex()
    for name in SIGNATURE_FIELDS:
        norm[name] = _signature_hex(name, obj[name])
    tcb_info = _json_member(norm["tcb_info"], "tcb_info", "TDX")
    qe_identity = _json_member(norm["qe_identity"], "qe_identity", "TD_QE")
    fmspc = tcb_info.get("fmspc")
    if not isinstance(fmspc, str) or len(fmspc) != 12 or not _HEX.issuperset(fmspc):
        raise _invalid("tcb_info.fmspc must be 12 hex characters")
    eval_numbers = [d.get("tcbEvaluationDataNumber") for d in (tcb_info, qe_identity)]
    if not all(isinstance(n, int) for n in eval_numbers):
        raise _invalid("tcbEvaluationDataNumber must be an integer in TCB info and QE identity")
    valid_from, valid_until = _window(norm, crls, tcb_info, qe_identity)
    canonical = json.dumps(norm, sort_keys=True, separators=(",", ":"))
    return CollateralBundle(
        fmspc=fmspc.lower(),
        ca=_ca(crls["pck_crl"], ca),
        valid_from=valid_from,
        valid_until=valid_until,
        tcb_eval_data_number=min(int(n) for n in eval_numbers if isinstance(n, int)),
        sha256=hashlib.sha256(canonical.encode()).hexdigest(),
        canonical_json=canonical,
    )


def _crl_der(name: str, value: object) -> bytes:
    if not isinstance(value, str) or not value.strip():
        raise _invalid(f"{name} must be a hex or PEM string")
    text = value.strip()
    if text.startswith("-----BEGIN"):
        try:
            return x509.load_pem_x509_crl(text.encode()).public_bytes(Encoding.DER)
        except ValueError as exc:
            raise _invalid(f"{name} is not a PEM CRL") from exc
    data = _unhex(name, text)
    if data[:1] != b"\x30" and _HEX.issuperset(data.decode("ascii", "replace")):
        data = _unhex(name, data.decode("ascii"))  # hex text of hex text: PCCS quirk
    try:
        x509.load_der_x509_crl(data)
    except ValueError as exc:
        raise _invalid(f"{name} is not a DER CRL") from exc
    return data


def _unhex(name: str, text: str) -> bytes:
    body = text[2:] if text[:2] in ("0x", "0X") else text
    try:
        return bytes.fromhex(body)
    except ValueError as exc:
        raise _invalid(f"{name} is not hex") from exc


def _signature_hex(name: str, value: object) -> str:
    if not isinstance(value, str):
        raise _invalid(f"{name} must be a hex string")
    data = _unhex(name, value.strip())
    if len(data) != 64:
        raise _invalid(f"{name} must be a 64-byte ECDSA P-256 signature")
    return data.hex()


def _json_member(text: str, name: str, expected_id: str) -> dict[str, Any]:
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _invalid(f"{name} is not JSON") from exc
    if not isinstance(obj, dict):
        raise _invalid(f"{name} must be a JSON object")
    if obj.get("id") != expected_id:
        raise AttestationError(
            Reason.COLLATERAL_MISMATCH, f"{name}.id is {obj.get('id')!r}, need {expected_id!r}"
        )
    return obj


def _timestamp(obj: dict[str, Any], field: str, name: str) -> int:
    value = obj.get(field)
    if not isinstance(value, str):
        raise _invalid(f"{name}.{field} must be an RFC 3339 date")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise _invalid(f"{name}.{field} is not an RFC 3339 date") from exc
    if parsed.tzinfo is None:
        raise _invalid(f"{name}.{field} has no time zone")
    return int(parsed.timestamp())


def _window(
    norm: dict[str, str],
    crls: dict[str, bytes],
    tcb_info: dict[str, Any],
    qe_identity: dict[str, Any],
) -> tuple[int, int]:
    starts = [
        _timestamp(tcb_info, "issueDate", "tcb_info"),
        _timestamp(qe_identity, "issueDate", "qe_identity"),
    ]
    ends = [
        _timestamp(tcb_info, "nextUpdate", "tcb_info"),
        _timestamp(qe_identity, "nextUpdate", "qe_identity"),
    ]
    for name, der in crls.items():
        crl = x509.load_der_x509_crl(der)
        if crl.next_update_utc is None:
            raise _invalid(f"{name} has no nextUpdate")
        starts.append(int(crl.last_update_utc.timestamp()))
        ends.append(int(crl.next_update_utc.timestamp()))
    for name in ("pck_crl_issuer_chain", "tcb_info_issuer_chain", "qe_identity_issuer_chain"):
        try:
            certs = x509.load_pem_x509_certificates(norm[name].encode())
        except CERTIFICATE_PARSE_ERRORS as exc:
            raise _invalid(f"{name} is not a PEM certificate chain") from exc
        starts.extend(int(c.not_valid_before_utc.timestamp()) for c in certs)
        ends.extend(int(c.not_valid_after_utc.timestamp()) for c in certs)
    valid_from, valid_until = max(starts), min(ends)
    if valid_from >= valid_until:
        raise _invalid("the bundle's validity window is empty")
    return valid_from, valid_until


def _ca(pck_crl: bytes, override: str | None) -> str:
    if override is not None:
        if override not in KNOWN_CAS:
            raise _invalid(f"ca must be one of {sorted(KNOWN_CAS)}")
        return override
    crl = x509.load_der_x509_crl(pck_crl)
    names = crl.issuer.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    cn = str(names[0].value) if names else ""
    if cn not in CA_BY_ISSUER_CN:
        raise _invalid(f"cannot tell the CA from PCK CRL issuer {cn!r}; pass ca explicitly")
    return CA_BY_ISSUER_CN[cn]
