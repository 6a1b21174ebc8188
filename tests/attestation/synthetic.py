"""Synthetic TDX quotes signed by a throw-away test PKI (tests only).

Real quotes cannot carry report_data we choose, so binding tests need quotes
we sign ourselves. :class:`TestPki` plays Intel: a root CA, a PCK CA, a PCK
leaf certificate, and a TCB signing certificate. :meth:`TestPki.quote`
rebuilds real quote A (``dcap-qvl/tdx_quote``) with our report_data and TD
attributes: the TD report body and QE report are A's, the attestation key is
fresh, the QE report is re-bound to it and re-signed with our PCK key, and the
PCK leaf copies A's Intel SGX extension (FMSPC B0C06F000000, CPU SVN, PCE SVN),
so A's real TCB info and QE identity still match. :meth:`TestPki.collateral`
re-signs A's TCB info and QE identity (dates moved, statuses optionally
changed) with the test TCB key and issues both CRLs.

dcap-qvl accepts these only with our root passed explicitly
(``verify_attestation_with_root_ca``); against Intel's root they fail.

Quote v4 layout used here: header (48) || TD report 1.0 (584) || u32 sig-data
length || ECDSA sig (64) || attestation key (64) || u16 type 6 || u32 size ||
QE report (384) || QE report sig (64) || u16 auth len || auth data ||
u16 type 5 || u32 size || PEM chain (PCK leaf, PCK CA, root).
"""

import datetime as dt
import hashlib
import json
import struct
from dataclasses import dataclass
from pathlib import Path

import dcap_qvl
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID

from worker_manager.attestation import CollateralBundle

DATA = Path(__file__).resolve().parents[1] / "data" / "attestation"
TEMPLATE_QUOTE = DATA / "dcap-qvl" / "tdx_quote"
TEMPLATE_COLLATERAL = DATA / "dcap-qvl" / "tdx_quote_collateral.json"
SGX_EXTENSION_OID = x509.ObjectIdentifier("1.2.840.113741.1.13.1")

WINDOW_START = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
WINDOW_END = dt.datetime(2026, 7, 1, tzinfo=dt.UTC)
NOW = int(dt.datetime(2026, 6, 15, tzinfo=dt.UTC).timestamp())
"""A time inside the synthetic collateral window (and before the real RIM chain expires)."""

CERTS_FROM = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
CERTS_UNTIL = dt.datetime(2040, 1, 1, tzinfo=dt.UTC)

HEADER_LEN = 48
BODY_LEN = 584
TD_ATTRIBUTES_OFFSET = 120  # within the TD report body
REPORT_DATA_OFFSET = 520  # within the TD report body
QE_REPORT_OFFSET = HEADER_LEN + BODY_LEN + 4 + 64 + 64 + 6
QE_REPORT_LEN = 384
DEFAULT_TD_ATTRIBUTES = bytes.fromhex("0000001000000000")  # SEPT_VE_DISABLE only
DEBUG_TD_ATTRIBUTES = bytes.fromhex("0100001000000000")


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "worker-manager tests"),
        ]
    )


def _certificate(
    subject: x509.Name,
    key: ec.EllipticCurvePrivateKey,
    issuer: x509.Name,
    issuer_key: ec.EllipticCurvePrivateKey,
    *,
    ca: bool,
    path_length: int | None = None,
    extra: x509.ExtensionType | None = None,
) -> x509.Certificate:
    usage = x509.KeyUsage(
        digital_signature=not ca,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(CERTS_FROM)
        .not_valid_after(CERTS_UNTIL)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=path_length), critical=True)
        .add_extension(usage, critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
            critical=False,
        )
    )
    if extra is not None:
        builder = builder.add_extension(extra, critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def raw_signature(key: ec.EllipticCurvePrivateKey, data: bytes) -> bytes:
    """ECDSA P-256/SHA-256 as the 64-byte r || s that quotes and collateral use."""
    r, s = decode_dss_signature(key.sign(data, ec.ECDSA(hashes.SHA256())))
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def _pem(*certs: x509.Certificate) -> str:
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs).decode()


def _iso(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class TestPki:
    """A test root CA with a PCK CA, a PCK leaf and a TCB signing certificate."""

    root_key: ec.EllipticCurvePrivateKey
    root: x509.Certificate
    pck_ca_key: ec.EllipticCurvePrivateKey
    pck_ca: x509.Certificate
    pck_key: ec.EllipticCurvePrivateKey
    pck: x509.Certificate
    tcb_key: ec.EllipticCurvePrivateKey
    tcb: x509.Certificate

    __test__ = False  # not a pytest test class

    @classmethod
    def create(cls) -> "TestPki":
        """Fresh keys; the PCK leaf copies quote A's Intel SGX extension."""
        template = dcap_qvl.parse_quote(TEMPLATE_QUOTE.read_bytes())
        real_leaf = x509.load_pem_x509_certificates(template.cert_chain_pem_bytes())[0]
        sgx_extension = real_leaf.extensions.get_extension_for_oid(SGX_EXTENSION_OID).value
        root_key, pck_ca_key, pck_key, tcb_key = _key(), _key(), _key(), _key()
        root_name = _name("Test SGX Root CA")
        root = _certificate(root_name, root_key, root_name, root_key, ca=True, path_length=1)
        pck_ca = _certificate(
            _name("Test PCK Platform CA"), pck_ca_key, root_name, root_key, ca=True, path_length=0
        )
        pck = _certificate(
            _name("Test PCK Certificate"),
            pck_key,
            pck_ca.subject,
            pck_ca_key,
            ca=False,
            extra=sgx_extension,
        )
        tcb = _certificate(_name("Test TCB Signing"), tcb_key, root_name, root_key, ca=False)
        return cls(root_key, root, pck_ca_key, pck_ca, pck_key, pck, tcb_key, tcb)

    @property
    def root_der(self) -> bytes:
        """The test root, as ``verify_attestation_with_root_ca`` wants it."""
        return self.root.public_bytes(serialization.Encoding.DER)

    def _crl(
        self,
        issuer: x509.Certificate,
        key: ec.EllipticCurvePrivateKey,
        start: dt.datetime = WINDOW_START,
        end: dt.datetime = WINDOW_END,
    ) -> bytes:
        crl = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(issuer.subject)
            .last_update(start)
            .next_update(end)
            .add_extension(x509.CRLNumber(1), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()),
                critical=False,
            )
            .sign(key, hashes.SHA256())
        )
        return crl.public_bytes(serialization.Encoding.DER)

    def collateral_json(
        self,
        *,
        tcb_status: str | None = None,
        advisory_ids: tuple[str, ...] = (),
        start: dt.datetime = WINDOW_START,
        end: dt.datetime = WINDOW_END,
    ) -> str:
        """A bundle in dcap-qvl's layout, valid from ``start`` (default WINDOW_START) to
        ``end`` (default WINDOW_END): issue dates, ``thisUpdate`` and ``nextUpdate``.

        ``tcb_status``/``advisory_ids``, when given, replace every platform TCB
        level's status and advisories (so the quote's level has them).
        """
        template = json.loads(TEMPLATE_COLLATERAL.read_text())
        tcb_info = json.loads(template["tcb_info"])
        qe_identity = json.loads(template["qe_identity"])
        for document in (tcb_info, qe_identity):
            document["issueDate"] = _iso(start)
            document["nextUpdate"] = _iso(end)
        if tcb_status is not None:
            for level in tcb_info["tcbLevels"]:
                level["tcbStatus"] = tcb_status
                level["advisoryIDs"] = list(advisory_ids)
        tcb_text = json.dumps(tcb_info, separators=(",", ":"))
        qe_text = json.dumps(qe_identity, separators=(",", ":"))
        return json.dumps(
            {
                "pck_crl_issuer_chain": _pem(self.pck_ca, self.root),
                "root_ca_crl": self._crl(self.root, self.root_key, start, end).hex(),
                "pck_crl": self._crl(self.pck_ca, self.pck_ca_key, start, end).hex(),
                "tcb_info_issuer_chain": _pem(self.tcb, self.root),
                "tcb_info": tcb_text,
                "tcb_info_signature": raw_signature(self.tcb_key, tcb_text.encode()).hex(),
                "qe_identity_issuer_chain": _pem(self.tcb, self.root),
                "qe_identity": qe_text,
                "qe_identity_signature": raw_signature(self.tcb_key, qe_text.encode()).hex(),
            }
        )

    def collateral(
        self, *, tcb_status: str | None = None, advisory_ids: tuple[str, ...] = ()
    ) -> CollateralBundle:
        """:meth:`collateral_json` normalised into a bundle (CA ``platform``)."""
        text = self.collateral_json(tcb_status=tcb_status, advisory_ids=advisory_ids)
        return CollateralBundle.from_json(text, ca="platform")

    def quote(self, report_data: bytes, *, td_attributes: bytes = DEFAULT_TD_ATTRIBUTES) -> bytes:
        """A TDX v4 quote with A's measurements and our ``report_data``, signed by this PKI."""
        if len(report_data) != 64 or len(td_attributes) != 8:
            raise ValueError("report_data is 64 bytes, td_attributes 8")
        template = TEMPLATE_QUOTE.read_bytes()
        header = template[:HEADER_LEN]
        body = bytearray(template[HEADER_LEN : HEADER_LEN + BODY_LEN])
        body[REPORT_DATA_OFFSET : REPORT_DATA_OFFSET + 64] = report_data
        body[TD_ATTRIBUTES_OFFSET : TD_ATTRIBUTES_OFFSET + 8] = td_attributes
        attestation_key = _key()
        public = attestation_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )[1:]
        auth_data = bytes(32)
        qe_report = bytearray(template[QE_REPORT_OFFSET : QE_REPORT_OFFSET + QE_REPORT_LEN])
        qe_report[320:384] = hashlib.sha256(public + auth_data).digest() + bytes(32)
        chain = _pem(self.pck, self.pck_ca, self.root).encode()
        certification = (
            bytes(qe_report)
            + raw_signature(self.pck_key, bytes(qe_report))
            + struct.pack("<H", len(auth_data))
            + auth_data
            + struct.pack("<HI", 5, len(chain))
            + chain
        )
        signed = header + bytes(body)
        signature_data = (
            raw_signature(attestation_key, signed)
            + public
            + struct.pack("<HI", 6, len(certification))
            + certification
        )
        return signed + struct.pack("<I", len(signature_data)) + signature_data
