"""Cross-checks with the real secret-sdk 1.8.3: its txs decode here, ours equal its bytes,
and our LCD tx view, TxMsgData and encrypted results read back in its decoder."""

import base64
import json
import os

import pytest

from worker_manager.keys.mnemonic import generate_mnemonic, key_from_mnemonic
from worker_manager.secret.encryption import (
    X25519KeyPair,
    encrypt_error,
    encrypt_execute_result,
    open_envelope,
)
from worker_manager.tx import (
    Fee,
    TxCoin,
    build_execute_tx,
    decode_tx,
    encode_tx_msg_data,
    tx_to_json,
    verify_tx_signature,
)

pytestmark = pytest.mark.slow

KNOWN_MNEMONIC = (
    "arrest rain grunt tuna super test scan limit motion indicate weather script duty "
    "praise federal demand suffer grape learn arctic evil maple pumpkin pink"
)
CONTRACT = "secret1xv90yettghx8uv6ug23knaf5mjqwlsghau6aqa"
CODE_HASH = "af74387e276be8874f07bec3a87023ee49b0e7ebe08178c49d0a49c3c98ed60e"

# Offline version of Wallet.execute_tx: LCDClient.tx.create builds exactly
# Tx(TxBody(msgs, memo, timeout), AuthInfo([], fee), []) and Key.sign_tx signs it.
_SIGN = """
import base64
from secret_sdk.core import Coins
from secret_sdk.core.fee import Fee
from secret_sdk.core.tx import AuthInfo, Tx, TxBody
from secret_sdk.core.wasm.msgs import MsgExecuteContract
from secret_sdk.key.key import SignOptions
from secret_sdk.key.mnemonic import MnemonicKey
from secret_sdk.util.encrypt_utils import EncryptionUtils

out = []
for case in INPUT["cases"]:
    key = MnemonicKey(case["mnemonic"])
    msg = MsgExecuteContract(
        sender=key.acc_address,
        contract=case["contract"],
        msg=case["msg"],
        sent_funds=Coins(case["funds"]) if case["funds"] else Coins(),
        code_hash=case["code_hash"],
    )
    if case["node_pub"]:
        utils = EncryptionUtils(
            base64.b64decode(case["node_pub"]),
            encryption_seed=list(bytes.fromhex(case["seed"])),
        )
        msg.msg_encrypted = bytes(utils.encrypt(case["code_hash"], msg._msg_str))
    else:
        msg.msg_encrypted = bytes.fromhex(case["envelope"])
    tx = Tx(
        TxBody([msg], case["memo"], 0),
        AuthInfo([], Fee(case["gas"], Coins(case["fee"]), "", "")),
        [],
    )
    signed = key.sign_tx(
        tx,
        SignOptions(
            account_number=case["account_number"],
            sequence=case["sequence"],
            chain_id=case["chain_id"],
        ),
    )
    out.append({
        "tx_bytes": bytes(signed.to_proto()).hex(),
        "address": key.acc_address,
        "envelope": msg.msg_encrypted.hex(),
    })
emit(out)
"""

_DECODE_RESPONSE = """
import base64
from types import SimpleNamespace
from secret_sdk.client.lcd.api.tx import AsyncTxAPI
from secret_sdk.util.encrypt_utils import EncryptionUtils

utils = EncryptionUtils(
    base64.b64decode(INPUT["node_pub"]), encryption_seed=list(bytes.fromhex(INPUT["seed"]))
)
api = AsyncTxAPI(SimpleNamespace(encrypt_utils=utils))
out = []
for response in INPUT["responses"]:
    info = api.decrypt_txs_response(response)
    message = info.tx.body.messages[0]
    out.append({
        "code": info.code,
        "txhash": info.txhash,
        "height": info.height,
        "msg": message.msg if isinstance(message.msg, str) else None,
        "sender": message.sender,
        "contract": message.contract,
        "sent_funds": str(message.sent_funds),
        "memo": info.tx.body.memo,
        "sequence": info.tx.auth_info.signer_infos[0].sequence,
        "fee": str(info.tx.auth_info.fee.amount),
        "data": [base64.b64encode(bytes(d.data)).decode() for d in info.data],
        "rawlog": info.rawlog,
        "logs": repr(info.logs),
    })
emit(out)
"""


def _case(**overrides: object) -> dict[str, object]:
    case: dict[str, object] = {
        "mnemonic": KNOWN_MNEMONIC,
        "contract": CONTRACT,
        "msg": {"get_models": {}},
        "code_hash": CODE_HASH,
        "funds": "10000uscrt",
        "memo": "",
        "gas": 200000,
        "fee": "50000uscrt",
        "account_number": 7,
        "sequence": 0,
        "chain_id": "secret-4",
        "node_pub": None,
        "seed": None,
        "envelope": os.urandom(120).hex(),
    }
    case.update(overrides)
    return case


def test_secret_sdk_txs_decode_verify_and_equal_ours(secret_clients) -> None:
    cases = [
        _case(),
        _case(funds="", sequence=5, account_number=0),
        _case(mnemonic=generate_mnemonic(24), memo="hello from secret-sdk", sequence=123456),
        _case(
            mnemonic=generate_mnemonic(12),
            chain_id="pulsar-3",
            account_number=2**40,
            gas=333333,
            fee="83334uscrt",
            funds="1uscrt",
        ),
    ]
    theirs = secret_clients.run_client(_SIGN, input={"cases": cases})
    for case, their in zip(cases, theirs, strict=True):
        tx_bytes = bytes.fromhex(their["tx_bytes"])
        decoded = decode_tx(tx_bytes)
        key = key_from_mnemonic(str(case["mnemonic"]))
        assert decoded.sender == their["address"] == key.address
        assert decoded.signer.public_key == key.public_key
        assert decoded.sequence == case["sequence"]
        assert decoded.memo == case["memo"]
        funds = (TxCoin.parse(str(case["funds"])),) if case["funds"] else ()
        assert decoded.messages[0].sent_funds == funds
        assert decoded.messages[0].contract == CONTRACT
        assert decoded.messages[0].msg == bytes.fromhex(str(case["envelope"]))
        assert decoded.fee == Fee((TxCoin.parse(str(case["fee"])),), int(str(case["gas"])))
        chain_id, account_number = str(case["chain_id"]), int(str(case["account_number"]))
        assert verify_tx_signature(decoded, chain_id, account_number)
        assert not verify_tx_signature(decoded, "wrong-chain", account_number)
        assert not verify_tx_signature(decoded, chain_id, account_number + 1)

        ours = build_execute_tx(
            key,
            CONTRACT,
            decoded.messages[0].msg,
            chain_id=chain_id,
            account_number=account_number,
            sequence=int(str(case["sequence"])),
            sent_funds=funds,
            fee=decoded.fee,
            memo=str(case["memo"]),
        )
        assert ours == tx_bytes


def _r6_answer(
    tx_bytes: bytes, decoded_json: dict[str, object], data: str, code: int, raw_log: str
) -> dict[str, object]:
    decoded = decode_tx(tx_bytes)
    return {
        "tx": decoded_json,
        "tx_response": {
            "height": "1234",
            "txhash": decoded.tx_hash,
            "codespace": "" if code == 0 else "compute",
            "code": code,
            "data": data,
            "raw_log": raw_log,
            "logs": [],
            "info": "",
            "gas_wanted": "200000",
            "gas_used": "123456",
            "tx": tx_to_json(decoded, include_type=True),
            "timestamp": "2025-01-01T00:00:00Z",
            "events": [
                {
                    "type": "message",
                    "attributes": [
                        {
                            "key": "action",
                            "value": "/secret.compute.v1beta1.MsgExecuteContract",
                            "index": True,
                        },
                        {"key": "msg_index", "value": "0", "index": True},
                    ],
                },
                {
                    "type": "wasm",
                    "attributes": [
                        {"key": "contract_address", "value": CONTRACT, "index": True},
                        {"key": "status", "value": "registered", "index": True},
                        {"key": "msg_index", "value": "0", "index": True},
                    ],
                },
            ],
        },
    }


def test_secret_sdk_reads_our_tx_view_data_and_errors(secret_clients) -> None:
    node = X25519KeyPair.generate()
    seed = os.urandom(32)
    node_pub = base64.b64encode(node.public_key).decode()
    msg = {"register_worker": {"ip_address": "10.0.0.1", "worker_type": "llama"}}
    cases = [
        _case(node_pub=node_pub, seed=seed.hex(), msg=msg, memo="m"),
        _case(node_pub=node_pub, seed=seed.hex(), msg=msg, sequence=1, funds=""),
    ]
    signed = secret_clients.run_client(_SIGN, input={"cases": cases})

    responses = []
    result = b'{"registered":{"ip_address":"10.0.0.1"}}'
    error = b'{"generic_err":{"msg":"worker already registered"}}'
    for index, item in enumerate(signed):
        tx_bytes = bytes.fromhex(item["tx_bytes"])
        decoded = decode_tx(tx_bytes)
        opened = open_envelope(node, decoded.messages[0].msg, CODE_HASH)
        assert opened.msg == msg
        view = tx_to_json(decoded)
        if index == 0:  # success: encrypted result in TxMsgData
            data = encode_tx_msg_data([encrypt_execute_result(opened.context, result)]).hex()
            responses.append(_r6_answer(tx_bytes, view, data, 0, ""))
        else:  # contract failure, LCD.md 4.4
            raw_log = (
                "failed to execute message; message index: 0: encrypted: "
                f"{encrypt_error(opened.context, error)}: execute contract failed"
            )
            responses.append(_r6_answer(tx_bytes, view, "", 3, raw_log))
    json.dumps(responses)

    ok, failed = secret_clients.run_client(
        _DECODE_RESPONSE, input={"node_pub": node_pub, "seed": seed.hex(), "responses": responses}
    )
    assert ok["code"] == 0
    assert ok["txhash"] == decode_tx(bytes.fromhex(signed[0]["tx_bytes"])).tx_hash
    assert ok["height"] == 1234
    assert json.loads(ok["msg"]) == msg  # the client decrypted its own envelope
    assert ok["sender"] == signed[0]["address"]
    assert ok["contract"] == CONTRACT
    assert ok["sent_funds"] == "10000uscrt"
    assert ok["memo"] == "m"
    assert ok["fee"] == "50000uscrt"
    assert base64.b64decode(ok["data"][0]) == result
    assert "registered" in ok["logs"]

    assert failed["code"] == 3
    assert failed["sequence"] == 1
    assert failed["rawlog"] == (
        f"failed to execute message; message index: 0: {error.decode()}: execute contract failed"
    )
    assert "worker already registered" in failed["logs"]
