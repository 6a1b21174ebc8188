"""The LCD's shape builders and request decoders, one function at a time."""

import json
from typing import Any

import pytest

from tests.conftest import ADMIN, ADMIN_KEY
from worker_manager.contract import ContractError
from worker_manager.contract.error import WorkerNotFound, error_json
from worker_manager.lcd.errors import GrpcCode, LcdError, clean_message, error_body
from worker_manager.lcd.requests import BroadcastMode, broadcast_request, tx_hash_param
from worker_manager.lcd.txs import events_json, message_key, message_results, raw_log
from worker_manager.lcd.views import account_json, rfc3339
from worker_manager.node.node import AccountInfo
from worker_manager.secret.encryption import X25519KeyPair, seal_envelope
from worker_manager.tx.records import TxRecord


def record(**fields: Any) -> TxRecord:
    values: dict[str, Any] = {
        "hash": "AB" * 32,
        "height": 2,
        "tx_index": 0,
        "kind": "signed",
        "sender": ADMIN,
        "sequence": 0,
        "tx_bytes": b"",
        "messages": "[]",
        "code": 0,
        "codespace": "",
        "error": None,
        "log": "",
        "data": b"",
        "events": "[]",
        "gas_wanted": 200000,
        "gas_used": 61000,
        "fee": "{}",
        "memo": "",
        "time_ns": 0,
    }
    values.update(fields)
    return TxRecord(**values)


@pytest.mark.parametrize(
    ("text", "clean"),
    [
        ("plain text: ok", "plain text: ok"),
        ("prefix must be 'secret', got \"cosmos\"", "prefix must be secret, got cosmos"),
        ("back\\slash", "backslash"),
        ("new\nline\ttab\x00", "new line tab "),
        ("ünïcode ✓", "ünïcode ✓"),
    ],
)
def test_messages_lose_what_breaks_the_repr_reparse(text: str, clean: str) -> None:
    assert clean_message(text) == clean
    body = error_body(GrpcCode.INVALID_ARGUMENT, text)
    assert json.loads(str(body).replace("'", '"')) == body


def test_an_lcd_error_renders_the_grpc_gateway_body() -> None:
    err = LcdError(GrpcCode.NOT_FOUND, "contract 'x' not found")
    response = err.response()
    assert response.status_code == 404
    assert json.loads(bytes(response.body)) == {
        "code": 5,
        "message": "contract x not found",
        "details": [],
    }
    assert GrpcCode.UNKNOWN.http_status == 500
    assert GrpcCode.UNIMPLEMENTED.http_status == 501


def test_the_error_json_has_one_definition() -> None:
    err = WorkerNotFound("10.0.0.9")
    assert err.to_json() == error_json(err.code, err.message)
    assert error_json("unauthorized", "no") == {"generic_err": {"msg": "unauthorized: no"}}
    assert ContractError("x").to_json() == {"generic_err": {"msg": "contract_error: x"}}


def test_block_times_are_rfc3339_whole_seconds() -> None:
    assert rfc3339(0) == "1970-01-01T00:00:00Z"
    assert rfc3339(1_767_225_600_999_999_999) == "2026-01-01T00:00:00Z"


def test_accounts_show_the_key_as_base64_once_known() -> None:
    fresh = account_json(AccountInfo(ADMIN, 7, 0, None))["account"]
    assert fresh["pub_key"] is None
    assert (fresh["account_number"], fresh["sequence"]) == ("7", "0")
    known = account_json(AccountInfo(ADMIN, 7, 3, ADMIN_KEY.public_key.hex()))["account"]
    assert known["pub_key"]["@type"] == "/cosmos.crypto.secp256k1.PubKey"
    assert known["sequence"] == "3"


@pytest.mark.parametrize(
    ("body", "mode"),
    [
        (b'{"tx_bytes": "AAAA", "mode": "BROADCAST_MODE_SYNC"}', BroadcastMode.SYNC),
        (
            b'{"tx_bytes": "AAAA", "mode": "BROADCAST_MODE_ASYNC", "sequences": ["1"]}',
            BroadcastMode.ASYNC,
        ),
        (b'{"tx_bytes": "AAAA", "mode": 2}', BroadcastMode.SYNC),
    ],
)
def test_broadcast_bodies(body: bytes, mode: BroadcastMode) -> None:
    assert broadcast_request(body) == (b"\x00\x00\x00", mode)


@pytest.mark.parametrize("mode", [True, None, "BROADCAST_MODE_UNSPECIFIED", {"a": 1}, 4])
def test_other_modes_are_refused(mode: object) -> None:
    body = json.dumps({"tx_bytes": "AAAA", "mode": mode}).encode()
    with pytest.raises(LcdError) as err:
        broadcast_request(body)
    assert err.value.code == GrpcCode.INVALID_ARGUMENT


def test_tx_hashes_are_upper_cased_and_checked() -> None:
    assert tx_hash_param("ab" * 32) == "AB" * 32
    with pytest.raises(LcdError):
        tx_hash_param("ab" * 31)


def test_message_results_unpack_what_the_node_records() -> None:
    assert message_results(record(data=b'{"a":1}'), 1) == [b'{"a":1}']
    packed = record(data=b'[{"b":2,"a":1},null]')
    assert message_results(packed, 2) == [b'{"a":1,"b":2}', b""]
    assert message_results(record(data=b""), 2) == [b"", b""]


def test_plaintext_messages_have_no_key() -> None:
    node = X25519KeyPair(b"\x07" * 32)
    assert message_key(node, b'{"pause":{}}') is None
    assert message_key(None, b"\x00" * 100) is None
    assert message_key(node, b"\x00" * 10) is None  # too short to be an envelope
    envelope, ctx = seal_envelope(X25519KeyPair(b"\x08" * 32), node.public_key, "ab" * 32, b"{}")
    key = message_key(node, envelope)
    assert key is not None
    assert key.key == ctx.key


def test_non_contract_failures_keep_their_log() -> None:
    log = "account sequence mismatch, expected 1, got 0: incorrect account sequence"
    assert raw_log(record(code=32, codespace="sdk", log=log), [None]) == log
    assert raw_log(record(code=1, codespace="worker-manager", log="boom"), [None]) == "boom"
    assert raw_log(record(code=0, log="ignored"), [None]) == ""
    refused = record(code=3, codespace="compute", error="paused", log="p", failed_msg_index=None)
    assert raw_log(refused, [None]) == (
        'failed to execute message; message index: 0: {"generic_err":{"msg":"paused: p"}}: '
        "execute contract failed"
    )


def test_events_are_plain_text_and_indexed() -> None:
    events = json.dumps([{"type": "wasm", "attributes": [{"key": "k", "value": "v"}]}])
    assert events_json(events) == [
        {"type": "wasm", "attributes": [{"key": "k", "value": "v", "index": True}]}
    ]
