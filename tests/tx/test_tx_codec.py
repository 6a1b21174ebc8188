"""Build, decode and verify transactions with real keys and signatures."""

import hashlib

import pytest

from tests.tx.txhelpers import (
    ACCOUNT_NUMBER,
    CHAIN_ID,
    CONTRACT,
    ENVELOPE,
    OTHER,
    SECP256K1_N,
    SIGNER,
    auth_info,
    body,
    execute_any,
    high_s,
    raw_tx,
)
from worker_manager.keys import verify_compact
from worker_manager.keys.mnemonic import key_from_mnemonic
from worker_manager.tx import (
    DEFAULT_FEE,
    SIGN_MODE_DIRECT,
    CoinError,
    ExecuteContractMsg,
    Fee,
    SignerHint,
    TxBuildError,
    TxCoin,
    build_execute_tx,
    build_tx,
    decode_tx,
    fee_for_gas,
    sign_doc_bytes,
    tx_hash,
    tx_to_json,
    verify_tx_signature,
)
from worker_manager.tx.proto.cosmos.tx.v1beta1 import tx_pb2


def _build(**kwargs: object) -> bytes:
    options: dict[str, object] = {
        "chain_id": CHAIN_ID,
        "account_number": ACCOUNT_NUMBER,
        "sequence": 0,
    }
    options.update(kwargs)
    return build_execute_tx(SIGNER, CONTRACT, ENVELOPE, **options)  # type: ignore[arg-type]


def test_round_trip_fields() -> None:
    tx_bytes = _build(sequence=5, sent_funds=[TxCoin("uscrt", 10000)], memo="hello")
    decoded = decode_tx(tx_bytes)
    assert decoded.tx_hash == hashlib.sha256(tx_bytes).hexdigest().upper() == tx_hash(tx_bytes)
    (message,) = decoded.messages
    assert message == ExecuteContractMsg(
        sender=SIGNER.address,
        contract=CONTRACT,
        msg=ENVELOPE,
        sent_funds=(TxCoin("uscrt", 10000),),
    )
    assert message.type_url == "/secret.compute.v1beta1.MsgExecuteContract"
    assert decoded.sender == decoded.signer.address == SIGNER.address
    assert decoded.signer.public_key == SIGNER.public_key
    assert decoded.signer.sign_mode == SIGN_MODE_DIRECT
    assert decoded.sequence == decoded.signer.sequence == 5
    assert decoded.fee == Fee(amount=(TxCoin("uscrt", 50000),), gas_limit=200_000)
    assert decoded.memo == "hello"
    assert decoded.timeout_height == 0
    assert len(decoded.signature) == 64
    assert verify_tx_signature(decoded, CHAIN_ID, ACCOUNT_NUMBER)


def test_build_is_deterministic_and_low_s() -> None:
    first, second = _build(), _build()
    assert first == second
    signature = decode_tx(first).signature
    assert int.from_bytes(signature[32:], "big") <= SECP256K1_N // 2


def test_signature_is_over_the_sign_doc() -> None:
    decoded = decode_tx(_build())
    doc = sign_doc_bytes(decoded.body_bytes, decoded.auth_info_bytes, CHAIN_ID, ACCOUNT_NUMBER)
    parsed = tx_pb2.SignDoc.FromString(doc)
    assert (parsed.chain_id, parsed.account_number) == (CHAIN_ID, ACCOUNT_NUMBER)
    assert verify_compact(SIGNER.public_key, decoded.signature, hashlib.sha256(doc).digest())


def test_tx_raw_is_wire_identical_to_tx() -> None:
    tx_bytes = _build(sent_funds=[TxCoin("uscrt", 1)])
    tx = tx_pb2.Tx.FromString(tx_bytes)
    assert tx.body.messages[0].type_url == "/secret.compute.v1beta1.MsgExecuteContract"
    assert tx.auth_info.fee.gas_limit == 200_000
    assert tx.SerializeToString() == tx_bytes


def test_several_messages_and_options() -> None:
    messages = [
        ExecuteContractMsg(sender=SIGNER.address, contract=CONTRACT, msg=b"one"),
        ExecuteContractMsg(
            sender=SIGNER.address,
            contract=OTHER.address,
            msg=b"two",
            sent_funds=(TxCoin("ibc/ABC", 5), TxCoin("uscrt", 7)),
        ),
    ]
    fee = fee_for_gas(333_333)
    tx_bytes = build_tx(
        SIGNER,
        messages,
        chain_id="pulsar-3",
        account_number=2**64 - 1,
        sequence=2**64 - 1,
        fee=fee,
        memo="ü" * 128,
        timeout_height=99,
    )
    decoded = decode_tx(tx_bytes)
    assert decoded.messages == tuple(messages)
    assert decoded.fee == Fee(amount=(TxCoin("uscrt", 83334),), gas_limit=333_333)
    assert decoded.sequence == 2**64 - 1
    assert decoded.timeout_height == 99
    assert verify_tx_signature(decoded, "pulsar-3", 2**64 - 1)


def test_zero_account_number_and_empty_chain_id_are_valid_sign_docs() -> None:
    tx_bytes = _build(account_number=0, chain_id="")
    assert verify_tx_signature(decode_tx(tx_bytes), "", 0)


def test_fee_defaults() -> None:
    assert Fee(amount=(TxCoin("uscrt", 50000),), gas_limit=200_000) == DEFAULT_FEE
    assert fee_for_gas(1) == Fee(amount=(TxCoin("uscrt", 1),), gas_limit=1)  # 0.25 rounds up
    assert fee_for_gas(0).amount == ()


def test_known_mnemonic_address_signs() -> None:
    key = key_from_mnemonic(
        "arrest rain grunt tuna super test scan limit motion indicate weather script duty "
        "praise federal demand suffer grape learn arctic evil maple pumpkin pink"
    )
    tx_bytes = build_execute_tx(
        key, CONTRACT, ENVELOPE, chain_id=CHAIN_ID, account_number=1, sequence=0
    )
    decoded = decode_tx(tx_bytes)
    assert decoded.sender == "secret1snf0y77qz9hgh69fefffjdv5tedfd6rmewzzsz"
    assert verify_tx_signature(decoded, CHAIN_ID, 1)


# --- tampering -----------------------------------------------------------------


def test_wrong_chain_id_or_account_number_fails() -> None:
    decoded = decode_tx(_build())
    assert verify_tx_signature(decoded, CHAIN_ID, ACCOUNT_NUMBER)
    assert not verify_tx_signature(decoded, "secret-5", ACCOUNT_NUMBER)
    assert not verify_tx_signature(decoded, CHAIN_ID, ACCOUNT_NUMBER + 1)
    assert not verify_tx_signature(decoded, CHAIN_ID, -1)
    assert not verify_tx_signature(decoded, CHAIN_ID, 2**64)


def test_flipped_byte_in_body_fails_signature() -> None:
    tx = tx_pb2.TxRaw.FromString(_build())
    body_bytes = bytearray(tx.body_bytes)
    index = bytes(body_bytes).index(b"ciphertext")  # inside the envelope: still decodes
    body_bytes[index] ^= 0x20
    tampered = raw_tx(bytes(body_bytes), tx.auth_info_bytes, signatures=list(tx.signatures))
    decoded = decode_tx(tampered)
    assert decoded.messages[0].msg != ENVELOPE
    assert not verify_tx_signature(decoded, CHAIN_ID, ACCOUNT_NUMBER)


def test_changed_auth_info_fails_signature() -> None:
    tx = tx_pb2.TxRaw.FromString(_build())
    auth = tx_pb2.AuthInfo.FromString(tx.auth_info_bytes)
    auth.signer_infos[0].sequence = 1  # a replay with a bumped sequence
    tampered = raw_tx(tx.body_bytes, auth.SerializeToString(), signatures=list(tx.signatures))
    decoded = decode_tx(tampered)
    assert decoded.sequence == 1
    assert not verify_tx_signature(decoded, CHAIN_ID, ACCOUNT_NUMBER)


def test_high_s_signature_is_refused() -> None:
    tx = tx_pb2.TxRaw.FromString(_build())
    malleated = high_s(tx.signatures[0])
    decoded = decode_tx(raw_tx(tx.body_bytes, tx.auth_info_bytes, signatures=[malleated]))
    assert not verify_tx_signature(decoded, CHAIN_ID, ACCOUNT_NUMBER)
    # The same signature is mathematically valid: only its high S is refused.
    doc = sign_doc_bytes(tx.body_bytes, tx.auth_info_bytes, CHAIN_ID, ACCOUNT_NUMBER)
    digest = hashlib.sha256(doc).digest()
    assert verify_compact(SIGNER.public_key, malleated, digest, allow_high_s=True)


@pytest.mark.parametrize("signature", [b"", b"\x01" * 63, b"\x01" * 65, b"\xff" * 64, bytes(64)])
def test_malformed_signatures_fail(signature: bytes) -> None:
    tx = tx_pb2.TxRaw.FromString(_build())
    decoded = decode_tx(raw_tx(tx.body_bytes, tx.auth_info_bytes, signatures=[signature]))
    assert not verify_tx_signature(decoded, CHAIN_ID, ACCOUNT_NUMBER)


def test_signature_by_another_key_fails() -> None:
    tx_bytes = raw_tx(body().SerializeToString(), auth_info().SerializeToString(), key=OTHER)
    assert not verify_tx_signature(decode_tx(tx_bytes), CHAIN_ID, ACCOUNT_NUMBER)


def test_verification_uses_the_raw_bytes_not_a_re_encoding() -> None:
    # Body fields out of canonical order (memo before messages): valid protobuf,
    # signed as sent. Verifying over a re-encoding would fail.
    odd_body = (
        tx_pb2.TxBody(memo="first").SerializeToString()
        + tx_pb2.TxBody(messages=[execute_any()]).SerializeToString()
    )
    assert tx_pb2.TxBody.FromString(odd_body).SerializeToString() != odd_body
    decoded = decode_tx(raw_tx(odd_body, auth_info().SerializeToString()))
    assert decoded.body_bytes == odd_body
    assert decoded.memo == "first"
    assert verify_tx_signature(decoded, CHAIN_ID, ACCOUNT_NUMBER)


# --- builder input errors -------------------------------------------------------


def test_build_errors() -> None:
    options = {"chain_id": CHAIN_ID, "account_number": 1, "sequence": 0}
    with pytest.raises(TxBuildError, match="at least one message"):
        build_tx(SIGNER, [], **options)  # type: ignore[arg-type]
    with pytest.raises(TxBuildError, match="is not the signer"):
        build_tx(
            SIGNER,
            [ExecuteContractMsg(sender=OTHER.address, contract=CONTRACT, msg=b"x")],
            **options,  # type: ignore[arg-type]
        )
    with pytest.raises(TxBuildError, match=r"contract: .*checksum"):
        build_execute_tx(SIGNER, CONTRACT[:-1] + "x", b"x", **options)  # type: ignore[arg-type]
    with pytest.raises(TxBuildError, match="sequence must fit"):
        build_execute_tx(SIGNER, CONTRACT, b"x", chain_id=CHAIN_ID, account_number=1, sequence=-1)
    with pytest.raises(TxBuildError, match="account_number must fit"):
        build_execute_tx(
            SIGNER, CONTRACT, b"x", chain_id=CHAIN_ID, account_number=2**64, sequence=0
        )
    with pytest.raises(TxBuildError, match="not positive"):
        build_execute_tx(
            SIGNER,
            CONTRACT,
            b"x",
            sent_funds=[TxCoin("uscrt", 0)],
            **options,  # type: ignore[arg-type]
        )
    with pytest.raises(TxBuildError, match="sorted and unique"):
        build_execute_tx(
            SIGNER,
            CONTRACT,
            b"x",
            fee=Fee(amount=(TxCoin("uscrt", 1), TxCoin("uatom", 1)), gas_limit=1),
            **options,  # type: ignore[arg-type]
        )


def test_coin_validation() -> None:
    assert TxCoin.parse("10000uscrt") == TxCoin("uscrt", 10000)
    assert str(TxCoin("uscrt", 5)) == "5uscrt"
    for bad in ["uscrt", "10", "-5uscrt", "5u", ""]:
        with pytest.raises(CoinError):
            TxCoin.parse(bad)
    with pytest.raises(CoinError, match="invalid denom"):
        TxCoin("1bad", 1)
    with pytest.raises(CoinError, match="out of range"):
        TxCoin("uscrt", -1)
    with pytest.raises(CoinError, match="out of range"):
        TxCoin("uscrt", 2**256)
    with pytest.raises(CoinError, match="must be an integer"):
        TxCoin("uscrt", True)


def test_a_signer_hint_travels_signed_and_decodes() -> None:
    raw = build_execute_tx(
        SIGNER,
        CONTRACT,
        ENVELOPE,
        chain_id=CHAIN_ID,
        account_number=ACCOUNT_NUMBER,
        sequence=0,
        with_hint=True,
    )
    decoded = decode_tx(raw)
    assert decoded.signer_hint == SignerHint(CHAIN_ID, ACCOUNT_NUMBER)
    assert verify_tx_signature(decoded, CHAIN_ID, ACCOUNT_NUMBER)
    assert tx_to_json(decoded)["body"]["non_critical_extension_options"] == [
        {
            "@type": "/worker_manager.tx.v1.SignerHint",
            "chain_id": CHAIN_ID,
            "account_number": str(ACCOUNT_NUMBER),
        }
    ]
    plain = decode_tx(
        build_execute_tx(
            SIGNER, CONTRACT, ENVELOPE, chain_id=CHAIN_ID, account_number=7, sequence=0
        )
    )
    assert plain.signer_hint is None
