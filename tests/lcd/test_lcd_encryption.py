"""Secret contract-message encryption: the LCD.md 3.5 vector, round trips, errors."""

import base64
import json

import pytest

from worker_manager.secret.encryption import (
    HKDF_SALT,
    MIN_ENVELOPE_SIZE,
    SHARED_SECRETS_KEPT,
    EnvelopeError,
    EnvelopeErrorKind,
    MessageKey,
    X25519KeyPair,
    client_message_key,
    decrypt_envelope,
    decrypt_error,
    decrypt_execute_result,
    decrypt_query_result,
    derive_message_key,
    encrypt_error,
    encrypt_execute_result,
    encrypt_query_result,
    envelope_key,
    open_envelope,
    seal_envelope,
)

# LCD.md section 3.5, checked against the client library.
NODE = X25519KeyPair(bytes(range(32)))
CLIENT = X25519KeyPair(bytes(range(32, 64)))
NONCE = bytes(range(64, 96))
NODE_PUB_B64 = "j0DFrbaPJWJK5bIU6nZ6bslNgp09e14a0bpvPiE4KF8="
CLIENT_PUB = "358072d6365880d1aeea329adf9121383851ed21a28e3b75e965d0d2cd166254"
SHARED = "9663aa1da97e848a914a436d04163dfbb89178f107f1b5b77ed3854203382854"
KEY = "a74e8fe240b08b58b86d925029b21890781b9b4dce640c13246d31df60234e18"
CODE_HASH = "af74387e276be8874f07bec3a87023ee49b0e7ebe08178c49d0a49c3c98ed60e"
MSG = b'{"get_models":{}}'
ENVELOPE_B64 = (
    "QEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFlaW1xdXl81gHLWNliA0a7qMprfkSE4OFHtIaKOO3XpZdDSzRZi"
    "VEKzuRktEl7gCQMlhQhJb6kNfJ6EtPe4ONL969XHJCoaMzbJIUdVrJIG2Ssu4TrFs/1qqjPDx7Ofq9bTaQfD"
    "96GQw26m7sQES5LjpAY0BhzQAVXkbAO1pM1hZbFDnMh6ZpM="
)
ANSWER = b'{"models":["m1"]}'
DATA = "tucD1PwcFR9+slhy8qo298u9so9MNgoWJ0DSAN+/0/xanpDQaZVpFA=="


def test_vector_keys_and_secret() -> None:
    assert HKDF_SALT.hex() == "000000000000000000024bead8df69990852c202db0e0097c1a12ea637d7e96d"
    assert base64.b64encode(NODE.public_key).decode() == NODE_PUB_B64
    assert CLIENT.public_key.hex() == CLIENT_PUB
    assert NODE.shared_secret(CLIENT.public_key).hex() == SHARED
    assert CLIENT.shared_secret(NODE.public_key).hex() == SHARED
    assert derive_message_key(bytes.fromhex(SHARED), NONCE).hex() == KEY


def test_vector_client_side_seal_is_byte_exact() -> None:
    envelope, context = seal_envelope(CLIENT, NODE.public_key, CODE_HASH, MSG, nonce=NONCE)
    assert len(envelope) == 161
    assert base64.b64encode(envelope).decode() == ENVELOPE_B64
    assert context.key.hex() == KEY
    assert decrypt_query_result(context, DATA) == ANSWER


def test_vector_node_side_open_and_answer() -> None:
    opened = open_envelope(NODE, base64.b64decode(ENVELOPE_B64), CODE_HASH)
    assert opened.msg == {"get_models": {}}
    assert opened.msg_json == MSG
    assert opened.code_hash == CODE_HASH
    assert opened.context.key.hex() == KEY
    assert opened.context.nonce == NONCE
    assert opened.context.client_public_key.hex() == CLIENT_PUB
    assert encrypt_query_result(opened.context, ANSWER) == DATA


def test_code_hash_compared_case_insensitively() -> None:
    envelope, _ = seal_envelope(CLIENT, NODE.public_key, CODE_HASH.upper(), MSG)
    assert open_envelope(NODE, envelope, CODE_HASH).code_hash == CODE_HASH
    envelope, _ = seal_envelope(CLIENT, NODE.public_key, CODE_HASH, MSG)
    assert open_envelope(NODE, envelope, CODE_HASH.upper()).msg == {"get_models": {}}


def test_random_nonce_and_keys_round_trip() -> None:
    node = X25519KeyPair.generate()
    client = X25519KeyPair.generate()
    msg = json.dumps({"register_worker": {"ip_address": "10.0.0.1", "note": "ünïcode"}}).encode()
    first, ctx1 = seal_envelope(client, node.public_key, CODE_HASH, msg)
    second, ctx2 = seal_envelope(client, node.public_key, CODE_HASH, msg)
    assert first[:32] != second[:32]  # fresh nonce every time
    assert ctx1.key != ctx2.key
    opened = open_envelope(node, first, CODE_HASH)
    assert opened.msg["register_worker"]["note"] == "ünïcode"
    result = b'{"ok":true}'
    assert decrypt_execute_result(ctx1, encrypt_execute_result(opened.context, result)) == result
    error = b'{"generic_err":{"msg":"unknown worker"}}'
    assert decrypt_error(ctx1, encrypt_error(opened.context, error)) == error
    assert client_message_key(client, node.public_key, first) == ctx1
    assert envelope_key(node, first) == opened.context


def test_empty_execute_result_stays_empty() -> None:
    _, context = seal_envelope(CLIENT, NODE.public_key, CODE_HASH, MSG)
    assert encrypt_execute_result(context, b"") == b""
    assert decrypt_execute_result(context, b"") == b""


def test_error_has_no_inner_base64_but_query_answer_has() -> None:
    _, context = seal_envelope(CLIENT, NODE.public_key, CODE_HASH, MSG)
    error = b'{"generic_err":{"msg":"x"}}'
    # Same key, same plaintext bytes, AES-SIV is deterministic: the error is the bare JSON.
    raw = base64.b64decode(encrypt_error(context, error))
    assert len(raw) == 16 + len(error)
    answer = base64.b64decode(encrypt_query_result(context, error))
    assert len(answer) == 16 + len(base64.b64encode(error))


def test_repr_hides_private_key_and_message_key() -> None:
    assert bytes(range(32)).hex() not in repr(NODE)
    _, context = seal_envelope(CLIENT, NODE.public_key, CODE_HASH, MSG)
    assert context.key.hex() not in repr(context)


# --- errors -----------------------------------------------------------------


def _kind(exc: pytest.ExceptionInfo[EnvelopeError]) -> EnvelopeErrorKind:
    return exc.value.kind


def _assert_quote_free(exc: pytest.ExceptionInfo[EnvelopeError]) -> None:
    # Node error bodies must survive secret-sdk's repr/quote re-parse (LCD.md 1).
    assert not set("'\"\\") & set(str(exc.value))


@pytest.mark.parametrize("size", [0, 1, 63, 64, 79])
def test_too_short(size: int) -> None:
    with pytest.raises(EnvelopeError, match=r"too short|shorter") as exc:
        decrypt_envelope(NODE, base64.b64decode(ENVELOPE_B64)[:size])
    assert _kind(exc) is EnvelopeErrorKind.TOO_SHORT
    _assert_quote_free(exc)


def test_min_envelope_size_constant() -> None:
    assert MIN_ENVELOPE_SIZE == 32 + 32 + 16 + 64
    assert len(base64.b64decode(ENVELOPE_B64)) >= MIN_ENVELOPE_SIZE


@pytest.mark.parametrize("position", [0, 31, 40, 64, 70, 100, 160])
def test_any_flipped_byte_is_refused(position: int) -> None:
    envelope = bytearray(base64.b64decode(ENVELOPE_B64))
    envelope[position] ^= 0x01
    with pytest.raises(EnvelopeError) as exc:
        open_envelope(NODE, bytes(envelope), CODE_HASH)
    assert _kind(exc) in {EnvelopeErrorKind.UNDECRYPTABLE, EnvelopeErrorKind.BAD_PUBLIC_KEY}
    _assert_quote_free(exc)


def test_foreign_ciphertext_is_refused() -> None:
    other_node = X25519KeyPair.generate()
    envelope, _ = seal_envelope(CLIENT, other_node.public_key, CODE_HASH, MSG)
    with pytest.raises(EnvelopeError, match="encrypted to another key or altered") as exc:
        open_envelope(NODE, envelope, CODE_HASH)
    assert _kind(exc) is EnvelopeErrorKind.UNDECRYPTABLE


def test_low_order_client_key_is_refused() -> None:
    envelope = NONCE + bytes(32) + bytes(100)  # the all-zero point
    with pytest.raises(EnvelopeError, match="low-order") as exc:
        decrypt_envelope(NODE, envelope)
    assert _kind(exc) is EnvelopeErrorKind.BAD_PUBLIC_KEY


def test_code_hash_mismatch() -> None:
    other = "00" * 32
    envelope, _ = seal_envelope(CLIENT, NODE.public_key, other, MSG)
    with pytest.raises(EnvelopeError, match=f"for code hash {other}, but this contract") as exc:
        open_envelope(NODE, envelope, CODE_HASH)
    assert _kind(exc) is EnvelopeErrorKind.CODE_HASH_MISMATCH
    _assert_quote_free(exc)


def _seal_raw(plaintext: bytes) -> bytes:
    """An envelope around any plaintext (bypassing seal_envelope's code-hash check)."""
    envelope, context = seal_envelope(CLIENT, NODE.public_key, CODE_HASH, b"", nonce=NONCE)
    from cryptography.hazmat.primitives.ciphers.aead import AESSIV

    return envelope[:64] + AESSIV(context.key).encrypt(plaintext, [b""])


@pytest.mark.parametrize(
    "plaintext", [b"", b'{"get_models":{}}', b"zz" * 32 + b"{}", b"\xff" * 64 + b"{}"]
)
def test_plaintext_without_code_hash(plaintext: bytes) -> None:
    with pytest.raises(EnvelopeError, match="does not start with a 64-character code hash") as exc:
        open_envelope(NODE, _seal_raw(plaintext), CODE_HASH)
    assert _kind(exc) is EnvelopeErrorKind.CODE_HASH_MISMATCH


@pytest.mark.parametrize(
    ("body", "match"),
    [
        (b"", "not JSON"),
        (b"{'single': 'quotes'}", "not JSON"),
        (b'{"a":', "not JSON"),
        (b"\xff\xfe", "not UTF-8"),
    ],
)
def test_message_not_json(body: bytes, match: str) -> None:
    with pytest.raises(EnvelopeError, match=match) as exc:
        open_envelope(NODE, _seal_raw(CODE_HASH.encode() + body), CODE_HASH)
    assert _kind(exc) is EnvelopeErrorKind.NOT_JSON
    _assert_quote_free(exc)


def test_bad_code_hash_argument() -> None:
    with pytest.raises(ValueError, match="64 hexadecimal"):
        open_envelope(NODE, base64.b64decode(ENVELOPE_B64), "0x" + CODE_HASH)
    with pytest.raises(ValueError, match="64 hexadecimal"):
        seal_envelope(CLIENT, NODE.public_key, "abc", MSG)


def test_bad_keys_and_nonce() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        X25519KeyPair(b"short")
    with pytest.raises(EnvelopeError, match="32 bytes") as exc:
        NODE.shared_secret(b"\x01" * 31)
    assert _kind(exc) is EnvelopeErrorKind.BAD_PUBLIC_KEY
    with pytest.raises(ValueError, match="nonce is 32 bytes"):
        seal_envelope(CLIENT, NODE.public_key, CODE_HASH, MSG, nonce=b"\x00" * 12)


def test_client_side_errors() -> None:
    envelope, context = seal_envelope(CLIENT, NODE.public_key, CODE_HASH, MSG)
    with pytest.raises(EnvelopeError, match="not base64") as exc:
        decrypt_query_result(context, "***")
    assert _kind(exc) is EnvelopeErrorKind.NOT_BASE64
    wrong = MessageKey(key=bytes(32), nonce=context.nonce, client_public_key=CLIENT.public_key)
    with pytest.raises(EnvelopeError, match="does not decrypt"):
        decrypt_query_result(wrong, encrypt_query_result(context, ANSWER))
    with pytest.raises(EnvelopeError, match="does not decrypt"):
        decrypt_execute_result(wrong, encrypt_execute_result(context, ANSWER))
    with pytest.raises(EnvelopeError, match="shorter than the 16-byte SIV tag"):
        decrypt_error(context, base64.b64encode(b"short").decode())
    with pytest.raises(EnvelopeError, match="sealed by another client key"):
        client_message_key(X25519KeyPair.generate(), NODE.public_key, envelope)
    with pytest.raises(EnvelopeError, match="shorter than its header"):
        client_message_key(CLIENT, NODE.public_key, envelope[:10])


def test_a_clients_shared_secret_is_kept_and_a_refused_key_never_is() -> None:
    """A Secret client keeps its x25519 key for its session: the node computes the
    exchange once per client key (bounded), with the same result as a fresh key pair,
    and a low-order key is refused every time, never remembered as a secret."""
    node = X25519KeyPair(bytes(range(32)))
    fresh = X25519KeyPair(bytes(range(32)))
    client = X25519KeyPair(bytes(range(1, 33)))
    first = node.shared_secret(client.public_key)
    assert node.shared_secret(client.public_key) is first  # remembered, not recomputed
    assert fresh.shared_secret(client.public_key) == first == client.shared_secret(node.public_key)
    for _ in range(2):
        with pytest.raises(EnvelopeError, match="low-order"):
            node.shared_secret(bytes(32))
    kept = node._exchange.cache_info()  # type: ignore[attr-defined]
    assert (kept.currsize, kept.maxsize) == (1, SHARED_SECRETS_KEPT)
