"""Cosmos transactions for the WorkerManager: built once, shared by node and client.

A transaction here is what secret-sdk's ``Wallet.execute_tx`` sends: serialized
``TxRaw`` holding one or more ``/secret.compute.v1beta1.MsgExecuteContract`` from a
single secp256k1 signer in ``SIGN_MODE_DIRECT``.

- Client side: :func:`build_execute_tx` / :func:`build_tx` sign and serialize.
- Node side: :func:`decode_tx` checks the shape and raises :class:`TxDecodeError`
  (carrying the Cosmos code to answer with); :func:`verify_tx_signature` checks the
  signature over the exact bytes received; :func:`tx_hash` names the tx;
  :func:`tx_to_json` renders it for the LCD; :func:`encode_tx_msg_data` packs the
  message results.

The protobuf classes (``worker_manager.tx.proto``) stay inside this package.
"""

from worker_manager.tx.build import (
    build_execute_tx,
    build_tx,
    encode_auth_info,
    encode_body,
    sign_doc_bytes,
)
from worker_manager.tx.decode import (
    MAX_MEMO_BYTES,
    MAX_TX_BYTES,
    SIGN_MODE_DIRECT,
    decode_tx,
    sign_mode_name,
    tx_hash,
    verify_tx_signature,
)
from worker_manager.tx.errors import CODESPACE, TxBuildError, TxDecodeError
from worker_manager.tx.json_view import coins_to_json, tx_to_json
from worker_manager.tx.results import TxMsgDataError, decode_tx_msg_data, encode_tx_msg_data
from worker_manager.tx.types import (
    DEFAULT_DENOM,
    DEFAULT_FEE,
    DEFAULT_GAS_LIMIT,
    DEFAULT_GAS_PRICE,
    EXECUTE_CONTRACT_RESPONSE_TYPE_URL,
    EXECUTE_CONTRACT_TYPE_URL,
    SECP256K1_PUBKEY_TYPE_URL,
    TX_TYPE_URL,
    CoinError,
    DecodedTx,
    ExecuteContractMsg,
    Fee,
    SignerHint,
    SignerInfo,
    TxCoin,
    fee_for_gas,
    validate_coins,
)

__all__ = [
    "CODESPACE",
    "DEFAULT_DENOM",
    "DEFAULT_FEE",
    "DEFAULT_GAS_LIMIT",
    "DEFAULT_GAS_PRICE",
    "EXECUTE_CONTRACT_RESPONSE_TYPE_URL",
    "EXECUTE_CONTRACT_TYPE_URL",
    "MAX_MEMO_BYTES",
    "MAX_TX_BYTES",
    "SECP256K1_PUBKEY_TYPE_URL",
    "SIGN_MODE_DIRECT",
    "TX_TYPE_URL",
    "CoinError",
    "DecodedTx",
    "ExecuteContractMsg",
    "Fee",
    "SignerHint",
    "SignerInfo",
    "TxBuildError",
    "TxCoin",
    "TxDecodeError",
    "TxMsgDataError",
    "build_execute_tx",
    "build_tx",
    "coins_to_json",
    "decode_tx",
    "decode_tx_msg_data",
    "encode_auth_info",
    "encode_body",
    "encode_tx_msg_data",
    "fee_for_gas",
    "sign_doc_bytes",
    "sign_mode_name",
    "tx_hash",
    "tx_to_json",
    "validate_coins",
    "verify_tx_signature",
]
