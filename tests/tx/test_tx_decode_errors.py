"""Every way decode_tx refuses a transaction, with its Cosmos code and reason."""

import pytest
from google.protobuf.any_pb2 import Any as AnyPb

from tests.tx.txhelpers import (
    OTHER,
    SIGNER,
    auth_info,
    body,
    execute_any,
    make_tx,
    pubkey_any,
    raw_tx,
    signer_info,
    unknown_field,
)
from worker_manager.keys.address import address_bytes
from worker_manager.tx import MAX_MEMO_BYTES, TxDecodeError, decode_tx
from worker_manager.tx.proto.cosmos.base.v1beta1 import coin_pb2
from worker_manager.tx.proto.cosmos.tx.signing.v1beta1 import signing_pb2
from worker_manager.tx.proto.cosmos.tx.v1beta1 import tx_pb2
from worker_manager.tx.proto.worker_manager.tx.v1 import hint_pb2
from worker_manager.tx.types import SIGNER_HINT_TYPE_URL


def _refused(tx_bytes: object, code: int, match: str) -> TxDecodeError:
    with pytest.raises(TxDecodeError, match=match) as exc:
        decode_tx(tx_bytes)  # type: ignore[arg-type]
    assert exc.value.code == code, exc.value
    assert exc.value.codespace == "sdk"
    # Safe to put in any LCD error body as is (LCD.md section 1).
    assert not set("'\"\\") & set(exc.value.raw_log), exc.value.raw_log
    return exc.value


def test_error_text_reads_like_a_cosmos_raw_log() -> None:
    error = _refused(b"\xff\xff\xff", 2, "is not a valid protobuf message")
    assert str(error) == error.raw_log
    assert error.raw_log.endswith(": tx parse error")
    assert repr(error).startswith("TxDecodeError(")


# --- code 2: bytes that do not decode ---------------------------------------------


@pytest.mark.parametrize("garbage", [b"\xff\xff\xff", b"\x0a\x05abc", b"\x08", b"\x07\x00"])
def test_garbage_bytes(garbage: bytes) -> None:
    _refused(garbage, 2, "not a valid protobuf message|unknown field")


def test_empty_and_non_bytes() -> None:
    _refused(b"", 2, "tx bytes are empty")
    _refused("CgQKAggB", 2, "tx bytes must be bytes, got str")


def test_bytearray_and_memoryview_accepted() -> None:
    tx_bytes = make_tx()
    assert decode_tx(bytearray(tx_bytes)).tx_hash == decode_tx(memoryview(tx_bytes)).tx_hash  # type: ignore[arg-type]


def test_too_large() -> None:
    tx_bytes = make_tx(body(messages=[execute_any(msg=b"x" * 2000)]))
    with pytest.raises(TxDecodeError, match="more than the 1000 allowed") as exc:
        decode_tx(tx_bytes, max_tx_bytes=1000)
    assert exc.value.code == 21


def test_unknown_field_in_tx_raw() -> None:
    _refused(make_tx() + unknown_field(4), 2, "TxRaw has unknown field 4")
    # Not even a non-critical one: TxRaw is decoded strictly.
    _refused(make_tx() + unknown_field(1025), 2, "TxRaw has unknown field 1025")


def test_non_canonical_tx_raw() -> None:
    raw = tx_pb2.TxRaw.FromString(make_tx())
    reordered = (
        tx_pb2.TxRaw(auth_info_bytes=raw.auth_info_bytes).SerializeToString()
        + tx_pb2.TxRaw(body_bytes=raw.body_bytes, signatures=raw.signatures).SerializeToString()
    )
    _refused(reordered, 2, "not in canonical encoding")
    repeated = make_tx() + tx_pb2.TxRaw(body_bytes=raw.body_bytes).SerializeToString()
    _refused(repeated, 2, "not in canonical encoding")


def test_body_and_auth_info_garbage() -> None:
    _refused(raw_tx(b"\xff\xff", auth_info().SerializeToString()), 2, "body_bytes is not a valid")
    _refused(raw_tx(body().SerializeToString(), b"\xff\xff"), 2, "auth_info_bytes is not a valid")


def test_unknown_fields_in_body_and_auth_info() -> None:
    body_bytes = body().SerializeToString()
    auth_bytes = auth_info().SerializeToString()
    _refused(raw_tx(body_bytes + unknown_field(4), auth_bytes), 2, "TxBody has unknown field 4")
    _refused(raw_tx(body_bytes, auth_bytes + unknown_field(9)), 2, "AuthInfo has unknown field 9")
    # Non-critical fields (bit 11 set) are allowed in the body only, as Cosmos does.
    assert decode_tx(raw_tx(body_bytes + unknown_field(1025), auth_bytes)).memo == ""
    _refused(
        raw_tx(body_bytes, auth_bytes + unknown_field(1025)), 2, "AuthInfo has unknown field 1025"
    )


def test_unknown_fields_nested() -> None:
    info = signer_info()
    info.mode_info.single.MergeFromString(unknown_field(7))
    _refused(
        make_tx(auth_msg=auth_info(signers=[info])),
        2,
        r"AuthInfo.signer_infos.mode_info.single has unknown field 7",
    )
    _refused(
        make_tx(body(messages=[execute_any(extra=unknown_field(9))])),
        2,
        "message 0 has unknown field 9",
    )
    pub = pubkey_any()
    pub.value += unknown_field(2)
    _refused(
        make_tx(auth_msg=auth_info(signers=[signer_info(public_key=pub)])),
        2,
        "public key has unknown field 2",
    )


def test_invalid_utf8_in_memo() -> None:
    # TxRaw's field 2 (bytes) has the number and wire type of TxBody's memo (string).
    bad_memo = tx_pb2.TxRaw(auth_info_bytes=b"\xff\xfe").SerializeToString()
    _refused(
        raw_tx(body().SerializeToString() + bad_memo, auth_info().SerializeToString()),
        2,
        "body_bytes is not a valid",
    )


def test_unknown_message_type() -> None:
    _refused(
        make_tx(body(messages=[execute_any(type_url="/cosmos.bank.v1beta1.MsgSend")])),
        2,
        "message 0: unable to resolve type URL /cosmos.bank.v1beta1.MsgSend; this node",
    )
    second = execute_any(type_url="/secret.compute.v1beta1.MsgInstantiateContract")
    _refused(make_tx(body(messages=[execute_any(), second])), 2, "message 1: unable to resolve")


def test_message_value_garbage() -> None:
    packed = AnyPb(type_url="/secret.compute.v1beta1.MsgExecuteContract", value=b"\xff\xff")
    _refused(make_tx(body(messages=[packed])), 2, "message 0 is not a valid protobuf")


# --- signatures and signers (15, 4) -----------------------------------------------


def test_no_signature() -> None:
    tx_bytes = raw_tx(body().SerializeToString(), auth_info().SerializeToString(), signatures=[])
    _refused(tx_bytes, 15, "carries no signature")


def test_two_signers() -> None:
    two = auth_info(signers=[signer_info(), signer_info()])
    tx_bytes = raw_tx(body().SerializeToString(), two.SerializeToString(), signatures=[b"a", b"b"])
    _refused(tx_bytes, 4, "exactly one signer per tx, got 2")
    _refused(make_tx(auth_msg=auth_info(signers=[])), 4, "exactly one signer per tx, got 0")


def test_signature_count_mismatch() -> None:
    tx_bytes = raw_tx(
        body().SerializeToString(), auth_info().SerializeToString(), signatures=[b"a" * 64] * 2
    )
    _refused(tx_bytes, 4, "wrong number of signatures; expected 1, got 2")


@pytest.mark.parametrize(
    ("mode", "name"),
    [
        (signing_pb2.SIGN_MODE_LEGACY_AMINO_JSON, "SIGN_MODE_LEGACY_AMINO_JSON"),
        (signing_pb2.SIGN_MODE_TEXTUAL, "SIGN_MODE_TEXTUAL"),
        (signing_pb2.SIGN_MODE_UNSPECIFIED, "SIGN_MODE_UNSPECIFIED"),
        (99, "99"),
    ],
)
def test_non_direct_sign_mode(mode: int, name: str) -> None:
    tx_bytes = make_tx(auth_msg=auth_info(signers=[signer_info(mode=mode)]))
    _refused(tx_bytes, 4, f"sign mode {name} is not supported; sign with SIGN_MODE_DIRECT")


def test_missing_mode_info() -> None:
    tx_bytes = make_tx(auth_msg=auth_info(signers=[signer_info(with_mode=False)]))
    _refused(tx_bytes, 4, "mode_info must be single")


# --- public key (8) ----------------------------------------------------------------


def test_missing_public_key() -> None:
    tx_bytes = make_tx(auth_msg=auth_info(signers=[signer_info(with_key=False)]))
    _refused(tx_bytes, 8, "public key is missing")


@pytest.mark.parametrize(
    "type_url", ["/cosmos.crypto.ed25519.PubKey", "/cosmos.crypto.multisig.LegacyAminoPubKey", ""]
)
def test_non_secp256k1_key(type_url: str) -> None:
    info = signer_info(public_key=pubkey_any(type_url=type_url))
    _refused(
        make_tx(auth_msg=auth_info(signers=[info])),
        8,
        "is not supported; only /cosmos.crypto.secp256k1.PubKey",
    )


@pytest.mark.parametrize(
    ("key", "match"),
    [
        (b"\x02" * 32, "must be 33 bytes"),
        (SIGNER.public_key + b"\x00", "must be 33 bytes"),
        (bytes.fromhex("04") + SIGNER.public_key[1:], "not a point on secp256k1"),
        (b"\x02" + b"\xff" * 32, "not a point on secp256k1"),
    ],
)
def test_bad_public_key_bytes(key: bytes, match: str) -> None:
    info = signer_info(public_key=pubkey_any(key=key))
    _refused(make_tx(auth_msg=auth_info(signers=[info])), 8, match)


def test_public_key_value_garbage() -> None:
    packed = AnyPb(type_url="/cosmos.crypto.secp256k1.PubKey", value=b"\xff\xff")
    info = signer_info(public_key=packed)
    _refused(make_tx(auth_msg=auth_info(signers=[info])), 8, "public key does not decode")


def test_sender_is_not_the_signer() -> None:
    other = address_bytes(OTHER.address)
    tx_bytes = make_tx(body(messages=[execute_any(), execute_any(sender=other)]))
    error = _refused(tx_bytes, 8, f"pubKey does not match signer address {OTHER.address}")
    assert error.raw_log.endswith("with signer index: 0: invalid pubkey")


# --- messages (7, 10, 18) --------------------------------------------------------------


def test_no_messages() -> None:
    _refused(make_tx(body(messages=[])), 18, "must contain at least one message")


def test_bad_addresses() -> None:
    _refused(
        make_tx(body(messages=[execute_any(sender=b"\x01" * 32)])),
        7,
        "sender must be a 20-byte account address, got 32 bytes",
    )
    _refused(
        make_tx(body(messages=[execute_any(contract=b"\x01" * 5)])),
        7,
        "invalid contract address: address must be 20 or 32 bytes, got 5",
    )


def test_32_byte_contract_address_is_fine() -> None:
    decoded = decode_tx(make_tx(body(messages=[execute_any(contract=b"\x01" * 32)])))
    assert decoded.messages[0].contract.startswith("secret1")


@pytest.mark.parametrize(
    ("funds", "match"),
    [
        ([("uscrt", "abc")], "amount abc of uscrt is not a whole number"),
        ([("uscrt", "-5")], "is not a whole number"),
        ([("uscrt", "")], r"amount \(empty\) of uscrt is not a whole number"),
        ([("uscrt", "0")], "not positive"),
        ([("u", "5")], "invalid denom"),
        ([("uscrt", "1" * 80)], "out of range"),
        ([("uscrt", "1"), ("uatom", "1")], "sorted and unique"),
        ([("uscrt", "1"), ("uscrt", "1")], "sorted and unique"),
    ],
)
def test_bad_sent_funds(funds: list[tuple[str, str]], match: str) -> None:
    error = _refused(make_tx(body(messages=[execute_any(funds=funds)])), 10, match)
    assert "sent_funds" in error.reason


def test_callback_fields_refused() -> None:
    _refused(
        make_tx(body(messages=[execute_any(callback_code_hash="ab")])),
        18,
        "callback_code_hash and callback_sig must be empty",
    )
    _refused(make_tx(body(messages=[execute_any(callback_sig=b"sig")])), 18, "must be empty")


# --- body and fee options (31, 18, 10, 12) ----------------------------------------------


def test_extension_options_refused() -> None:
    extended = body()
    extended.extension_options.append(AnyPb(type_url="/ext.Option", value=b""))
    _refused(make_tx(extended), 31, "extension options are not supported")
    non_critical = body()
    non_critical.non_critical_extension_options.append(AnyPb(type_url="/ext.Option"))
    _refused(make_tx(non_critical), 31, "unknown non-critical extension option /ext.Option")


def test_only_one_signer_hint_is_accepted() -> None:
    hint = AnyPb(
        type_url=SIGNER_HINT_TYPE_URL,
        value=hint_pb2.SignerHint(chain_id="c", account_number=1).SerializeToString(),
    )
    twice = body()
    twice.non_critical_extension_options.extend([hint, hint])
    _refused(make_tx(twice), 31, "unknown non-critical extension option")
    garbled = body()
    garbled.non_critical_extension_options.append(
        AnyPb(type_url=SIGNER_HINT_TYPE_URL, value=b"\xff\xff")
    )
    _refused(make_tx(garbled), 2, "signer hint is not a valid protobuf message")


def test_tip_refused() -> None:
    auth = auth_info()
    auth.tip.amount.append(coin_pb2.Coin(denom="uscrt", amount="1"))
    _refused(make_tx(auth_msg=auth), 18, "tips are not supported")


def test_fee_payer_and_granter_refused() -> None:
    _refused(make_tx(auth_msg=auth_info(payer=SIGNER.address)), 18, "payer and granter")
    _refused(make_tx(auth_msg=auth_info(granter=OTHER.address)), 18, "payer and granter")


def test_bad_fee_coins() -> None:
    _refused(make_tx(auth_msg=auth_info(fee=[("uscrt", "1.5")])), 10, "fee: amount 1.5 of uscrt")
    _refused(
        make_tx(auth_msg=auth_info(fee=[("uscrt", "0")])),
        10,
        "fee: coin 0uscrt amount is not positive",
    )


def test_empty_fee_is_decoded() -> None:
    auth = auth_info()
    del auth.fee.amount[:]
    decoded = decode_tx(make_tx(auth_msg=auth))
    assert decoded.fee.amount == ()


def test_memo_limit_counts_bytes() -> None:
    assert decode_tx(make_tx(body(memo="a" * MAX_MEMO_BYTES))).memo == "a" * MAX_MEMO_BYTES
    _refused(
        make_tx(body(memo="a" * (MAX_MEMO_BYTES + 1))),
        12,
        "maximum number of characters is 256 but received 257 characters",
    )
    _refused(make_tx(body(memo="é" * 129)), 12, "received 258 characters")
