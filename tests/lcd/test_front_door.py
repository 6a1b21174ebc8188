"""The encrypted query served by the lean front door answers byte for byte as the
full LCD route does: for answers the front door gives itself (ready or computed)
and for every request it passes on (refusals, aliases, another contract).

AES-SIV is deterministic, so one envelope sent to both servers must give the same
bytes; two servers on one node, one with the front door and one without it."""

import asyncio
import base64
import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.conftest import ADMIN, OTHER, register_msg
from tests.helpers import ex
from tests.lcd.conftest import Lcd
from tests.server_thread import ServerThread
from worker_manager.api.hot_secret import PATH_PREFIX, encrypted_query
from worker_manager.node import Node
from worker_manager.secret.aliases import SECRET_AI_SDK_DEFAULT_CONTRACT
from worker_manager.secret.encryption import X25519KeyPair, decrypt_query_result, seal_envelope


@pytest.fixture
def both(lcd_node: Node) -> Iterator[tuple[Lcd, Lcd]]:
    client_key = X25519KeyPair(bytes(range(32, 64)))
    with (
        ServerThread(lcd_node, front_door=True) as fast,
        ServerThread(lcd_node, front_door=False) as full,
    ):
        yield Lcd(fast, lcd_node, client_key), Lcd(full, lcd_node, client_key)


def _same(both: tuple[Lcd, Lcd], path_and_query: str) -> httpx.Response:
    fast, full = both
    a = httpx.get(fast.url + path_and_query, timeout=10)
    b = httpx.get(full.url + path_and_query, timeout=10)
    assert (a.status_code, a.headers["content-type"], a.content) == (
        b.status_code,
        b.headers["content-type"],
        b.content,
    )
    return a


def _path(lcd: Lcd, envelope: bytes, contract: str | None = None) -> str:
    return lcd.query_url(envelope, contract).removeprefix(lcd.url)


@pytest.mark.parametrize(
    "msg",
    [
        {"get_models": {}},
        {"get_u_r_ls": {"model": "llama3"}},
        {"get_u_r_ls": {"model": "llama3", "subscriber": "02" + "ab" * 32}},
        {"get_config": {}},  # kept per height, not per serving version
        {"get_worker": {"ip_address": "10.0.0.1"}},
        {"get_liveliness_challenge": {}},
    ],
)
def test_answers_are_the_full_routes_bytes(both: tuple[Lcd, Lcd], msg: dict[str, Any]) -> None:
    fast, _ = both
    ex(fast.node, ADMIN, register_msg("10.0.0.1", worker_type="llama3"))
    envelope, ctx = fast.seal(msg)
    answer = _same(both, _path(fast, envelope))
    assert answer.status_code == 200
    assert decrypt_query_result(ctx, answer.json()["data"]) == fast.node.query(
        {next(iter(msg)): msg[next(iter(msg))]}
    )


def test_refusals_and_other_addresses_are_the_full_routes_answers(
    both: tuple[Lcd, Lcd],
) -> None:
    fast, _ = both
    good, _ = fast.seal({"get_models": {}})
    contract = fast.contract
    prefix = f"/compute/v1beta1/query/{contract}"
    encoded = base64.b64encode(good).decode()
    foreign, _ = seal_envelope(
        fast.client_key, X25519KeyPair(b"\x01" * 32).public_key, fast.node.identity.code_hash, b"{}"
    )
    refused, _ = fast.seal({"get_worker": {"ip_address": "10.9.9.9"}})  # not found
    wrong_hash, _ = fast.seal({"get_models": {}}, code_hash="ab" * 32)
    cases = {
        "no query": (prefix, 400),
        "empty query": (prefix + "?query=", 400),
        "two queries": (f"{prefix}?query={encoded}&query={encoded}", 200),
        "not base64": (prefix + "?query=not%20base64!", 400),
        "short": (prefix + "?query=" + base64.b64encode(good[:40]).decode(), 400),
        "another node's key": (_path(fast, foreign), 400),
        "another code hash": (_path(fast, wrong_hash), 400),
        "a contract refusal": (_path(fast, refused), 404),
        "unknown contract": (_path(fast, good, OTHER), 404),
        "the sdk's alias": (_path(fast, good, SECRET_AI_SDK_DEFAULT_CONTRACT), 200),
        "upper-case address": (_path(fast, good, contract.upper()), 200),
        "not an address": (_path(fast, good, "secret1nope"), 400),
    }
    for name, (path, status) in cases.items():
        assert _same(both, path).status_code == status, name


def test_the_front_door_answers_ready_answers_itself_and_passes_the_rest_on(lcd: Lcd) -> None:
    good, ctx = lcd.seal({"get_models": {}})
    refused, _ = lcd.seal({"get_worker": {"ip_address": "10.9.9.9"}})
    path = f"{PATH_PREFIX}{lcd.contract}"

    def answer(envelope: bytes, at: str = path) -> bytes | None:
        query = b"query=" + base64.b64encode(envelope).replace(b"+", b"%2B")
        return asyncio.run(encrypted_query(lcd.node, at, query))

    assert answer(good) is None  # not ready yet: the LCD route answers (and keeps) it
    lcd.node.query({"get_models": {}})
    assert answer(good) is None  # ready answers are kept per exact bytes
    lcd.node.query(b'{"get_models":{}}')
    sealed = answer(good)
    assert sealed is not None
    assert decrypt_query_result(ctx, json.loads(sealed)["data"]) == lcd.node.query(
        {"get_models": {}}
    )
    assert answer(refused) is None
    assert answer(good[:40]) is None
    assert answer(good, f"{PATH_PREFIX}{SECRET_AI_SDK_DEFAULT_CONTRACT}") is None


def test_the_envelope_is_read_from_the_query_string_as_the_lcd_route_reads_it() -> None:
    from urllib.parse import quote

    from worker_manager.api.hot_secret import _envelope

    raw = bytes(range(256)) * 2  # base64 with every character, "+", "/" and "=" padding
    text = base64.b64encode(raw[:-1]).decode()
    assert {"+", "/", "="} <= set(text)
    for query in (
        "query=" + quote(text, safe=""),  # encodeURIComponent: %2B %2F %3D
        "query=" + re.sub("%[0-9A-F]{2}", lambda m: m.group().lower(), quote(text, safe="")),
        "contract_address=x&query=" + text,  # "+" sent bare stands for itself
        "query=" + text.replace("+", "%20"),  # a space, decoded as a form, stands for "+"
    ):
        assert _envelope(query.encode()) == raw[:-1], query
    for refused in ("query=", "", "query=a&query=a", "query=not%20base64!", "query=%zz"):
        assert _envelope(refused.encode()) is None, refused
