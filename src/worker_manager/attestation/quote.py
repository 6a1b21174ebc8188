"""Parse a quote with dcap-qvl, insist on TDX, and cut it to its canonical bytes.

dcap-qvl parses SGX and TDX quotes alike and ignores bytes after the quote
(real v4 quotes arrive zero-padded to 5006 bytes; appended garbage still
verifies). So the quote is cut to its parsed length (header + body + 4 +
signature-data length) before it is hashed, stored or verified: two reports
that differ only in trailing bytes are the same quote.

Even canonical bytes are not a unique name for one attestation: the PCK
certificate chain inside the quote is not covered by the quote signature, and
PEM tolerates variations (a newline turned into another whitespace decodes to
the same certificate). ``body_sha256``, the hash of header || TD report (the
exact bytes the attestation key signs), is the stable identity to de-duplicate
on; ``sha256`` names the exact bytes received.

All hex in :class:`QuoteInfo` is lowercase, ``fmspc`` included.
"""

import hashlib
from dataclasses import dataclass
from typing import Any

import dcap_qvl
from cryptography import x509

from worker_manager.attestation.errors import CERTIFICATE_PARSE_ERRORS, AttestationError, Reason

TDX_TEE_TYPE = 0x81
TDX_VERSIONS = (4, 5)
HEADER_LEN = 48
TD_REPORT10_LEN = 584
V5_BODY_DESCRIPTOR_LEN = 6  # u16 body type + u32 body size
SIG_LEN_FIELD = 4


@dataclass(frozen=True, slots=True)
class QuoteInfo:
    """What a TDX quote claims, parsed but not yet verified."""

    raw: bytes
    sha256: str
    body_sha256: str
    version: int
    mrtd: str
    rtmr0: str
    rtmr1: str
    rtmr2: str
    rtmr3: str
    report_data: str
    td_attributes: str
    mr_config_id: str
    mr_owner: str
    mr_owner_config: str
    mr_seam: str
    tee_tcb_svn: str
    xfam: str
    fmspc: str
    ca: str
    pck_valid_from: int | None = None
    pck_valid_until: int | None = None

    @property
    def debug(self) -> bool:
        """TUD.DEBUG: bit 0 of the first TD attributes byte."""
        return bool(bytes.fromhex(self.td_attributes)[0] & 1)

    def pck_chain_valid_at(self, now: int) -> bool:
        """Whether every certificate of the embedded PCK chain is valid at ``now``.

        True when the quote carries no parseable chain: dcap-qvl then decides.
        """
        if self.pck_valid_from is None or self.pck_valid_until is None:
            return True
        return self.pck_valid_from <= now <= self.pck_valid_until

    @property
    def report_data_bytes(self) -> bytes:
        """The 64 report_data bytes (what the TD chose to bind)."""
        return bytes.fromhex(self.report_data)

    @property
    def rtmrs(self) -> tuple[str, str, str, str]:
        """RTMR0-3 in order."""
        return self.rtmr0, self.rtmr1, self.rtmr2, self.rtmr3


def _signed_length(raw: bytes) -> int:
    """Length of header + TD report body: the bytes the attestation key signs."""
    if len(raw) < HEADER_LEN + V5_BODY_DESCRIPTOR_LEN:
        raise AttestationError(Reason.MALFORMED_QUOTE, "quote is shorter than its header")
    version = int.from_bytes(raw[0:2], "little")
    if version == 5:
        body_len = int.from_bytes(raw[HEADER_LEN + 2 : HEADER_LEN + 6], "little")
        return HEADER_LEN + V5_BODY_DESCRIPTOR_LEN + body_len
    return HEADER_LEN + TD_REPORT10_LEN


def canonical_length(raw: bytes) -> int:
    """Length of the quote proper: header + body + signature length field + signature data.

    Raises ``malformed_quote`` when ``raw`` is shorter than its own fields say.
    """
    body_end = _signed_length(raw)
    if len(raw) < body_end + SIG_LEN_FIELD:
        raise AttestationError(Reason.MALFORMED_QUOTE, "quote ends inside its body")
    sig_len = int.from_bytes(raw[body_end : body_end + SIG_LEN_FIELD], "little")
    end = body_end + SIG_LEN_FIELD + sig_len
    if len(raw) < end:
        raise AttestationError(Reason.MALFORMED_QUOTE, "quote ends inside its signature data")
    return end


def _pck_window(parsed: Any) -> tuple[int | None, int | None]:
    pem = parsed.cert_chain_pem_bytes()
    if not pem:
        return None, None
    try:
        certs = x509.load_pem_x509_certificates(bytes(pem))
    except CERTIFICATE_PARSE_ERRORS:
        return None, None
    return (
        max(int(c.not_valid_before_utc.timestamp()) for c in certs),
        min(int(c.not_valid_after_utc.timestamp()) for c in certs),
    )


def _hex(report: Any, name: str) -> str:
    return bytes(getattr(report, name)).hex()


def parse_quote(raw: bytes) -> QuoteInfo:
    """Parse ``raw`` (padding allowed), require TDX v4/v5, return the canonical quote.

    Codes: ``malformed_quote``, ``not_tdx`` (SGX or any other TEE) and
    ``unsupported_quote`` (TDX with a version other than 4 or 5).
    """
    try:
        parsed = dcap_qvl.parse_quote(bytes(raw))
    except ValueError as exc:
        raise AttestationError(Reason.MALFORMED_QUOTE, str(exc)) from exc
    header = parsed.header
    if int(header.tee_type) != TDX_TEE_TYPE or not parsed.is_tdx():
        raise AttestationError(
            Reason.NOT_TDX, f"tee_type 0x{int(header.tee_type):x} is not TDX (0x81)"
        )
    version = int(header.version)
    if version not in TDX_VERSIONS:
        raise AttestationError(Reason.UNSUPPORTED_QUOTE, f"TDX quote version {version}")
    canonical = bytes(raw[: canonical_length(raw)])
    try:
        fmspc = str(parsed.fmspc()).lower()
        ca = str(parsed.ca()).lower()
    except ValueError as exc:
        if not parsed.cert_chain_pem_bytes():
            raise AttestationError(
                Reason.UNSUPPORTED_QUOTE, f"the quote carries no PCK certificate chain: {exc}"
            ) from exc
        raise AttestationError(
            Reason.CERT_CHAIN_INVALID, f"the quote's PCK certificate is unreadable: {exc}"
        ) from exc
    report = parsed.report
    pck_from, pck_until = _pck_window(parsed)
    return QuoteInfo(
        raw=canonical,
        sha256=hashlib.sha256(canonical).hexdigest(),
        body_sha256=hashlib.sha256(canonical[: _signed_length(canonical)]).hexdigest(),
        version=version,
        mrtd=_hex(report, "mr_td"),
        rtmr0=_hex(report, "rt_mr0"),
        rtmr1=_hex(report, "rt_mr1"),
        rtmr2=_hex(report, "rt_mr2"),
        rtmr3=_hex(report, "rt_mr3"),
        report_data=_hex(report, "report_data"),
        td_attributes=_hex(report, "td_attributes"),
        mr_config_id=_hex(report, "mr_config_id"),
        mr_owner=_hex(report, "mr_owner"),
        mr_owner_config=_hex(report, "mr_owner_config"),
        mr_seam=_hex(report, "mr_seam"),
        tee_tcb_svn=_hex(report, "tee_tcb_svn"),
        xfam=_hex(report, "xfam"),
        fmspc=fmspc,
        ca=ca,
        pck_valid_from=pck_from,
        pck_valid_until=pck_until,
    )
