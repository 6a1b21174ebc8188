"""The LCD's tx routes over real HTTP: broadcast (CheckTx), lookup with encrypted
results and errors, and simulate, with txs signed and sealed the way secret-sdk does."""

import base64
import hashlib
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
    OTHER_KEY,
    OWNER,
    OWNER_KEY,
    make_node,
    register_msg,
)
from tests.helpers import ex, q
from tests.lcd.conftest import Lcd
from tests.lcd.test_lcd_routes import assert_error
from tests.server_thread import ServerThread
from worker_manager.node import FixedClock, Node
from worker_manager.node.pending import gas_estimate
from worker_manager.secret.aliases import SECRET_AI_SDK_DEFAULT_CONTRACT
from worker_manager.secret.encryption import X25519KeyPair, decrypt_error, decrypt_execute_result
from worker_manager.store import Store
from worker_manager.tx import TxCoin, decode_tx_msg_data


def committed(lcd: Lcd, tx: bytes) -> dict[str, Any]:
    answer = lcd.broadcast(tx)
    assert answer["code"] == 0, answer
    return lcd.wait_tx(answer["txhash"])


def results(found: dict[str, Any]) -> list[bytes]:
    return decode_tx_msg_data(bytes.fromhex(found["tx_response"]["data"]))


# --- R5 ---------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["BROADCAST_MODE_SYNC", "BROADCAST_MODE_ASYNC", 2, 3])
def test_an_accepted_tx_answers_at_once_and_moves_the_sequence(lcd: Lcd, mode: Any) -> None:
    envelope, _ = lcd.seal(register_msg("10.0.0.1"))
    tx = lcd.signed_tx(ADMIN_KEY, [envelope], funds=[TxCoin("uscrt", 10000)])
    answer = lcd.broadcast(tx, mode)
    assert answer == {
        "height": "0",
        "txhash": hashlib.sha256(tx).hexdigest().upper(),
        "codespace": "",
        "code": 0,
        "data": "",
        "raw_log": "",
        "logs": [],
        "info": "",
        "gas_wanted": "0",
        "gas_used": "0",
        "tx": None,
        "timestamp": "",
        "events": [],
    }
    account = lcd.get(f"/cosmos/auth/v1beta1/accounts/{ADMIN}").json()["account"]
    assert account["sequence"] == "1"
    # the next tx signs with the next sequence straight away
    envelope, _ = lcd.seal(register_msg("10.0.0.2"))
    assert lcd.broadcast(lcd.signed_tx(ADMIN_KEY, [envelope]))["code"] == 0


def test_ante_refusals_are_200s_with_the_cosmos_code(lcd: Lcd) -> None:
    envelope, _ = lcd.seal(register_msg("10.0.0.1"))
    surrogate, _ = lcd.seal(register_msg("10.0.0.1", url="https://\ud800.example"))
    deep, _ = lcd.seal(b'{"register_worker":' + b"[" * 10_000 + b"]" * 10_000 + b"}")
    cases = [
        (lcd.signed_tx(ADMIN_KEY, [surrogate]), 6, "sdk", "U+D800, a lone surrogate"),
        (lcd.signed_tx(ADMIN_KEY, [deep]), 6, "sdk", "nested too deeply"),
        (lcd.signed_tx(ADMIN_KEY, [envelope], chain_id="secret-4"), 4, "sdk", "chain-id"),
        (lcd.signed_tx(ADMIN_KEY, [envelope], sequence=5), 32, "sdk", "expected 0, got 5"),
        (lcd.signed_tx(ADMIN_KEY, [envelope], contract=OWNER), 7, "sdk", "invalid address"),
        (lcd.signed_tx(ADMIN_KEY, [b"\x00" * 200]), 6, "sdk", "encrypted contract message"),
        (b"\x0a\x02zz", 2, "sdk", ""),
    ]
    for tx, code, codespace, text in cases:
        answer = lcd.broadcast(tx)
        assert answer["code"] == code, answer
        assert answer["codespace"] == codespace
        assert text in answer["raw_log"]
        assert answer["txhash"] == hashlib.sha256(tx).hexdigest().upper()
        assert answer["height"] == "0"
        assert_error(lcd.get(f"/cosmos/tx/v1beta1/txs/{answer['txhash']}"), 404, 5)
    account = lcd.get(f"/cosmos/auth/v1beta1/accounts/{ADMIN}").json()["account"]
    assert account["sequence"] == "0"


@pytest.mark.parametrize(
    ("body", "text"),
    [
        ({"tx_bytes": "AAAA", "mode": "BROADCAST_MODE_BLOCK"}, "BROADCAST_MODE_SYNC"),
        ({"tx_bytes": "AAAA", "mode": 1}, "BROADCAST_MODE_BLOCK is not supported"),
        ({"tx_bytes": "AAAA"}, "unsupported broadcast mode"),
        ({"tx_bytes": "AAAA", "mode": "sync"}, "unsupported broadcast mode"),
        ({"tx_bytes": "AAAA", "mode": [1]}, "unsupported broadcast mode"),
        ({"mode": "BROADCAST_MODE_SYNC"}, "tx_bytes"),
        ({"tx_bytes": "%%%", "mode": "BROADCAST_MODE_SYNC"}, "base64"),
        ([1, 2], "JSON object"),
    ],
)
def test_bad_broadcast_bodies_are_400s(lcd: Lcd, body: Any, text: str) -> None:
    r = lcd.post("/cosmos/tx/v1beta1/txs", body)
    assert text in assert_error(r, 400, 3)


def test_a_body_that_is_not_json_or_too_large_is_a_400(lcd: Lcd) -> None:
    url = f"{lcd.url}/cosmos/tx/v1beta1/txs"
    assert "not valid JSON" in assert_error(httpx.post(url, content=b"nope"), 400, 3)
    huge = b'{"tx_bytes": "' + b"A" * (2 * lcd.node.max_tx_bytes) + b'"}'
    assert "over" in assert_error(httpx.post(url, content=huge), 400, 3)


def test_executes_sent_to_the_alias_run_on_the_contract(lcd: Lcd) -> None:
    envelope, ctx = lcd.seal(register_msg("10.0.0.1"))
    found = committed(
        lcd, lcd.signed_tx(ADMIN_KEY, [envelope], contract=SECRET_AI_SDK_DEFAULT_CONTRACT)
    )
    assert found["tx"]["body"]["messages"][0]["contract"] == SECRET_AI_SDK_DEFAULT_CONTRACT
    assert json.loads(decrypt_execute_result(ctx, results(found)[0]))["status"] == "registered"
    assert q(lcd.node, {"get_worker": {"ip_address": "10.0.0.1"}})["payment_wallet"] == OWNER


# --- R6 ---------------------------------------------------------------------------


def test_a_committed_tx_in_the_lcd_shape(lcd: Lcd) -> None:
    envelope, ctx = lcd.seal(register_msg("10.0.0.1"))
    tx = lcd.signed_tx(ADMIN_KEY, [envelope], funds=[TxCoin("uscrt", 10000)])
    txhash = lcd.broadcast(tx)["txhash"]
    found = lcd.wait_tx(txhash.lower())
    assert list(found) == ["tx", "tx_response"]
    body = found["tx"]["body"]
    assert body["messages"] == [
        {
            "@type": "/secret.compute.v1beta1.MsgExecuteContract",
            "sender": ADMIN,
            "contract": lcd.contract,
            "msg": base64.b64encode(envelope).decode(),
            "callback_code_hash": "",
            "sent_funds": [{"denom": "uscrt", "amount": "10000"}],
            "callback_sig": None,
        }
    ]
    assert body["memo"] == ""
    assert body["timeout_height"] == "0"
    auth = found["tx"]["auth_info"]
    assert auth["signer_infos"][0]["mode_info"] == {"single": {"mode": "SIGN_MODE_DIRECT"}}
    assert auth["signer_infos"][0]["sequence"] == "0"
    assert auth["fee"] == {
        "amount": [{"denom": "uscrt", "amount": "50000"}],
        "gas_limit": "200000",
        "payer": "",
        "granter": "",
    }
    response = found["tx_response"]
    assert response["txhash"] == txhash
    assert response["height"] == "2"
    assert response["code"] == 0
    assert response["codespace"] == ""
    assert response["raw_log"] == ""
    assert response["gas_wanted"] == "200000"
    assert response["gas_used"] == str(gas_estimate(len(tx)))
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", response["timestamp"])
    assert response["timestamp"] >= "2026-01-01T00:00:00Z"
    assert response["tx"] == {"@type": "/cosmos.tx.v1beta1.Tx", **found["tx"]}
    assert response["data"] == response["data"].upper()
    (sealed,) = results(found)
    assert json.loads(decrypt_execute_result(ctx, sealed)) == {
        "ip_address": "10.0.0.1",
        "status": "registered",
        "attestation_status": "unchecked",
    }
    events = response["events"]
    assert events[0] == {
        "type": "message",
        "attributes": [
            {"key": "action", "value": "/secret.compute.v1beta1.MsgExecuteContract", "index": True},
            {"key": "msg_index", "value": "0", "index": True},
        ],
    }
    wasm = events[1]
    assert wasm["type"] == "wasm"
    assert wasm["attributes"][0] == {
        "key": "contract_address",
        "value": lcd.contract,
        "index": True,
    }
    assert {"key": "action", "value": "register_worker", "index": True} in wasm["attributes"]
    assert wasm["attributes"][-1] == {"key": "msg_index", "value": "0", "index": True}


def test_a_contract_refusal_carries_the_encrypted_error(lcd: Lcd, unchanged: Any) -> None:
    envelope, ctx = lcd.seal(register_msg("10.0.0.1"))
    with unchanged():
        found = committed(lcd, lcd.signed_tx(OTHER_KEY, [envelope]))
    response = found["tx_response"]
    assert response["code"] == 3
    assert response["codespace"] == "compute"
    assert response["data"] == ""
    match = re.fullmatch(
        r"failed to execute message; message index: 0: encrypted: (.+?): execute contract failed",
        response["raw_log"],
    )
    assert match, response["raw_log"]
    error = json.loads(decrypt_error(ctx, match.group(1)))
    assert error == {
        "generic_err": {"msg": f"unauthorized: sender {OTHER_KEY.address} is not the admin"}
    }


def test_multi_message_txs_encrypt_each_result_to_its_own_key(lcd: Lcd) -> None:
    first, first_ctx = lcd.seal(register_msg("10.0.0.1"))
    second, second_ctx = lcd.seal(register_msg("10.0.0.2"))
    found = committed(lcd, lcd.signed_tx(ADMIN_KEY, [first, second]))
    one, two = results(found)
    assert json.loads(decrypt_execute_result(first_ctx, one))["ip_address"] == "10.0.0.1"
    assert json.loads(decrypt_execute_result(second_ctx, two))["ip_address"] == "10.0.0.2"
    msg_indexes = [a["value"] for e in found["tx_response"]["events"] for a in e["attributes"]]
    assert msg_indexes.count("1") >= 2

    # the second message fails: the error is encrypted to the second message's key
    third, _ = lcd.seal(register_msg("10.0.0.3"))
    again, again_ctx = lcd.seal(register_msg("10.0.0.1"))
    response = committed(lcd, lcd.signed_tx(ADMIN_KEY, [third, again]))["tx_response"]
    match = re.search(r"message index: 1: encrypted: (.+?): execute", response["raw_log"])
    assert match, response["raw_log"]
    assert b"worker_exists" in decrypt_error(again_ctx, match.group(1))
    assert q(lcd.node, {"get_models": {}})["models"] == ["llama3.3:70b"]
    assert "10.0.0.3" not in json.dumps(q(lcd.node, {"get_u_r_ls": {}}))


def test_plaintext_messages_get_plaintext_results(lcd: Lcd) -> None:
    """Our own client sends plain JSON; its results and errors come back readable."""
    plain = json.dumps(register_msg("10.0.0.1")).encode()
    found = committed(lcd, lcd.signed_tx(ADMIN_KEY, [plain]))
    assert json.loads(results(found)[0])["status"] == "registered"
    response = committed(lcd, lcd.signed_tx(ADMIN_KEY, [plain]))["tx_response"]
    assert response["raw_log"] == (
        "failed to execute message; message index: 0: "
        '{"generic_err":{"msg":"worker_exists: a worker is already registered at 10.0.0.1"}}: '
        "execute contract failed"
    )


def test_unknown_uncommitted_and_unbroadcast_txs_are_404s(lcd: Lcd) -> None:
    missing = "AB" * 32
    message = assert_error(lcd.get(f"/cosmos/tx/v1beta1/txs/{missing.lower()}"), 404, 5)
    assert message == f"tx not found: {missing}"
    assert_error(lcd.get("/cosmos/tx/v1beta1/txs/nothex"), 400, 3)
    internal = ex(lcd.node, ADMIN, register_msg("10.0.0.1"))
    block = lcd.node.get_block(1)
    assert block is not None
    genesis = block[1][0].hash
    for txhash in (internal.hash, genesis):
        message = assert_error(lcd.get(f"/cosmos/tx/v1beta1/txs/{txhash}"), 404, 5)
        assert f"GET /v1/txs/{txhash}" in message
        assert httpx.get(f"{lcd.url}/v1/txs/{txhash}").status_code == 200


# --- O1 ---------------------------------------------------------------------------


def test_simulate_estimates_gas_and_queues_nothing(lcd: Lcd) -> None:
    envelope, _ = lcd.seal(register_msg("10.0.0.1"))
    tx = lcd.signed_tx(ADMIN_KEY, [envelope], chain_id="any-chain")  # not verified
    r = lcd.post("/cosmos/tx/v1beta1/simulate", {"tx_bytes": base64.b64encode(tx).decode()})
    assert r.json() == {
        "gas_info": {"gas_wanted": "0", "gas_used": str(gas_estimate(len(tx)))},
        "result": {"data": "", "log": "", "events": [], "msg_responses": []},
    }
    account = lcd.get(f"/cosmos/auth/v1beta1/accounts/{ADMIN}").json()["account"]
    assert account["sequence"] == "0"
    assert lcd.node.height == 1
    bad = lcd.post("/cosmos/tx/v1beta1/simulate", {"tx_bytes": "CgJ6eg=="})
    assert_error(bad, 400, 3)
    assert "tx_bytes" in assert_error(lcd.post("/cosmos/tx/v1beta1/simulate", {}), 400, 3)


def test_owner_messages_through_the_lcd(lcd: Lcd) -> None:
    ex(lcd.node, ADMIN, register_msg("10.0.0.1"))
    envelope, ctx = lcd.seal({"set_worker_type": {"ip_address": "10.0.0.1", "worker_type": "m2"}})
    found = committed(lcd, lcd.signed_tx(OWNER_KEY, [envelope]))
    assert found["tx_response"]["code"] == 0
    assert decrypt_execute_result(ctx, results(found)[0])
    assert q(lcd.node, {"get_models": {}}) == {"models": ["m2"]}


def test_the_sequence_moves_before_the_block_commits(store: Store, clock: FixedClock) -> None:
    """With blocks a second apart, a wallet's second tx signs with the sequence R4 shows
    straight after the first broadcast, while the first is still not found."""
    Node.genesis(store, chain_id=CHAIN_ID, admin=ADMIN, clock=clock, api=API)
    slow = make_node(store, clock, block_interval_s=1.0)
    try:
        with ServerThread(slow) as url:
            lcd = Lcd(url, slow, X25519KeyPair(bytes(range(32, 64))))
            first, _ = lcd.seal(register_msg("10.0.0.1"))
            one = lcd.broadcast(lcd.signed_tx(ADMIN_KEY, [first]))
            assert_error(lcd.get(f"/cosmos/tx/v1beta1/txs/{one['txhash']}"), 404, 5)
            account = lcd.get(f"/cosmos/auth/v1beta1/accounts/{ADMIN}").json()["account"]
            assert account["sequence"] == "1"
            second, _ = lcd.seal(register_msg("10.0.0.2"))
            two = lcd.broadcast(lcd.signed_tx(ADMIN_KEY, [second]))
            assert two["code"] == 0
            for answer in (one, two):
                assert lcd.wait_tx(answer["txhash"])["tx_response"]["code"] == 0
    finally:
        slow.close()
