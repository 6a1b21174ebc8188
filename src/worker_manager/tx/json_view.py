"""The LCD JSON form of a transaction, as ``GET /cosmos/tx/v1beta1/txs/{hash}`` shows it.

secret-sdk parses this with its own classes, so every key of LCD.md 4.5 is
present: amounts, numbers and heights as decimal strings, bytes as standard
base64, the sign mode as its enum name, ``msg`` as the base64 envelope and an
empty ``callback_sig`` as ``null``.
"""

import base64
from typing import Any

from worker_manager.tx.decode import sign_mode_name
from worker_manager.tx.types import TX_TYPE_URL, DecodedTx, ExecuteContractMsg, TxCoin

#: A JSON object as :func:`json.dumps` takes it.
JsonObject = dict[str, Any]


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def coins_to_json(coins: tuple[TxCoin, ...]) -> list[JsonObject]:
    """``[{"denom": "uscrt", "amount": "10000"}, ...]``."""
    return [{"denom": c.denom, "amount": str(c.amount)} for c in coins]


def _message_to_json(message: ExecuteContractMsg) -> JsonObject:
    return {
        "@type": message.type_url,
        "sender": message.sender,
        "contract": message.contract,
        "msg": _b64(message.msg),
        "callback_code_hash": message.callback_code_hash,
        "sent_funds": coins_to_json(message.sent_funds),
        "callback_sig": _b64(message.callback_sig) if message.callback_sig else None,
    }


def tx_to_json(decoded: DecodedTx, *, include_type: bool = False) -> JsonObject:
    """The ``tx`` object of an LCD tx lookup.

    With ``include_type`` the object starts with ``"@type": "/cosmos.tx.v1beta1.Tx"``,
    the form ``tx_response.tx`` takes.
    """
    signer = decoded.signer
    tx: JsonObject = {"@type": TX_TYPE_URL} if include_type else {}
    tx["body"] = {
        "messages": [_message_to_json(m) for m in decoded.messages],
        "memo": decoded.memo,
        "timeout_height": str(decoded.timeout_height),
        "extension_options": [],
        "non_critical_extension_options": (
            []
            if decoded.signer_hint is None
            else [
                {
                    "@type": decoded.signer_hint.type_url,
                    "chain_id": decoded.signer_hint.chain_id,
                    "account_number": str(decoded.signer_hint.account_number),
                }
            ]
        ),
    }
    tx["auth_info"] = {
        "signer_infos": [
            {
                "public_key": {
                    "@type": signer.public_key_type_url,
                    "key": _b64(signer.public_key),
                },
                "mode_info": {"single": {"mode": sign_mode_name(signer.sign_mode)}},
                "sequence": str(signer.sequence),
            }
        ],
        "fee": {
            "amount": coins_to_json(decoded.fee.amount),
            "gas_limit": str(decoded.fee.gas_limit),
            "payer": decoded.fee.payer,
            "granter": decoded.fee.granter,
        },
        "tip": None,
    }
    tx["signatures"] = [_b64(decoded.signature)]
    return tx
