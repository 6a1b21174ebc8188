"""Helpers for tx tests: keys, and raw transactions assembled from protobuf parts.

Parts are serialized by the generated classes; a test that needs an odd encoding
(fields out of order, unknown fields) concatenates serialized messages, which
protobuf defines as merging, or uses :func:`unknown_field`.
"""

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.any_pb2 import Any as AnyPb

from worker_manager.keys import PrivateKey
from worker_manager.keys.address import address_bytes
from worker_manager.tx import sign_doc_bytes
from worker_manager.tx.proto.cosmos.base.v1beta1 import coin_pb2
from worker_manager.tx.proto.cosmos.crypto.secp256k1 import keys_pb2
from worker_manager.tx.proto.cosmos.tx.signing.v1beta1 import signing_pb2
from worker_manager.tx.proto.cosmos.tx.v1beta1 import tx_pb2
from worker_manager.tx.proto.secret.compute.v1beta1 import msg_pb2

CHAIN_ID = "secret-4"
ACCOUNT_NUMBER = 7
SIGNER = PrivateKey(bytes.fromhex("11" * 32))
OTHER = PrivateKey(bytes.fromhex("22" * 32))
CONTRACT = "secret1xv90yettghx8uv6ug23knaf5mjqwlsghau6aqa"
ENVELOPE = bytes(range(64)) + b"ciphertext"
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def execute_any(
    *,
    sender: bytes | None = None,
    contract: bytes | None = None,
    msg: bytes = ENVELOPE,
    funds: list[tuple[str, str]] | None = None,
    callback_code_hash: str = "",
    callback_sig: bytes = b"",
    type_url: str = "/secret.compute.v1beta1.MsgExecuteContract",
    extra: bytes = b"",
) -> AnyPb:
    execute = msg_pb2.MsgExecuteContract(
        sender=address_bytes(SIGNER.address) if sender is None else sender,
        contract=address_bytes(CONTRACT) if contract is None else contract,
        msg=msg,
        callback_code_hash=callback_code_hash,
        sent_funds=[coin_pb2.Coin(denom=d, amount=a) for d, a in (funds or [])],
        callback_sig=callback_sig,
    )
    return AnyPb(type_url=type_url, value=execute.SerializeToString() + extra)


def pubkey_any(
    key: bytes | None = None, type_url: str = "/cosmos.crypto.secp256k1.PubKey"
) -> AnyPb:
    pub = keys_pb2.PubKey(key=SIGNER.public_key if key is None else key)
    return AnyPb(type_url=type_url, value=pub.SerializeToString())


def signer_info(
    *,
    public_key: AnyPb | None = None,
    mode: int = signing_pb2.SIGN_MODE_DIRECT,
    sequence: int = 0,
    with_mode: bool = True,
    with_key: bool = True,
) -> tx_pb2.SignerInfo:
    info = tx_pb2.SignerInfo(sequence=sequence)
    if with_key:
        info.public_key.CopyFrom(public_key or pubkey_any())
    if with_mode:
        info.mode_info.single.mode = mode  # type: ignore[assignment]
    return info


def auth_info(
    *,
    signers: list[tx_pb2.SignerInfo] | None = None,
    fee: list[tuple[str, str]] | None = None,
    gas_limit: int = 200_000,
    payer: str = "",
    granter: str = "",
) -> tx_pb2.AuthInfo:
    return tx_pb2.AuthInfo(
        signer_infos=[signer_info()] if signers is None else signers,
        fee=tx_pb2.Fee(
            amount=[coin_pb2.Coin(denom=d, amount=a) for d, a in (fee or [("uscrt", "50000")])],
            gas_limit=gas_limit,
            payer=payer,
            granter=granter,
        ),
    )


def body(*, messages: list[AnyPb] | None = None, memo: str = "") -> tx_pb2.TxBody:
    return tx_pb2.TxBody(messages=[execute_any()] if messages is None else messages, memo=memo)


def raw_tx(
    body_bytes: bytes,
    auth_info_bytes: bytes,
    *,
    key: PrivateKey = SIGNER,
    signatures: list[bytes] | None = None,
    chain_id: str = CHAIN_ID,
    account_number: int = ACCOUNT_NUMBER,
) -> bytes:
    """A TxRaw over exactly these bytes, signed by ``key`` unless signatures are given."""
    if signatures is None:
        doc = sign_doc_bytes(body_bytes, auth_info_bytes, chain_id, account_number)
        signatures = [key.sign(doc)]
    raw = tx_pb2.TxRaw(
        body_bytes=body_bytes, auth_info_bytes=auth_info_bytes, signatures=signatures
    )
    return raw.SerializeToString()


def make_tx(
    body_msg: tx_pb2.TxBody | None = None, auth_msg: tx_pb2.AuthInfo | None = None, **kwargs: object
) -> bytes:
    return raw_tx(
        (body_msg or body()).SerializeToString(),
        (auth_msg or auth_info()).SerializeToString(),
        **kwargs,  # type: ignore[arg-type]
    )


def high_s(signature: bytes) -> bytes:
    """The other valid signature with the same r: (r, n - s)."""
    s = int.from_bytes(signature[32:], "big")
    return signature[:32] + (SECP256K1_N - s).to_bytes(32, "big")


_UNKNOWN_CLASSES: dict[int, type] = {}


def unknown_field(number: int, value: int = 1) -> bytes:
    """The encoding of a uint64 field ``number``, made by a one-field dynamic message."""
    if number not in _UNKNOWN_CLASSES:
        pool = descriptor_pool.DescriptorPool()
        file = descriptor_pb2.FileDescriptorProto(
            name=f"wm_test_unknown_{number}.proto", package="wmtest", syntax="proto3"
        )
        message = file.message_type.add(name="Probe")
        message.field.add(
            name="value",
            number=number,
            type=descriptor_pb2.FieldDescriptorProto.TYPE_UINT64,
            label=descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL,
        )
        pool.Add(file)
        descriptor = pool.FindMessageTypeByName("wmtest.Probe")
        _UNKNOWN_CLASSES[number] = message_factory.GetMessageClass(descriptor)
    return bytes(_UNKNOWN_CLASSES[number](value=value).SerializeToString())
