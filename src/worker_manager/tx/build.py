"""Build and sign transactions the way secret-sdk's ``Wallet.execute_tx`` does.

One signer, ``SIGN_MODE_DIRECT``: the signature is
``PrivateKey.sign(SignDoc(body_bytes, auth_info_bytes, chain_id, account_number))``,
deterministic and low-S, and the result is serialized ``TxRaw`` bytes, ready to
be broadcast as base64 ``tx_bytes``.
"""

from collections.abc import Sequence

from google.protobuf.any_pb2 import Any as AnyPb

from worker_manager.keys import AddressError, PrivateKey, address_bytes
from worker_manager.tx.errors import TxBuildError
from worker_manager.tx.proto.cosmos.base.v1beta1 import coin_pb2
from worker_manager.tx.proto.cosmos.crypto.secp256k1 import keys_pb2
from worker_manager.tx.proto.cosmos.tx.signing.v1beta1 import signing_pb2
from worker_manager.tx.proto.cosmos.tx.v1beta1 import tx_pb2
from worker_manager.tx.proto.secret.compute.v1beta1 import msg_pb2
from worker_manager.tx.proto.worker_manager.tx.v1 import hint_pb2
from worker_manager.tx.types import (
    DEFAULT_FEE,
    EXECUTE_CONTRACT_TYPE_URL,
    SECP256K1_PUBKEY_TYPE_URL,
    SIGNER_HINT_TYPE_URL,
    CoinError,
    ExecuteContractMsg,
    Fee,
    SignerHint,
    TxCoin,
    validate_coins,
)


def _coins_pb(coins: Sequence[TxCoin]) -> list[coin_pb2.Coin]:
    return [coin_pb2.Coin(denom=c.denom, amount=str(c.amount)) for c in coins]


def _raw_address(address: str, what: str) -> bytes:
    try:
        return address_bytes(address)
    except AddressError as exc:
        raise TxBuildError(f"{what}: {exc}") from exc


def sign_doc_bytes(
    body_bytes: bytes, auth_info_bytes: bytes, chain_id: str, account_number: int
) -> bytes:
    """The serialized ``SignDoc`` that ``SIGN_MODE_DIRECT`` signs."""
    doc = tx_pb2.SignDoc(
        body_bytes=body_bytes,
        auth_info_bytes=auth_info_bytes,
        chain_id=chain_id,
        account_number=account_number,
    )
    return doc.SerializeToString(deterministic=True)


def encode_body(
    messages: Sequence[ExecuteContractMsg],
    *,
    memo: str = "",
    timeout_height: int = 0,
    hint: SignerHint | None = None,
) -> bytes:
    """Serialize a ``TxBody`` holding ``messages`` (raw 20/32-byte addresses inside).

    ``hint`` adds our non-critical :class:`SignerHint` extension option.
    """
    body = tx_pb2.TxBody(memo=memo, timeout_height=timeout_height)
    if hint is not None:
        packed = hint_pb2.SignerHint(chain_id=hint.chain_id, account_number=hint.account_number)
        body.non_critical_extension_options.append(
            AnyPb(type_url=SIGNER_HINT_TYPE_URL, value=packed.SerializeToString(deterministic=True))
        )
    for message in messages:
        try:
            validate_coins(message.sent_funds, "sent_funds")
        except CoinError as exc:
            raise TxBuildError(str(exc)) from exc
        execute = msg_pb2.MsgExecuteContract(
            sender=_raw_address(message.sender, "sender"),
            contract=_raw_address(message.contract, "contract"),
            msg=message.msg,
            callback_code_hash=message.callback_code_hash,
            sent_funds=_coins_pb(message.sent_funds),
            callback_sig=message.callback_sig,
        )
        body.messages.append(
            AnyPb(
                type_url=EXECUTE_CONTRACT_TYPE_URL,
                value=execute.SerializeToString(deterministic=True),
            )
        )
    return body.SerializeToString(deterministic=True)


def encode_auth_info(public_key: bytes, *, sequence: int, fee: Fee) -> bytes:
    """Serialize an ``AuthInfo`` with one secp256k1 ``SIGN_MODE_DIRECT`` signer."""
    pub = keys_pb2.PubKey(key=public_key)
    signer = tx_pb2.SignerInfo(
        public_key=AnyPb(
            type_url=SECP256K1_PUBKEY_TYPE_URL, value=pub.SerializeToString(deterministic=True)
        ),
        mode_info=tx_pb2.ModeInfo(
            single=tx_pb2.ModeInfo.Single(mode=signing_pb2.SIGN_MODE_DIRECT),
        ),
        sequence=sequence,
    )
    auth_info = tx_pb2.AuthInfo(
        signer_infos=[signer],
        fee=tx_pb2.Fee(
            amount=_coins_pb(fee.amount),
            gas_limit=fee.gas_limit,
            payer=fee.payer,
            granter=fee.granter,
        ),
    )
    return auth_info.SerializeToString(deterministic=True)


def build_tx(
    key: PrivateKey,
    messages: Sequence[ExecuteContractMsg],
    *,
    chain_id: str,
    account_number: int,
    sequence: int,
    fee: Fee = DEFAULT_FEE,
    memo: str = "",
    timeout_height: int = 0,
    with_hint: bool = False,
) -> bytes:
    """Sign ``messages`` with ``key`` and return the ``TxRaw`` bytes.

    Every message's ``sender`` must be ``key``'s address: that is what a node
    checks. ``with_hint`` adds a :class:`SignerHint` so a worker-manager node can
    name a wrong chain id or account number instead of only "bad signature".
    Raises :class:`~worker_manager.tx.errors.TxBuildError` for bad input.
    """
    if not messages:
        raise TxBuildError("a transaction needs at least one message")
    signer = key.address
    for message in messages:
        if message.sender != signer:
            raise TxBuildError(f"message sender {message.sender} is not the signer {signer}")
    for name, value in (
        ("account_number", account_number),
        ("sequence", sequence),
        ("timeout_height", timeout_height),
        ("gas_limit", fee.gas_limit),
    ):
        if not 0 <= value < 2**64:
            raise TxBuildError(f"{name} must fit in an unsigned 64-bit integer, got {value}")
    try:
        validate_coins(fee.amount, "fee")
    except CoinError as exc:
        raise TxBuildError(str(exc)) from exc
    hint = SignerHint(chain_id, account_number) if with_hint else None
    body_bytes = encode_body(messages, memo=memo, timeout_height=timeout_height, hint=hint)
    auth_info_bytes = encode_auth_info(key.public_key, sequence=sequence, fee=fee)
    signature = key.sign(sign_doc_bytes(body_bytes, auth_info_bytes, chain_id, account_number))
    raw = tx_pb2.TxRaw(
        body_bytes=body_bytes, auth_info_bytes=auth_info_bytes, signatures=[signature]
    )
    return raw.SerializeToString(deterministic=True)


def build_execute_tx(
    key: PrivateKey,
    contract: str,
    msg: bytes,
    *,
    chain_id: str,
    account_number: int,
    sequence: int,
    sent_funds: Sequence[TxCoin] = (),
    fee: Fee = DEFAULT_FEE,
    memo: str = "",
    timeout_height: int = 0,
    with_hint: bool = False,
) -> bytes:
    """One ``MsgExecuteContract`` from ``key``'s address to ``contract``, signed.

    ``msg`` is the already encrypted envelope
    (:func:`worker_manager.secret.encryption.seal_envelope`).
    """
    message = ExecuteContractMsg(
        sender=key.address, contract=contract, msg=msg, sent_funds=tuple(sent_funds)
    )
    return build_tx(
        key,
        [message],
        chain_id=chain_id,
        account_number=account_number,
        sequence=sequence,
        fee=fee,
        memo=memo,
        timeout_height=timeout_height,
        with_hint=with_hint,
    )
