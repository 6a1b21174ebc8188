"""The LCD JSON view of a tx (LCD.md 4.5) and TxMsgData results."""

import base64
import json

import pytest
from google.protobuf.any_pb2 import Any as AnyPb

from tests.tx.txhelpers import ACCOUNT_NUMBER, CHAIN_ID, CONTRACT, ENVELOPE, SIGNER
from worker_manager.tx import (
    TxCoin,
    TxMsgDataError,
    build_execute_tx,
    decode_tx,
    decode_tx_msg_data,
    encode_tx_msg_data,
    tx_to_json,
)
from worker_manager.tx.proto.cosmos.base.abci.v1beta1 import abci_pb2
from worker_manager.tx.proto.secret.compute.v1beta1 import msg_pb2


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_tx_json_has_every_key_of_lcd_md() -> None:
    tx_bytes = build_execute_tx(
        SIGNER,
        CONTRACT,
        ENVELOPE,
        chain_id=CHAIN_ID,
        account_number=ACCOUNT_NUMBER,
        sequence=3,
        sent_funds=[TxCoin("uscrt", 10000)],
    )
    decoded = decode_tx(tx_bytes)
    assert tx_to_json(decoded) == {
        "body": {
            "messages": [
                {
                    "@type": "/secret.compute.v1beta1.MsgExecuteContract",
                    "sender": SIGNER.address,
                    "contract": CONTRACT,
                    "msg": _b64(ENVELOPE),
                    "callback_code_hash": "",
                    "sent_funds": [{"denom": "uscrt", "amount": "10000"}],
                    "callback_sig": None,
                }
            ],
            "memo": "",
            "timeout_height": "0",
            "extension_options": [],
            "non_critical_extension_options": [],
        },
        "auth_info": {
            "signer_infos": [
                {
                    "public_key": {
                        "@type": "/cosmos.crypto.secp256k1.PubKey",
                        "key": _b64(SIGNER.public_key),
                    },
                    "mode_info": {"single": {"mode": "SIGN_MODE_DIRECT"}},
                    "sequence": "3",
                }
            ],
            "fee": {
                "amount": [{"denom": "uscrt", "amount": "50000"}],
                "gas_limit": "200000",
                "payer": "",
                "granter": "",
            },
            "tip": None,
        },
        "signatures": [_b64(decoded.signature)],
    }


def test_tx_json_with_type_and_options() -> None:
    tx_bytes = build_execute_tx(
        SIGNER,
        CONTRACT,
        ENVELOPE,
        chain_id=CHAIN_ID,
        account_number=ACCOUNT_NUMBER,
        sequence=2**64 - 1,
        memo="note",
        timeout_height=12,
    )
    view = tx_to_json(decode_tx(tx_bytes), include_type=True)
    assert next(iter(view)) == "@type"
    assert view["@type"] == "/cosmos.tx.v1beta1.Tx"
    assert view["body"]["memo"] == "note"
    assert view["body"]["timeout_height"] == "12"
    assert view["body"]["messages"][0]["sent_funds"] == []
    assert view["auth_info"]["signer_infos"][0]["sequence"] == str(2**64 - 1)
    json.dumps(view)  # plain JSON types only


def test_tx_msg_data_fills_old_and_new_fields() -> None:
    results = [b"\x01encrypted-one", b"", b"\x02two"]
    encoded = encode_tx_msg_data(results)
    data = abci_pb2.TxMsgData.FromString(encoded)
    assert [d.msg_type for d in data.data] == ["/secret.compute.v1beta1.MsgExecuteContract"] * 3
    assert [
        msg_pb2.MsgExecuteContractResponse.FromString(d.data).data for d in data.data
    ] == results
    assert [a.type_url for a in data.msg_responses] == [
        "/secret.compute.v1beta1.MsgExecuteContractResponse"
    ] * 3
    assert [a.value for a in data.msg_responses] == [d.data for d in data.data]
    assert decode_tx_msg_data(encoded) == results


def test_tx_msg_data_empty() -> None:
    assert encode_tx_msg_data([]) == b""
    assert decode_tx_msg_data(b"") == []


def test_decode_tx_msg_data_old_field_only() -> None:
    response = msg_pb2.MsgExecuteContractResponse(data=b"abc").SerializeToString()
    old = abci_pb2.TxMsgData(
        data=[
            abci_pb2.MsgData(msg_type="/secret.compute.v1beta1.MsgExecuteContract", data=response)
        ]
    )
    assert decode_tx_msg_data(old.SerializeToString()) == [b"abc"]


def test_decode_tx_msg_data_errors() -> None:
    with pytest.raises(TxMsgDataError, match="not a TxMsgData"):
        decode_tx_msg_data(b"\xff\xff")
    other = abci_pb2.TxMsgData(
        msg_responses=[AnyPb(type_url="/cosmos.bank.v1beta1.MsgSendResponse")]
    )
    with pytest.raises(TxMsgDataError, match="result 0 has type"):
        decode_tx_msg_data(other.SerializeToString())
