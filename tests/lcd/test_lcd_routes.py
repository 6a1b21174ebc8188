"""The LCD's read routes over real HTTP: key, code hash, contract info, encrypted
queries, accounts, node info, balances, and the error bodies secret-sdk re-parses."""

import base64
import json
import re
from typing import Any

import httpx
import pytest

from tests.conftest import (
    ADMIN,
    ADMIN_KEY,
    API,
    CHAIN_ID,
    NODE_SEED,
    OTHER,
    make_node,
    register_msg,
    subscriber_proof,
)
from tests.helpers import ex
from tests.lcd.conftest import Lcd
from tests.server_thread import ServerThread
from worker_manager import __version__
from worker_manager.node import FixedClock, Node
from worker_manager.node.deliver import account_number_for
from worker_manager.secret.aliases import SECRET_AI_SDK_DEFAULT_CONTRACT
from worker_manager.secret.encryption import (
    X25519KeyPair,
    decrypt_error,
    decrypt_query_result,
    seal_envelope,
)
from worker_manager.secret.node_key import node_io_key
from worker_manager.store import Store

UNKNOWN_CONTRACT = OTHER  # a valid address that is no contract here


def repr_reparse(body: Any) -> Any:
    """What secret-sdk does with an error body on the query path (LCD.md section 1)."""
    return json.loads(str(body).replace("'", '"'))


def assert_error(r: httpx.Response, status: int, code: int) -> str:
    """``r`` is a grpc-gateway error body that survives secret-sdk's re-parse."""
    assert r.status_code == status, r.text
    body = r.json()
    assert list(body) == ["code", "message", "details"]
    assert body["code"] == code
    assert body["details"] == []
    message: str = body["message"]
    assert not set("'\"\\") & set(message), message
    assert repr_reparse(body) == body
    return message


# --- R1, R2, R7, O4 ------------------------------------------------------------


def test_tx_key_is_the_nodes_x25519_public_key(lcd: Lcd) -> None:
    r = lcd.get("/registration/v1beta1/tx-key")
    assert r.status_code == 200
    assert r.json() == {"key": base64.b64encode(node_io_key(NODE_SEED).public_key).decode()}


def test_a_node_without_an_x25519_key_says_so(store: Store, clock: FixedClock) -> None:
    Node.genesis(store, chain_id=CHAIN_ID, admin=ADMIN, clock=clock, api=API)
    plain = make_node(store, clock, io_key=None)
    try:
        with ServerThread(plain) as url:
            r = httpx.get(f"{url}/registration/v1beta1/tx-key")
            assert "no x25519 key" in assert_error(r, 501, 12)
    finally:
        plain.close()


@pytest.mark.parametrize("alias", [False, True], ids=["own-address", "sdk-default-alias"])
def test_code_hash_and_info_for_the_contract_and_its_alias(lcd: Lcd, alias: bool) -> None:
    address = SECRET_AI_SDK_DEFAULT_CONTRACT if alias else lcd.contract
    identity = lcd.node.identity
    r = lcd.get(f"/compute/v1beta1/code_hash/by_contract_address/{address}")
    assert r.json() == {"code_hash": identity.code_hash}
    assert re.fullmatch(r"[0-9a-f]{64}", r.json()["code_hash"])
    r = lcd.get(f"/compute/v1beta1/info/{address}")
    assert r.json() == {
        "contract_address": address,
        "contract_info": {
            "code_id": "1",
            "creator": ADMIN,
            "label": identity.label,
            "created": {"block_height": "1", "tx_index": "0"},
            "ibc_port_id": "",
            "admin": "",
            "admin_proof": None,
        },
    }


@pytest.mark.parametrize(
    "path",
    ["/compute/v1beta1/code_hash/by_contract_address/{}", "/compute/v1beta1/info/{}"],
)
def test_unknown_and_invalid_contracts_are_refused(lcd: Lcd, path: str) -> None:
    message = assert_error(lcd.get(path.format(UNKNOWN_CONTRACT)), 404, 5)
    assert UNKNOWN_CONTRACT in message
    assert lcd.contract in message
    assert "bech32" in assert_error(lcd.get(path.format("secret1nope")), 400, 3)


def test_code_hash_by_code_id(lcd: Lcd) -> None:
    r = lcd.get("/compute/v1beta1/code_hash/by_code_id/1")
    assert r.json() == {"code_hash": lcd.node.identity.code_hash}
    assert_error(lcd.get("/compute/v1beta1/code_hash/by_code_id/2"), 404, 5)


# --- R3 ---------------------------------------------------------------------------


def envelope_with(lcd: Lcd, msg: Any, chars: str) -> tuple[bytes, Any]:
    """An envelope of ``msg`` whose base64 holds every one of ``chars`` (nonces are random)."""
    for _ in range(500):
        envelope, ctx = lcd.seal(msg)
        if set(chars) <= set(base64.b64encode(envelope).decode()):
            return envelope, ctx
    raise AssertionError(f"no envelope with {chars} in 500 tries")


def test_an_encrypted_query_gets_an_encrypted_answer(lcd: Lcd) -> None:
    ex(lcd.node, ADMIN, register_msg("10.0.0.1"))
    envelope, ctx = envelope_with(lcd, {"get_models": {}}, "+/")
    r = httpx.get(lcd.query_url(envelope))
    assert r.status_code == 200
    assert list(r.json()) == ["data"]
    assert json.loads(decrypt_query_result(ctx, r.json()["data"])) == {"models": ["llama3.3:70b"]}


@pytest.mark.parametrize("plus", ["%2B", "+", "%20"], ids=["percent-2B", "raw-plus", "space"])
def test_plus_in_the_query_string_in_any_spelling(lcd: Lcd, plus: str) -> None:
    envelope, ctx = envelope_with(lcd, {"get_u_r_ls": {}}, "+")
    url = lcd.query_url(envelope).replace("%2B", plus)
    r = httpx.get(url)
    assert r.status_code == 200, r.text
    assert json.loads(decrypt_query_result(ctx, r.json()["data"])) == {"urls": []}


def test_the_alias_answers_queries(lcd: Lcd) -> None:
    ex(lcd.node, ADMIN, register_msg("10.0.0.1"))
    envelope, ctx = lcd.seal({"get_workers": subscriber_proof()})
    r = httpx.get(lcd.query_url(envelope, SECRET_AI_SDK_DEFAULT_CONTRACT))
    workers = json.loads(decrypt_query_result(ctx, r.json()["data"]))["workers"]
    assert [w["ip_address"] for w in workers] == ["10.0.0.1"]


@pytest.mark.parametrize(
    ("msg", "status", "error"),
    [
        (
            {"get_worker": {"ip_address": "10.0.0.9"}},
            404,
            "worker_not_found: no worker is registered at 10.0.0.9",
        ),
        ({"no_such_query": {}}, 400, "unknown_message: unknown query message"),
        (
            {"get_workers": {"signature": "00", "subscriber_public_key": "00"}},
            401,
            "invalid_signature: ",
        ),
        (b'{"get_worker":{"ip_address":"\\ud800"}}', 400, "invalid_unicode: "),
        (b'{"get_urls":{"limit":18446744073709551616}}', 400, "invalid_message: "),
    ],
)
def test_a_contract_refusal_is_encrypted_with_the_status_of_its_code(
    lcd: Lcd, msg: Any, status: int, error: str
) -> None:
    envelope, ctx = lcd.seal(msg)
    r = httpx.get(lcd.query_url(envelope))
    message = assert_error(r, status, 2)
    match = re.fullmatch(r"encrypted: (.+?): query contract failed", message)
    assert match, message
    decrypted = json.loads(decrypt_error(ctx, match.group(1)))
    assert list(decrypted) == ["generic_err"]
    assert decrypted["generic_err"]["msg"].startswith(error)


def test_envelope_problems_are_plain_400s(lcd: Lcd) -> None:
    good, _ = lcd.seal({"get_models": {}})
    query_path = f"/compute/v1beta1/query/{lcd.contract}"
    assert "missing" in assert_error(lcd.get(query_path), 400, 3)
    assert "base64" in assert_error(lcd.get(query_path, query="not base64!"), 400, 3)
    short = base64.b64encode(good[:40]).decode()
    assert "too_short" in assert_error(lcd.get(query_path, query=short), 400, 3)
    other_node = X25519KeyPair(b"\x01" * 32)
    foreign, _ = seal_envelope(
        lcd.client_key, other_node.public_key, lcd.node.identity.code_hash, b"{}"
    )
    assert "undecryptable" in assert_error(httpx.get(lcd.query_url(foreign)), 400, 3)
    # text that is not UTF-8 or JSON at all never reaches the contract
    raw_surrogate, _ = lcd.seal(b'{"get_worker":{"ip_address":"\xed\xa0\x80"}}')
    assert "not UTF-8" in assert_error(httpx.get(lcd.query_url(raw_surrogate)), 400, 3)
    deep, _ = lcd.seal(b'{"get_urls":' + b"[" * 10_000 + b"]" * 10_000 + b"}")
    assert "nested too deeply" in assert_error(httpx.get(lcd.query_url(deep)), 400, 3)
    wrong_hash, _ = lcd.seal({"get_models": {}}, code_hash="ab" * 32)
    message = assert_error(httpx.get(lcd.query_url(wrong_hash)), 400, 3)
    assert "code_hash_mismatch" in message
    assert lcd.node.identity.code_hash in message
    not_json, _ = lcd.seal(b"{nope")
    assert "not_json" in assert_error(httpx.get(lcd.query_url(not_json)), 400, 3)
    assert_error(httpx.get(lcd.query_url(good, UNKNOWN_CONTRACT)), 404, 5)


# --- R4 ---------------------------------------------------------------------------


def test_every_address_has_an_account(lcd: Lcd) -> None:
    r = lcd.get(f"/cosmos/auth/v1beta1/accounts/{OTHER}")
    assert r.json() == {
        "account": {
            "@type": "/cosmos.auth.v1beta1.BaseAccount",
            "address": OTHER,
            "pub_key": None,
            "account_number": str(account_number_for(OTHER)),
            "sequence": "0",
        }
    }


def test_an_account_shows_its_key_after_its_first_tx(lcd: Lcd) -> None:
    envelope, _ = lcd.seal(register_msg("10.0.0.1"))
    answer = lcd.broadcast(lcd.signed_tx(ADMIN_KEY, [envelope]))
    lcd.wait_tx(answer["txhash"])
    account = lcd.get(f"/cosmos/auth/v1beta1/accounts/{ADMIN.upper()}").json()["account"]
    assert account["address"] == ADMIN
    assert account["sequence"] == "1"
    assert account["pub_key"] == {
        "@type": "/cosmos.crypto.secp256k1.PubKey",
        "key": base64.b64encode(ADMIN_KEY.public_key).decode(),
    }


@pytest.mark.parametrize(
    "address", ["secret1nope", "cosmos1snf0y77qz9hgh69fefffjdv5tedfd6rmb6v8x8", "x" * 200]
)
def test_an_invalid_address_is_a_400(lcd: Lcd, address: str) -> None:
    assert_error(lcd.get(f"/cosmos/auth/v1beta1/accounts/{address}"), 400, 3)
    assert_error(lcd.get(f"/cosmos/bank/v1beta1/balances/{address}"), 400, 3)


# --- O2, O3, and what is not served ------------------------------------------


def test_node_info_names_the_chain(lcd: Lcd) -> None:
    info = lcd.get("/cosmos/base/tendermint/v1beta1/node_info").json()
    assert info["default_node_info"]["network"] == CHAIN_ID
    assert info["application_version"]["name"] == "worker-manager"
    assert info["application_version"]["version"] == __version__


def test_there_is_no_bank(lcd: Lcd) -> None:
    r = lcd.get(f"/cosmos/bank/v1beta1/balances/{ADMIN}")
    assert r.json() == {"balances": [], "pagination": {"next_key": None, "total": "0"}}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/cosmos/base/tendermint/v1beta1/blocks/latest"),
        ("GET", "/compute/v1beta1/codes"),
        ("GET", "/registration/v1beta1/registration-key"),
        ("DELETE", "/cosmos/staking/v1beta1/validators"),
    ],
)
def test_other_lcd_routes_are_a_clear_501(lcd: Lcd, method: str, path: str) -> None:
    r = httpx.request(method, f"{lcd.url}{path}")
    assert "docs/lcd.md" in assert_error(r, 501, 12)


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("POST", "/cosmos/tx/v1beta1/txs/" + "AB" * 32, "GET"),
        ("DELETE", "/cosmos/tx/v1beta1/txs", "POST"),
        ("GET", "/cosmos/tx/v1beta1/txs", "POST"),  # GetTxsEvent: not served here
        ("GET", "/cosmos/tx/v1beta1/simulate", "POST"),
        ("PUT", "/registration/v1beta1/tx-key", "GET"),
    ],
)
def test_a_wrong_method_on_a_served_lcd_route_is_405(
    lcd: Lcd, method: str, path: str, allowed: str
) -> None:
    r = httpx.request(method, f"{lcd.url}{path}")
    assert "not allowed" in assert_error(r, 405, 12)
    assert allowed in r.headers["allow"]


def test_the_native_api_keeps_its_own_404(lcd: Lcd, node: Node) -> None:
    assert httpx.get(f"{lcd.url}/v1/nope").status_code == 404
    assert (
        httpx.get(f"{lcd.url}/v1/info").json()["contract_address"] == node.identity.contract_address
    )
