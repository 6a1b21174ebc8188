"""Message results: ``cosmos.base.abci.v1beta1.TxMsgData``, hex in ``tx_response.data``.

secret-sdk 1.8.3 reads only the old field 1 (``MsgData{msg_type, data}``); newer
clients read field 2 (``msg_responses``, ``Any``). We fill both with the same
``MsgExecuteContractResponse`` bytes.
"""

from collections.abc import Sequence

from google.protobuf.any_pb2 import Any as AnyPb
from google.protobuf.message import DecodeError

from worker_manager.tx.proto.cosmos.base.abci.v1beta1 import abci_pb2
from worker_manager.tx.proto.secret.compute.v1beta1 import msg_pb2
from worker_manager.tx.types import (
    EXECUTE_CONTRACT_RESPONSE_TYPE_URL,
    EXECUTE_CONTRACT_TYPE_URL,
)


class TxMsgDataError(ValueError):
    """``TxMsgData`` bytes do not decode as expected; the message says why."""


def encode_tx_msg_data(results: Sequence[bytes]) -> bytes:
    """``TxMsgData`` for execute results, one per message, in message order.

    Each item is ``MsgExecuteContractResponse.data``: for Secret clients, the
    encrypted result (:func:`worker_manager.secret.encryption.encrypt_execute_result`).
    """
    data = abci_pb2.TxMsgData()
    for result in results:
        response = msg_pb2.MsgExecuteContractResponse(data=result).SerializeToString(
            deterministic=True
        )
        data.data.append(abci_pb2.MsgData(msg_type=EXECUTE_CONTRACT_TYPE_URL, data=response))
        data.msg_responses.append(
            AnyPb(type_url=EXECUTE_CONTRACT_RESPONSE_TYPE_URL, value=response)
        )
    return data.SerializeToString(deterministic=True)


def decode_tx_msg_data(encoded: bytes) -> list[bytes]:
    """The ``MsgExecuteContractResponse.data`` of each message, client side.

    Reads field 2 (``msg_responses``) when present, else the old field 1.
    """
    try:
        data = abci_pb2.TxMsgData.FromString(encoded)
        if data.msg_responses:
            parts = [(a.type_url, a.value) for a in data.msg_responses]
            wanted = EXECUTE_CONTRACT_RESPONSE_TYPE_URL
        else:
            parts = [(d.msg_type, d.data) for d in data.data]
            wanted = EXECUTE_CONTRACT_TYPE_URL
        results: list[bytes] = []
        for index, (type_url, value) in enumerate(parts):
            if type_url != wanted:
                raise TxMsgDataError(f"result {index} has type {type_url!r}, expected {wanted}")
            response = msg_pb2.MsgExecuteContractResponse.FromString(value)
            results.append(bytes(response.data))
    except (DecodeError, RuntimeError) as exc:
        raise TxMsgDataError(f"not a TxMsgData: {exc}") from exc
    return results
