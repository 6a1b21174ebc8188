"""Decode and check a broadcast transaction, node side.

:func:`decode_tx` turns ``tx_bytes`` into a :class:`~worker_manager.tx.types.DecodedTx`
or raises :class:`~worker_manager.tx.errors.TxDecodeError` carrying the Cosmos code
to answer with. It reads the bytes as ``TxRaw`` and decodes body and auth info
from the raw bytes inside, which it keeps: :func:`verify_tx_signature` checks the
signature over exactly those bytes, never over a re-encoding.

What is accepted, in the order it is checked (Cosmos code in brackets):

- at most ``max_tx_bytes`` (21); a ``TxRaw`` in canonical encoding, as ADR-027
  asks, so one transaction has one hash (2);
- body and auth info that decode, with no unknown fields, except non-critical
  ones (field number bit 11) in the body (2);
- exactly one signature (15 if none) and one signer (4);
- no extension options (31) and no tip (18);
- at least one message (18), each a ``/secret.compute.v1beta1.MsgExecuteContract``
  (2) with valid addresses (7), valid sent funds (10) and no callback fields (18);
- a ``/cosmos.crypto.secp256k1.PubKey`` signer key on the curve (8), signing in
  ``SIGN_MODE_DIRECT`` (4), whose address is every message's sender (8);
- a valid fee with no payer or granter (10, 18) and a memo of at most 256 bytes (12).

Sequence, account number, chain id, timeout height and fee amount depend on
node state and are the node's checks.
"""

import hashlib
from collections.abc import Iterable
from typing import TypeVar

from google.protobuf.any_pb2 import Any as AnyPb
from google.protobuf.message import DecodeError, Message
from google.protobuf.unknown_fields import UnknownFieldSet

from worker_manager.keys import (
    AddressError,
    SignatureError,
    address_from_bytes,
    address_from_public_key,
    parse_public_key,
    verify_compact,
)
from worker_manager.tx.build import sign_doc_bytes
from worker_manager.tx.errors import (
    CODE_INVALID_ADDRESS,
    CODE_INVALID_COINS,
    CODE_INVALID_PUBKEY,
    CODE_INVALID_REQUEST,
    CODE_MEMO_TOO_LARGE,
    CODE_NO_SIGNATURES,
    CODE_TX_TOO_LARGE,
    CODE_UNAUTHORIZED,
    CODE_UNKNOWN_EXTENSION_OPTIONS,
    TxDecodeError,
)
from worker_manager.tx.proto.cosmos.base.v1beta1 import coin_pb2
from worker_manager.tx.proto.cosmos.crypto.secp256k1 import keys_pb2
from worker_manager.tx.proto.cosmos.tx.signing.v1beta1 import signing_pb2
from worker_manager.tx.proto.cosmos.tx.v1beta1 import tx_pb2
from worker_manager.tx.proto.secret.compute.v1beta1 import msg_pb2
from worker_manager.tx.proto.worker_manager.tx.v1 import hint_pb2
from worker_manager.tx.types import (
    EXECUTE_CONTRACT_TYPE_URL,
    SECP256K1_PUBKEY_TYPE_URL,
    SIGNER_HINT_TYPE_URL,
    CoinError,
    DecodedTx,
    ExecuteContractMsg,
    Fee,
    SignerHint,
    SignerInfo,
    TxCoin,
    validate_coins,
)

#: Largest ``tx_bytes`` accepted (Tendermint's default mempool limit is 1 MiB).
MAX_TX_BYTES = 1024 * 1024
#: Cosmos ``auth`` param ``max_memo_characters`` (counted in bytes, as Go does).
MAX_MEMO_BYTES = 256
#: Field numbers with this bit set are "non-critical" (Cosmos ADR-020).
NON_CRITICAL_FIELD_BIT = 1 << 10

SIGN_MODE_DIRECT: int = signing_pb2.SIGN_MODE_DIRECT


def tx_hash(tx_bytes: bytes) -> str:
    """The transaction hash: upper-case hex SHA-256 of the broadcast bytes."""
    return hashlib.sha256(tx_bytes).hexdigest().upper()


def sign_mode_name(mode: int) -> str:
    """``SIGN_MODE_DIRECT`` for 1, and so on; the number as text if unknown."""
    try:
        return str(signing_pb2.SignMode.Name(mode))
    except ValueError:
        return str(mode)


_M = TypeVar("_M", bound=Message)


def _parse(message: _M, data: bytes, what: str) -> _M:
    try:
        message.ParseFromString(data)
    except (DecodeError, RuntimeError, ValueError) as exc:
        raise TxDecodeError(f"{what} is not a valid protobuf message: {exc}") from exc
    return message


def _reject_unknown_fields(message: Message, where: str, *, allow_non_critical: bool) -> None:
    """Cosmos ``RejectUnknownFields``: unknown fields anywhere in ``message`` are refused."""
    unknown = UnknownFieldSet(message)
    for index in range(len(unknown)):
        number = int(unknown[index].field_number)
        if allow_non_critical and number & NON_CRITICAL_FIELD_BIT:
            continue
        raise TxDecodeError(f"{where} has unknown field {number}")
    for descriptor, value in message.ListFields():
        if descriptor.message_type is None:
            continue
        children = [value] if isinstance(value, Message) else list(value)
        for child in children:
            _reject_unknown_fields(
                child, f"{where}.{descriptor.name}", allow_non_critical=allow_non_critical
            )


def _coins(coins: Iterable[coin_pb2.Coin], what: str) -> tuple[TxCoin, ...]:
    result: list[TxCoin] = []
    for coin in coins:
        amount = coin.amount
        if not amount.isascii() or not amount.isdigit():
            raise TxDecodeError(
                f"{what}: amount {amount or '(empty)'} of {coin.denom} is not a whole number",
                code=CODE_INVALID_COINS,
            )
        try:
            result.append(TxCoin(coin.denom, int(amount)))
        except CoinError as exc:
            raise TxDecodeError(f"{what}: {exc}", code=CODE_INVALID_COINS) from exc
    parsed = tuple(result)
    try:
        validate_coins(parsed, what)
    except CoinError as exc:
        raise TxDecodeError(str(exc), code=CODE_INVALID_COINS) from exc
    return parsed


def _message(index: int, packed: AnyPb) -> ExecuteContractMsg:
    if packed.type_url != EXECUTE_CONTRACT_TYPE_URL:
        raise TxDecodeError(
            f"message {index}: unable to resolve type URL {packed.type_url or '(empty)'}; "
            f"this node accepts only {EXECUTE_CONTRACT_TYPE_URL}"
        )
    execute = _parse(msg_pb2.MsgExecuteContract(), packed.value, f"message {index}")
    _reject_unknown_fields(execute, f"message {index}", allow_non_critical=True)
    if len(execute.sender) != 20:
        raise TxDecodeError(
            f"message {index}: sender must be a 20-byte account address, "
            f"got {len(execute.sender)} bytes",
            code=CODE_INVALID_ADDRESS,
        )
    sender = address_from_bytes(execute.sender)
    try:
        contract = address_from_bytes(execute.contract)
    except AddressError as exc:
        raise TxDecodeError(
            f"message {index}: invalid contract address: {exc}", code=CODE_INVALID_ADDRESS
        ) from exc
    if execute.callback_code_hash or execute.callback_sig:
        raise TxDecodeError(
            f"message {index}: callback_code_hash and callback_sig must be empty "
            "(they are set only by contracts)",
            code=CODE_INVALID_REQUEST,
        )
    return ExecuteContractMsg(
        sender=sender,
        contract=contract,
        msg=execute.msg,
        sent_funds=_coins(execute.sent_funds, f"message {index}: sent_funds"),
    )


def _signer(info: tx_pb2.SignerInfo) -> SignerInfo:
    if not info.HasField("public_key"):
        raise TxDecodeError(
            "the signer's public key is missing (this node needs it in every tx)",
            code=CODE_INVALID_PUBKEY,
        )
    if info.public_key.type_url != SECP256K1_PUBKEY_TYPE_URL:
        raise TxDecodeError(
            f"public key type {info.public_key.type_url or '(empty)'} is not supported; "
            f"only {SECP256K1_PUBKEY_TYPE_URL}",
            code=CODE_INVALID_PUBKEY,
        )
    try:
        pub = keys_pb2.PubKey.FromString(info.public_key.value)
    except (DecodeError, RuntimeError, ValueError) as exc:
        raise TxDecodeError(
            f"the signer's public key does not decode: {exc}", code=CODE_INVALID_PUBKEY
        ) from exc
    _reject_unknown_fields(pub, "public key", allow_non_critical=False)
    try:
        parse_public_key(pub.key)
    except SignatureError as exc:
        raise TxDecodeError(f"invalid signer public key: {exc}", code=CODE_INVALID_PUBKEY) from exc
    if info.mode_info.WhichOneof("sum") != "single":
        raise TxDecodeError(
            "mode_info must be single (multisig and missing modes are not supported)",
            code=CODE_UNAUTHORIZED,
        )
    mode = int(info.mode_info.single.mode)
    if mode != SIGN_MODE_DIRECT:
        raise TxDecodeError(
            f"sign mode {sign_mode_name(mode)} is not supported; sign with SIGN_MODE_DIRECT",
            code=CODE_UNAUTHORIZED,
        )
    return SignerInfo(
        public_key=bytes(pub.key),
        address=address_from_public_key(pub.key),
        sequence=int(info.sequence),
        sign_mode=mode,
    )


def _decode_raw(tx_bytes: object, max_tx_bytes: int) -> tuple[bytes, tx_pb2.TxRaw]:
    if not isinstance(tx_bytes, bytes | bytearray | memoryview):
        raise TxDecodeError(f"tx bytes must be bytes, got {type(tx_bytes).__name__}")
    data = bytes(tx_bytes)
    if not data:
        raise TxDecodeError("tx bytes are empty")
    if len(data) > max_tx_bytes:
        raise TxDecodeError(
            f"tx is {len(data)} bytes, more than the {max_tx_bytes} allowed",
            code=CODE_TX_TOO_LARGE,
        )
    raw = _parse(tx_pb2.TxRaw(), data, "tx bytes")
    _reject_unknown_fields(raw, "TxRaw", allow_non_critical=False)
    if raw.SerializeToString(deterministic=True) != data:
        raise TxDecodeError(
            "tx bytes are not in canonical encoding (fields out of order, repeated, "
            "or holding default values; see ADR-027)"
        )
    return data, raw


def _check_layout(raw: tx_pb2.TxRaw, body: tx_pb2.TxBody, auth_info: tx_pb2.AuthInfo) -> None:
    if not raw.signatures:
        raise TxDecodeError("the tx carries no signature", code=CODE_NO_SIGNATURES)
    if len(auth_info.signer_infos) != 1:
        raise TxDecodeError(
            f"this node accepts exactly one signer per tx, got {len(auth_info.signer_infos)}",
            code=CODE_UNAUTHORIZED,
        )
    if len(raw.signatures) != 1:
        raise TxDecodeError(
            f"wrong number of signatures; expected 1, got {len(raw.signatures)}",
            code=CODE_UNAUTHORIZED,
        )
    if body.extension_options:
        raise TxDecodeError(
            "extension options are not supported", code=CODE_UNKNOWN_EXTENSION_OPTIONS
        )
    if auth_info.HasField("tip"):
        raise TxDecodeError("tips are not supported", code=CODE_INVALID_REQUEST)
    if not body.messages:
        raise TxDecodeError("must contain at least one message", code=CODE_INVALID_REQUEST)


def _signer_hint(body: tx_pb2.TxBody) -> SignerHint | None:
    """Our one known non-critical extension; any other is refused, not silently ignored."""
    hint: SignerHint | None = None
    for option in body.non_critical_extension_options:
        if option.type_url != SIGNER_HINT_TYPE_URL or hint is not None:
            raise TxDecodeError(
                f"unknown non-critical extension option {option.type_url}",
                code=CODE_UNKNOWN_EXTENSION_OPTIONS,
            )
        parsed = _parse(hint_pb2.SignerHint(), option.value, "signer hint")
        hint = SignerHint(chain_id=parsed.chain_id, account_number=int(parsed.account_number))
    return hint


def _fee(fee: tx_pb2.Fee) -> Fee:
    if fee.payer or fee.granter:
        raise TxDecodeError(
            "fee payer and granter are not supported; the signer pays",
            code=CODE_INVALID_REQUEST,
        )
    return Fee(amount=_coins(fee.amount, "fee"), gas_limit=int(fee.gas_limit))


def _memo(memo: str) -> str:
    size = len(memo.encode())
    if size > MAX_MEMO_BYTES:
        raise TxDecodeError(
            f"maximum number of characters is {MAX_MEMO_BYTES} but received {size} characters",
            code=CODE_MEMO_TOO_LARGE,
        )
    return memo


def decode_tx(tx_bytes: bytes, *, max_tx_bytes: int = MAX_TX_BYTES) -> DecodedTx:
    """Decode and shape-check broadcast ``tx_bytes`` (see the module docstring).

    Raises :class:`~worker_manager.tx.errors.TxDecodeError` with the Cosmos code
    and a reason naming what is wrong.
    """
    data, raw = _decode_raw(tx_bytes, max_tx_bytes)
    body = _parse(tx_pb2.TxBody(), raw.body_bytes, "body_bytes")
    _reject_unknown_fields(body, "TxBody", allow_non_critical=True)
    auth_info = _parse(tx_pb2.AuthInfo(), raw.auth_info_bytes, "auth_info_bytes")
    _reject_unknown_fields(auth_info, "AuthInfo", allow_non_critical=False)
    _check_layout(raw, body, auth_info)

    messages = tuple(_message(i, packed) for i, packed in enumerate(body.messages))
    signer = _signer(auth_info.signer_infos[0])
    for message in messages:
        if message.sender != signer.address:
            raise TxDecodeError(
                f"pubKey does not match signer address {message.sender} with signer index: 0",
                code=CODE_INVALID_PUBKEY,
            )
    fee = _fee(auth_info.fee)
    memo = _memo(body.memo)
    return DecodedTx(
        tx_hash=tx_hash(data),
        body_bytes=bytes(raw.body_bytes),
        auth_info_bytes=bytes(raw.auth_info_bytes),
        signature=bytes(raw.signatures[0]),
        messages=messages,
        signer=signer,
        fee=fee,
        memo=memo,
        timeout_height=int(body.timeout_height),
        signer_hint=_signer_hint(body),
    )


def verify_tx_signature(decoded: DecodedTx, chain_id: str, account_number: int) -> bool:
    """Whether the signature is valid over ``SignDoc(raw body, raw auth info, chain, account)``.

    High-S signatures and signatures of the wrong length are refused (False), as
    Cosmos does; a wrong chain id or account number also gives False.
    """
    if not 0 <= account_number < 2**64:
        return False
    sign_bytes = sign_doc_bytes(
        decoded.body_bytes, decoded.auth_info_bytes, chain_id, account_number
    )
    try:
        return verify_compact(
            decoded.signer.public_key,
            decoded.signature,
            hashlib.sha256(sign_bytes).digest(),
            allow_high_s=False,
        )
    except SignatureError:
        return False
