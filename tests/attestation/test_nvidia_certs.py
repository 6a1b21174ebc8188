"""Certificate chains on cryptography's verifier and the FWID on asn1crypto, against the old code.

The hand-written chain walk and FWID byte-suffix match (deleted in issue 11) were
run over every case below; ``OLD_CHAIN`` and ``OLD_FWIDS`` are what they decided.
``DELIBERATE_CHAIN`` lists where the library's path validation decides otherwise on
purpose. Synthetic chains come from a throw-away P-384 PKI shaped like NVIDIA's.
"""

import datetime as dt
from collections.abc import Sequence

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID
from hypothesis import given, settings
from hypothesis import strategies as st

from worker_manager.attestation.errors import CERTIFICATE_PARSE_ERRORS
from worker_manager.attestation.nvidia.certs import (
    ChainError,
    device_root,
    rim_root,
    verify_chain,
    verify_chain_links,
)
from worker_manager.attestation.nvidia.dice import (
    CompositeDeviceId,
    DiceTcbInfo,
    fwid_from_certificate,
)

from .nvidia_samples import HP, NOW, RIM_CHAIN, SV, SV_FWID

DICE_OID = x509.ObjectIdentifier("2.23.133.5.4.1")


FROM = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
UNTIL = dt.datetime(2040, 1, 1, tzinfo=dt.UTC)
CA_USAGE = {
    "digital_signature": False,
    "content_commitment": False,
    "key_encipherment": False,
    "data_encipherment": False,
    "key_agreement": False,
    "key_cert_sign": True,
    "crl_sign": True,
    "encipher_only": False,
    "decipher_only": False,
}
LEAF_USAGE = {**CA_USAGE, "digital_signature": True, "key_cert_sign": False, "crl_sign": False}
UNKNOWN_CRITICAL = (
    (x509.UnrecognizedExtension(x509.ObjectIdentifier("1.3.6.1.4.1.55555.1"), b"\x05\x00"), True),
)


def certificate(
    cn: str,
    key: ec.EllipticCurvePrivateKey,
    issuer_cn: str,
    issuer_key: ec.EllipticCurvePrivateKey,
    *,
    ca: bool = True,
    ca_critical: bool = True,
    path_length: int | None = None,
    usage: dict[str, bool] | None = None,
    extra: Sequence[tuple[x509.ExtensionType, bool]] = (),
    until: dt.datetime = UNTIL,
    basic: bool = True,
) -> x509.Certificate:
    """A P-384 certificate shaped like NVIDIA's (SKI, AKI, critical keyUsage), faults on request."""
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer_cn)]))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(FROM)
        .not_valid_after(until)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
            critical=False,
        )
    )
    if basic:
        builder = builder.add_extension(
            x509.BasicConstraints(ca=ca, path_length=path_length), critical=ca_critical
        )
    if usage is not None:
        builder = builder.add_extension(x509.KeyUsage(**usage), critical=True)
    for extension, critical in extra:
        builder = builder.add_extension(extension, critical=critical)
    return builder.sign(issuer_key, hashes.SHA384())


def synthetic_chain(
    root_path_length: int | None = None,
    ca: dict[str, object] | None = None,
    leaf: dict[str, object] | None = None,
) -> tuple[list[x509.Certificate], x509.Certificate]:
    """([leaf, CA], root) from a throw-away PKI; ``ca``/``leaf`` override certificate() options."""
    keys = [ec.generate_private_key(ec.SECP384R1()) for _ in range(3)]
    root = certificate(
        "root", keys[0], "root", keys[0], usage=CA_USAGE, path_length=root_path_length
    )
    middle = certificate("ca", keys[1], "root", keys[0], **{"usage": CA_USAGE, **(ca or {})})
    end = certificate(
        "leaf",
        keys[2],
        "ca",
        keys[1],
        **{"ca": False, "basic": False, "usage": LEAF_USAGE, **(leaf or {})},
    )
    return [end, middle], root


SYNTHETIC: dict[str, dict[str, object]] = {
    "good": {},
    "ca-not-a-ca": {"ca": {"ca": False}},
    "ca-without-basic-constraints": {"ca": {"basic": False}},
    "root-path-length-0": {"root_path_length": 0},
    "ca-may-not-sign-certificates": {"ca": {"usage": LEAF_USAGE}},
    "unknown-critical-extension-on-leaf": {"leaf": {"extra": UNKNOWN_CRITICAL}},
    "unknown-critical-extension-on-ca": {"ca": {"extra": UNKNOWN_CRITICAL}},
    "ca-expired": {"ca": {"until": dt.datetime(2024, 1, 1, tzinfo=dt.UTC)}},
    "leaf-without-key-usage": {"leaf": {"usage": None}},
    "leaf-key-usage-without-digital-signature": {
        "leaf": {"usage": {**LEAF_USAGE, "digital_signature": False, "key_agreement": True}}
    },
    "leaf-is-a-ca": {
        "leaf": {"ca": True, "basic": True, "usage": {**CA_USAGE, "digital_signature": True}}
    },
    "ca-without-key-usage": {"ca": {"usage": None}},
    "ca-basic-constraints-not-critical": {"ca": {"ca_critical": False}},
}

ChainCase = tuple[Sequence[x509.Certificate], x509.Certificate, int]


def chain_case(name: str) -> ChainCase:
    """(chain, root, now) of one device-chain case; ``synthetic/...`` ones use a fresh test PKI."""
    if name.startswith("synthetic/"):
        chain, root = synthetic_chain(**SYNTHETIC[name.removeprefix("synthetic/")])
        return chain, root, NOW
    cases: dict[str, ChainCase] = {
        "secretvm": (SV, device_root(), NOW),
        "hopper": (HP, device_root(), NOW),
        "secretvm-no-root": (SV[:-1], device_root(), NOW),
        "secretvm-leaf-only": (SV[:1], device_root(), NOW),
        "empty": ([], device_root(), NOW),
        "secretvm-rim-root": (SV, rim_root(), NOW),
        "secretvm-at-0": (SV, device_root(), 0),
        "secretvm-year-10000": (SV, device_root(), 253402300800),
        "secretvm-last-second": (SV, device_root(), 253402300799),
        "mixed-brom": ([SV[0], HP[1], *SV[2:]], device_root(), NOW),
        "hopper-leaf-secretvm-rest": ([HP[0], *SV[1:]], device_root(), NOW),
        "reversed": (list(reversed(SV)), device_root(), NOW),
        "shuffled-intermediates": ([SV[0], SV[2], SV[1], SV[3]], device_root(), NOW),
        "duplicate-leaf": ([SV[0], SV[0], *SV[1:]], device_root(), NOW),
        "intermediate-as-leaf": (SV[1:], device_root(), NOW),
        "root-only": (SV[-1:], device_root(), NOW),
        "rim-chain-to-device-root": (RIM_CHAIN, device_root(), NOW),
    }
    return cases[name]


CHAIN_CASES = [
    "secretvm",
    "hopper",
    "secretvm-no-root",
    "secretvm-leaf-only",
    "empty",
    "secretvm-rim-root",
    "secretvm-at-0",
    "secretvm-year-10000",
    "secretvm-last-second",
    "mixed-brom",
    "hopper-leaf-secretvm-rest",
    "reversed",
    "shuffled-intermediates",
    "duplicate-leaf",
    "intermediate-as-leaf",
    "root-only",
    "rim-chain-to-device-root",
    *(f"synthetic/{name}" for name in SYNTHETIC),
]
OLD_CHAIN: dict[str, bool] = {
    "secretvm": True,
    "hopper": True,
    "secretvm-no-root": True,
    "secretvm-leaf-only": False,
    "empty": False,
    "secretvm-rim-root": False,
    "secretvm-at-0": False,
    "secretvm-year-10000": False,
    "secretvm-last-second": True,
    "mixed-brom": False,
    "hopper-leaf-secretvm-rest": False,
    "reversed": False,
    "shuffled-intermediates": False,
    "duplicate-leaf": False,
    "intermediate-as-leaf": True,
    "root-only": False,
    "rim-chain-to-device-root": False,
    "synthetic/good": True,
    "synthetic/ca-not-a-ca": False,
    "synthetic/ca-without-basic-constraints": False,
    "synthetic/root-path-length-0": False,
    "synthetic/ca-may-not-sign-certificates": False,
    "synthetic/unknown-critical-extension-on-leaf": False,
    "synthetic/unknown-critical-extension-on-ca": False,
    "synthetic/ca-expired": False,
    "synthetic/leaf-without-key-usage": True,
    "synthetic/leaf-key-usage-without-digital-signature": True,
    "synthetic/leaf-is-a-ca": True,
    "synthetic/ca-without-key-usage": True,
    "synthetic/ca-basic-constraints-not-critical": True,
}
"""True where the hand-written chain walk accepted the case."""

DELIBERATE_CHAIN = {
    "shuffled-intermediates": (True, "the library builds the path: intermediates in any order"),
    "duplicate-leaf": (True, "the library builds the path: a repeated certificate is unused"),
    "intermediate-as-leaf": (False, "a CA certificate is not accepted as the leaf"),
    "synthetic/leaf-is-a-ca": (False, "a CA certificate is not accepted as the leaf"),
    "synthetic/leaf-key-usage-without-digital-signature": (
        False,
        "a leaf whose keyUsage forbids signing cannot sign SPDM measurements",
    ),
    "synthetic/ca-without-key-usage": (False, "web-PKI CA profile: keyUsage keyCertSign required"),
    "synthetic/ca-basic-constraints-not-critical": (
        False,
        "web-PKI CA profile: basicConstraints must be critical",
    ),
}


@pytest.mark.parametrize("name", CHAIN_CASES)
def test_device_chain_decisions_are_those_of_the_hand_written_walk(name: str) -> None:
    assert sorted(OLD_CHAIN) == sorted(CHAIN_CASES)
    chain, root, now = chain_case(name)
    expected = OLD_CHAIN[name]
    if name in DELIBERATE_CHAIN:
        expected = DELIBERATE_CHAIN[name][0]
        assert expected != OLD_CHAIN[name]  # a deliberate difference really differs
    try:
        path = verify_chain(chain, root, now=now)
    except ChainError:
        assert not expected
        return
    assert expected
    assert path[0] == chain[0]
    assert path[-1] == root


@pytest.mark.parametrize("name", sorted(SYNTHETIC))
def test_rim_chain_links_refuse_what_the_hand_written_walk_refused(name: str) -> None:
    """verify_chain_links is the old walk kept for RIM chains: its dateless decisions must hold."""
    chain, root = synthetic_chain(**SYNTHETIC[name])
    # the walk leaves dates to the caller, so the expired CA is the one case it passes
    old_without_dates = OLD_CHAIN[f"synthetic/{name}"] or name == "ca-expired"
    try:
        verify_chain_links(chain, root)
    except ChainError:
        assert not old_without_dates
        return
    assert old_without_dates


def test_the_library_verifier_still_refuses_nvidias_rim_chain() -> None:
    """Why RIM chains need verify_chain_links; when this fails, move them to verify_chain."""
    with pytest.raises(ChainError, match="validity dates between 1950 and 2049 must be UtcTime"):
        verify_chain(RIM_CHAIN, rim_root(), now=NOW)
    path = verify_chain_links(RIM_CHAIN, rim_root())
    assert path[-1] == rim_root()
    with pytest.raises(ChainError):
        verify_chain_links(RIM_CHAIN, device_root())


def test_device_chain_time_is_the_time_passed_in() -> None:
    assert verify_chain(SV, device_root(), now=1646092800)[-1] == device_root()  # latest notBefore
    with pytest.raises(ChainError, match="not valid at validation time"):
        verify_chain(SV, device_root(), now=1646092799)
    with pytest.raises(ChainError, match="outside the range"):
        verify_chain(SV, device_root(), now=10**12)


@pytest.mark.parametrize("index", [1, 2, 3])
def test_a_device_ca_with_a_flipped_byte_verifies_only_if_what_it_signs_is_unchanged(
    index: int,
) -> None:
    """Only the signature's BIT STRING header lies outside the signed bytes (unused-bit count)."""
    der = SV[index].public_bytes(Encoding.DER)
    accepted = 0
    for offset in range(len(der)):
        tampered = bytearray(der)
        tampered[offset] ^= 0x01
        try:
            cert = x509.load_der_x509_certificate(bytes(tampered))
            verify_chain([*SV[:index], cert, *SV[index + 1 :]], device_root(), now=NOW)
        except CERTIFICATE_PARSE_ERRORS:  # ChainError, or what the caller reports as malformed
            continue
        accepted += 1
        assert cert.tbs_certificate_bytes == SV[index].tbs_certificate_bytes
        assert cert.signature == SV[index].signature
    assert accepted <= 1


# ---------------------------------------------------------------- FWID (asn1crypto)

SV_FWID_HEX = (
    "0686bfc4f127bad1e4786d89e3f96427a9590692e1a81018"
    "4834d269eff9f8b000e295d843ed9cf787d108c0147ae92f"
)
HP_FWID_HEX = (
    "956ecf09ee4191f115224d1cb09e76b897b77591c3ea7c2a"
    "22e1c50546aeba7961cd67edbb4a274e294fe1402036211d"
)

OLD_FWIDS: dict[str, list[str | None]] = {
    "secretvm": [SV_FWID_HEX, None, None, None, None],
    "hopper": [HP_FWID_HEX, None, None, None, None],
    "rim": [None, None, None, None],
}


def test_fwids_are_those_the_byte_suffix_match_found() -> None:
    for label, chain in (("secretvm", SV), ("hopper", HP), ("rim", RIM_CHAIN)):
        got = [None if (f := fwid_from_certificate(c)) is None else f.hex() for c in chain]
        assert got == OLD_FWIDS[label]
    assert OLD_FWIDS["secretvm"][0] == SV_FWID.hex()


def leaf_with_dice(value: bytes) -> x509.Certificate:
    key = ec.generate_private_key(ec.SECP384R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "leaf")])
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(FROM)
        .not_valid_after(UNTIL)
        .add_extension(x509.UnrecognizedExtension(DICE_OID, value), critical=False)
        .sign(key, hashes.SHA384())
    )


def test_the_fwid_is_read_from_either_dice_layout() -> None:
    nvidia = next(e for e in SV[0].extensions if e.oid == DICE_OID).value
    assert isinstance(nvidia, x509.UnrecognizedExtension)
    parsed = CompositeDeviceId.load(nvidia.value)
    assert parsed["version"].native == 1
    assert parsed["fwid"]["digest"].native == SV_FWID
    tcb_info = DiceTcbInfo(
        {
            "vendor": "NVIDIA",
            "fwids": [
                {"hash_alg": "sha256", "digest": b"\x02" * 32},
                {"hash_alg": "sha384", "digest": b"\x03" * 48},
            ],
        }
    )
    assert fwid_from_certificate(leaf_with_dice(tcb_info.dump())) == b"\x03" * 48
    no_sha384 = DiceTcbInfo({"fwids": [{"hash_alg": "sha256", "digest": b"\x02" * 32}]})
    assert fwid_from_certificate(leaf_with_dice(no_sha384.dump())) is None
    short = DiceTcbInfo({"fwids": [{"hash_alg": "sha384", "digest": b"\x02" * 47}]})
    assert fwid_from_certificate(leaf_with_dice(short.dump())) is None


NVIDIA_DICE = bytes(next(e for e in SV[0].extensions if e.oid == DICE_OID).value.value)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, len(NVIDIA_DICE) - 1), st.integers(0, 255)), min_size=1, max_size=3
    )
)
def test_a_damaged_dice_extension_gives_no_fwid_or_a_parsed_one(
    edits: list[tuple[int, int]],
) -> None:
    data = bytearray(NVIDIA_DICE)
    for offset, byte in edits:
        data[offset] = byte
    fwid = fwid_from_certificate(leaf_with_dice(bytes(data)))
    assert fwid is None or (len(fwid) == 48 and fwid in bytes(data))
