"""R6: a committed tx as Secret's LCD shows it (LCD.md 4.4 and 4.5).

The node records each tx's plaintext result; here it is encrypted again for
the one client that can read it. Each encrypted message's key is derived anew
from its envelope in the recorded tx bytes (nonce and client key are in it),
so nothing secret is stored. Messages sent as plaintext JSON (our own
clients) get their results in plaintext.

- success: ``data`` is the upper-case hex of ``TxMsgData``, one
  ``MsgExecuteContractResponse`` per message holding the encrypted answer;
  events are plain text with ``"index": true`` (secret-sdk 1.8.3 cannot decrypt
  event attributes, so it passes plain ones through);
- contract refusal (code 3, codespace ``compute``): ``raw_log`` is
  ``failed to execute message; message index: N: encrypted: <B64>: execute
  contract failed`` with the contract's error JSON encrypted to message N's key.
"""

import json
from typing import Any

from worker_manager.contract.error import error_json
from worker_manager.lcd.views import JsonObject, rfc3339
from worker_manager.node.deliver import CODE_CONTRACT_FAILED
from worker_manager.secret.encryption import (
    EnvelopeError,
    MessageKey,
    X25519KeyPair,
    encrypt_error,
    encrypt_execute_result,
    envelope_key,
)
from worker_manager.tx import DecodedTx, decode_tx, encode_tx_msg_data, tx_to_json
from worker_manager.tx.records import TxRecord

COMPUTE_CODESPACE = "compute"


def is_plaintext(msg: bytes) -> bool:
    """Whether a contract message is plain JSON (as the ante tells them apart)."""
    try:
        json.loads(msg)
    except ValueError:
        return False
    return True


def message_key(node_key: X25519KeyPair | None, msg: bytes) -> MessageKey | None:
    """The key to encrypt message ``msg``'s answers with; None for a plaintext message."""
    if node_key is None or is_plaintext(msg):
        return None
    try:
        return envelope_key(node_key, msg)
    except EnvelopeError:
        return None


def message_results(record: TxRecord, count: int) -> list[bytes]:
    """Each message's contract answer, unpacked from the tx's recorded ``data``.

    The node records a one-message tx's answer as it is, and the answers of a
    longer tx as one JSON array (``null`` for an empty answer).
    """
    if count == 1:
        return [record.data]
    if not record.data:
        return [b""] * count
    items = json.loads(record.data)
    return [
        b"" if item is None else json.dumps(item, separators=(",", ":"), sort_keys=True).encode()
        for item in items
    ]


def _data_hex(record: TxRecord, keys: list[MessageKey | None]) -> str:
    results = message_results(record, len(keys))
    sealed = [
        result if key is None else encrypt_execute_result(key, result)
        for key, result in zip(keys, results, strict=True)
    ]
    return encode_tx_msg_data(sealed).hex().upper()


def raw_log(record: TxRecord, keys: list[MessageKey | None]) -> str:
    """The tx's log; a contract refusal carries its error JSON, encrypted when it can be."""
    if record.code == 0:
        return ""
    if record.codespace != COMPUTE_CODESPACE or record.code != CODE_CONTRACT_FAILED:
        return record.log
    index = record.failed_msg_index or 0
    error = json.dumps(error_json(record.error or "", record.log), separators=(",", ":"))
    key = keys[index] if index < len(keys) else None
    shown = error if key is None else f"encrypted: {encrypt_error(key, error.encode())}"
    return f"failed to execute message; message index: {index}: {shown}: execute contract failed"


def events_json(events: str) -> list[JsonObject]:
    """The recorded events, every attribute in plain text and marked ``"index": true``."""
    parsed: list[dict[str, Any]] = json.loads(events)
    return [
        {
            "type": event["type"],
            "attributes": [
                {"key": a["key"], "value": a["value"], "index": True} for a in event["attributes"]
            ],
        }
        for event in parsed
    ]


def tx_response_json(
    record: TxRecord, decoded: DecodedTx, keys: list[MessageKey | None]
) -> JsonObject:
    ok = record.code == 0
    return {
        "height": str(record.height),
        "txhash": record.hash,
        "codespace": record.codespace,
        "code": record.code,
        "data": _data_hex(record, keys) if ok else "",
        "raw_log": raw_log(record, keys),
        "logs": [],
        "info": "",
        "gas_wanted": str(record.gas_wanted),
        "gas_used": str(record.gas_used),
        "tx": tx_to_json(decoded, include_type=True),
        "timestamp": rfc3339(record.time_ns),
        "events": events_json(record.events),
    }


def tx_lookup_json(record: TxRecord, tx_bytes: bytes, node_key: X25519KeyPair | None) -> JsonObject:
    """``{"tx": ..., "tx_response": ...}`` for a signed tx committed with ``tx_bytes``."""
    decoded = decode_tx(tx_bytes, max_tx_bytes=max(len(tx_bytes), 1))
    keys = [message_key(node_key, m.msg) for m in decoded.messages]
    return {"tx": tx_to_json(decoded), "tx_response": tx_response_json(record, decoded, keys)}
