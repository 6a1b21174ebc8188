"""Worker addresses, worker types and URLs: canonical forms and refusals."""

import ipaddress
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from worker_manager.contract.error import InvalidIpAddress, InvalidWorkerType
from worker_manager.contract.validate import (
    canonical_worker_address,
    render_url_template,
    worker_type,
)


@pytest.mark.parametrize(
    ("given_text", "canonical"),
    [
        ("10.0.0.1", "10.0.0.1"),
        ("10.0.0.1:443", "10.0.0.1:443"),
        ("10.0.0.1:00443", "10.0.0.1:443"),
        ("::ffff:10.0.0.1", "10.0.0.1"),
        ("[::ffff:10.0.0.1]:80", "10.0.0.1:80"),
        ("2001:DB8::0:1", "2001:db8::1"),
        ("[2001:db8::1]", "2001:db8::1"),
        ("[2001:db8::1]:8443", "[2001:db8::1]:8443"),
        ("::1", "::1"),
        ("127.0.0.1", "127.0.0.1"),
        ("Gpu-1.Example.COM.", "gpu-1.example.com"),
        ("gpu-1.example.com:21434", "gpu-1.example.com:21434"),
        ("localhost", "localhost"),
        ("xn--bcher-kva.example", "xn--bcher-kva.example"),
    ],
)
def test_addresses_have_one_canonical_form(given_text: str, canonical: str) -> None:
    assert canonical_worker_address(given_text) == canonical


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "is empty"),
        ("   ", "is empty"),
        ("https://10.0.0.1", "looks like a URL"),
        ("10.0.0.1/24", "looks like a URL"),
        ("fe80::1%eth0", "zone identifiers"),
        ("[2001:db8::1", "without closing"),
        ("[2001:db8::1]x", "unexpected"),
        ("[nothex::1]:80", "not an IPv6 address"),
        ("2001:db8::1:8443:1:2:3:4", "not an IPv6 address"),
        ("10.0.0.1:", "is not a number"),
        ("10.0.0.1:http", "is not a number"),
        ("10.0.0.1:65536", "outside 1-65535"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("255.255.255.255", "broadcast"),
        ("1.2.3", "neither a valid IPv4"),
        ("999.1.1.1", "neither a valid IPv4"),
        ("a..b", "empty label"),
        ("-a.example", "letters, digits and inner hyphens"),
        ("a_b.example", "letters, digits and inner hyphens"),
        ("bücher.example", "punycode"),
        ("a" * 64 + ".example", "longer than 63"),
        (".".join(["a" * 60] * 5), "longer than"),
    ],
)
def test_bad_addresses_are_refused_with_a_reason(text: str, reason: str) -> None:
    with pytest.raises(InvalidIpAddress) as err:
        canonical_worker_address(text)
    assert reason in str(err.value)


@given(st.ip_addresses(), st.one_of(st.none(), st.integers(1, 65535)))
def test_canonical_addresses_are_stable(
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address, port: int | None
) -> None:
    if ip.is_unspecified or ip.is_multicast or str(ip) == "255.255.255.255":
        return
    mapped = isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None
    if (
        isinstance(ip, ipaddress.IPv6Address)
        and mapped
        and ip.ipv4_mapped is not None
        and (
            ip.ipv4_mapped.is_unspecified
            or ip.ipv4_mapped.is_multicast
            or str(ip.ipv4_mapped) == "255.255.255.255"
        )
    ):
        return
    text = str(ip) if port is None else (f"[{ip}]:{port}" if ip.version == 6 else f"{ip}:{port}")
    canonical = canonical_worker_address(text)
    assert canonical_worker_address(canonical) == canonical
    assert canonical_worker_address(text.upper()) == canonical


@pytest.mark.parametrize("ok", ["llama3.3:70b", "meta-llama/Llama-3.1-8B", "a", "m+x@v1_2"])
def test_worker_types_in_the_alphabet_pass(ok: str) -> None:
    assert worker_type(ok) == ok


@pytest.mark.parametrize("bad", ["", " ", "a b", "_a", "a\n", "é", "a" * 65, "a;b"])
def test_worker_types_outside_the_alphabet_fail(bad: str) -> None:
    with pytest.raises(InvalidWorkerType):
        worker_type(bad)


def test_url_templates_bracket_ipv6() -> None:
    assert render_url_template("https://{address}", "2001:db8::1") == "https://[2001:db8::1]"
    assert (
        render_url_template("https://{host}:1", "[2001:db8::1]:8443") == "https://[2001:db8::1]:1"
    )
    assert render_url_template("http://{host}/x", "a.example:80") == "http://a.example/x"


def _parsed_in_full(text: str) -> str:
    """What ``canonical_worker_address`` gives without its dotted-quad shortcut."""
    from worker_manager.contract import validate

    original = validate._PLAIN_UNICAST_V4
    validate._PLAIN_UNICAST_V4 = re.compile(r"(?!)")  # matches nothing
    try:
        return canonical_worker_address(text)
    finally:
        validate._PLAIN_UNICAST_V4 = original


def _assert_same_as_full_parse(text: str) -> None:
    """The shortcut gives what the full parse gives: the same text, or a refusal."""
    try:
        expected: str | None = _parsed_in_full(text)
    except InvalidIpAddress:
        expected = None
    if expected is None:
        with pytest.raises(InvalidIpAddress):
            canonical_worker_address(text)
    else:
        assert canonical_worker_address(text) == expected


_octets = st.integers(0, 255).map(str) | st.sampled_from(["00", "01", "007", "256", "-1", ""])


@given(st.lists(_octets, min_size=3, max_size=5), st.sampled_from(["", ":80", ":0"]))
def test_the_dotted_quad_shortcut_answers_as_the_full_parse(octets: list[str], port: str) -> None:
    _assert_same_as_full_parse(".".join(octets) + port)


@pytest.mark.parametrize(
    "edge",
    ["0.0.0.0", "224.0.0.1", "239.255.255.255", "240.0.0.1", "255.255.255.255", "223.255.255.255",
     "1.0.0.0", "0.1.2.3", "127.0.0.1", "10.0.0.01"],
)  # fmt: skip
def test_the_shortcut_leaves_every_special_address_to_the_full_parse(edge: str) -> None:
    _assert_same_as_full_parse(edge)
