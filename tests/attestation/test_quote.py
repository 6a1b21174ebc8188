"""parse_quote: TDX only, canonical bytes, and every field of the real samples."""

from typing import Any

import pytest

from worker_manager.attestation import AttestationError, Reason, parse_quote

from .conftest import load_quote_file
from .synthetic import DEBUG_TD_ATTRIBUTES, TestPki

TDX_SAMPLES = [
    "dcap-qvl/tdx_quote",
    "dcap-qvl/tdx_quote_outdated",
    "dcap-qvl/near-gas-test/quote_hex.txt",
    "near-mpc/quote.json",
    "secretvm/secretai_cpu_quote.txt",
    "secretvm/tdx_cpu_docker_check_quote.txt",
]
FIELD_NAMES = {
    "mr_td": "mrtd",
    "rt_mr0": "rtmr0",
    "rt_mr1": "rtmr1",
    "rt_mr2": "rtmr2",
    "rt_mr3": "rtmr3",
    "report_data": "report_data",
    "td_attributes": "td_attributes",
    "xfam": "xfam",
    "tee_tcb_svn": "tee_tcb_svn",
    "mr_seam": "mr_seam",
    "mr_config_id": "mr_config_id",
    "mr_owner": "mr_owner",
    "mr_owner_config": "mr_owner_config",
}


def code_of(raw: bytes) -> Reason:
    with pytest.raises(AttestationError) as info:
        parse_quote(raw)
    return info.value.code


@pytest.mark.parametrize("path", TDX_SAMPLES)
def test_every_field_matches_expected_json(path: str, expected: dict[str, Any]) -> None:
    case = expected[path]
    info = parse_quote(load_quote_file(path))
    assert info.version == case["quote_version"]
    assert info.fmspc == case["fmspc"].lower()
    assert info.ca == "platform"
    for their_name, our_name in FIELD_NAMES.items():
        assert getattr(info, our_name) == case["fields"][their_name], their_name
    assert info.debug is False


@pytest.mark.parametrize("path", TDX_SAMPLES)
def test_padding_is_cut_and_the_hash_is_of_the_canonical_bytes(path: str) -> None:
    raw = load_quote_file(path)
    info = parse_quote(raw)
    assert raw.startswith(info.raw)
    assert set(raw[len(info.raw) :]) <= {0}
    assert parse_quote(info.raw).sha256 == info.sha256
    assert parse_quote(raw + b"appended garbage").sha256 == info.sha256


def test_v4_quotes_are_4936_bytes_once_cut() -> None:
    assert len(load_quote_file("dcap-qvl/tdx_quote")) == 5006
    assert len(parse_quote(load_quote_file("dcap-qvl/tdx_quote")).raw) == 4936


def test_v5_quote_parses_with_its_body_descriptor() -> None:
    info = parse_quote(load_quote_file("dcap-qvl/tdx_quote_outdated"))
    assert info.version == 5
    assert len(info.raw) == 5006  # this sample has no padding


def test_sgx_quote_is_not_tdx() -> None:
    assert code_of(load_quote_file("dcap-qvl/sgx_quote")) is Reason.NOT_TDX


@pytest.mark.parametrize("length", [0, 10, 100, 700, 4000, 4935])
def test_truncated_quotes_are_malformed(length: int) -> None:
    raw = parse_quote(load_quote_file("dcap-qvl/tdx_quote")).raw
    assert code_of(raw[:length]) is Reason.MALFORMED_QUOTE


def test_a_tdx_header_with_another_version_is_unsupported() -> None:
    raw = bytearray(load_quote_file("dcap-qvl/tdx_quote"))
    raw[0:2] = (3).to_bytes(2, "little")
    assert code_of(bytes(raw)) in {Reason.UNSUPPORTED_QUOTE, Reason.MALFORMED_QUOTE}


def test_debug_bit_is_bit_zero_of_td_attributes(pki: TestPki) -> None:
    info = parse_quote(pki.quote(bytes(64), td_attributes=DEBUG_TD_ATTRIBUTES))
    assert info.debug is True
    assert info.td_attributes == DEBUG_TD_ATTRIBUTES.hex()


def test_pck_chain_window_is_read_from_the_quote() -> None:
    info = parse_quote(load_quote_file("secretvm/secretai_cpu_quote.txt"))
    assert info.pck_valid_from == 1769763178  # 2026-01-30T08:52:58Z, the PCK leaf's notBefore
    assert not info.pck_chain_valid_at(1751328000)
    assert info.pck_chain_valid_at(1786622400)
