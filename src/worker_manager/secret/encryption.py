"""Secret Network's contract-message encryption ("tx encryption"), both ends.

Secret clients encrypt every contract query and execute message to the node's
long-lived x25519 key, and expect answers encrypted back with the same
per-message key (LCD.md section 3):

- ``shared = X25519(node_private, client_public)`` (or the mirror on the client);
- ``key = HKDF-SHA256(ikm = shared || nonce, salt = HKDF_SALT, info = b"", 32 bytes)``;
- cipher: AES-SIV (RFC 5297, AES-128-SIV with a 32-byte key) with associated data
  ``[b""]``, a list holding one empty string, which is *not* the same as none;
- envelope: ``nonce (32) || client_public (32) || AES-SIV(key, code_hash_hex || msg_json)``.

Node side: :func:`open_envelope` (or :func:`decrypt_envelope` without the code
hash check) gives a :class:`MessageKey` and the message; :func:`encrypt_query_result`,
:func:`encrypt_error` and :func:`encrypt_execute_result` encrypt the answers.
Client side: :func:`seal_envelope`, :func:`decrypt_query_result`,
:func:`decrypt_error` and :func:`decrypt_execute_result`.
"""

import base64
import binascii
import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache
from typing import Any, Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESSIV
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

#: The HKDF salt every Secret client uses.
HKDF_SALT: Final = bytes.fromhex("000000000000000000024bead8df69990852c202db0e0097c1a12ea637d7e96d")
NONCE_SIZE: Final = 32
PUBLIC_KEY_SIZE: Final = 32
KEY_SIZE: Final = 32
#: How many peers' shared secrets a key pair keeps (32 bytes each, plus the key).
SHARED_SECRETS_KEPT: Final = 16_384
SIV_TAG_SIZE: Final = 16
CODE_HASH_CHARS: Final = 64
#: ``nonce || client public key``.
ENVELOPE_HEADER_SIZE: Final = NONCE_SIZE + PUBLIC_KEY_SIZE
#: Header, SIV tag and at least the code hash.
MIN_ENVELOPE_SIZE: Final = ENVELOPE_HEADER_SIZE + SIV_TAG_SIZE + CODE_HASH_CHARS

_ASSOCIATED_DATA: Final = [b""]
_CODE_HASH = re.compile(r"[0-9a-fA-F]{64}")


class EnvelopeErrorKind(StrEnum):
    """What is wrong with an envelope or an encrypted answer."""

    TOO_SHORT = "too_short"
    BAD_PUBLIC_KEY = "bad_public_key"
    UNDECRYPTABLE = "undecryptable"
    CODE_HASH_MISMATCH = "code_hash_mismatch"
    NOT_JSON = "not_json"
    NOT_BASE64 = "not_base64"


class EnvelopeError(ValueError):
    """An encrypted message cannot be opened; ``kind`` says why, the text says more.

    Messages never contain quote characters, so a node can put them as they are
    in an LCD error body (see LCD.md section 1).
    """

    def __init__(self, kind: EnvelopeErrorKind, reason: str) -> None:
        super().__init__(reason)
        self.kind = kind
        self.reason = reason

    def __repr__(self) -> str:
        return f"EnvelopeError({self.kind.value}, {self.reason!r})"


@dataclass(frozen=True, slots=True, repr=False)
class X25519KeyPair:
    """An x25519 key pair: the node's IO exchange key, or a client's key.

    ``private_key`` is the 32 raw bytes (Secret's "seed"; clamping happens inside
    X25519); ``public_key`` is derived from it.
    """

    private_key: bytes
    public_key: bytes = field(init=False)
    #: The exchange with a peer key, remembered: a Secret client keeps its key for its
    #: session, so each of its queries would otherwise pay for the same X25519 again.
    _exchange: Callable[[bytes], bytes] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.private_key, bytes) or len(self.private_key) != KEY_SIZE:
            raise ValueError(f"an x25519 private key is {KEY_SIZE} bytes")
        private = X25519PrivateKey.from_private_bytes(self.private_key)
        object.__setattr__(self, "public_key", private.public_key().public_bytes_raw())

        def exchange(peer_public_key: bytes) -> bytes:
            try:
                return private.exchange(X25519PublicKey.from_public_bytes(peer_public_key))
            except ValueError as exc:  # a low-order point gives an all-zero secret
                raise EnvelopeError(
                    EnvelopeErrorKind.BAD_PUBLIC_KEY,
                    "the peer public key is a low-order point, refused",
                ) from exc

        # bounded, thread-safe; a refused key raises and is not remembered
        object.__setattr__(self, "_exchange", lru_cache(maxsize=SHARED_SECRETS_KEPT)(exchange))

    @classmethod
    def generate(cls) -> "X25519KeyPair":
        """A new key pair from the operating system's random source."""
        return cls(os.urandom(KEY_SIZE))

    def __repr__(self) -> str:
        return f"X25519KeyPair(public_key={self.public_key.hex()})"

    def shared_secret(self, peer_public_key: bytes) -> bytes:
        """``X25519(private_key, peer_public_key)``, 32 bytes (the last
        :data:`SHARED_SECRETS_KEPT` peers' are kept)."""
        if len(peer_public_key) != PUBLIC_KEY_SIZE:
            raise EnvelopeError(
                EnvelopeErrorKind.BAD_PUBLIC_KEY,
                f"an x25519 public key is {PUBLIC_KEY_SIZE} bytes, got {len(peer_public_key)}",
            )
        return self._exchange(bytes(peer_public_key))


@dataclass(frozen=True, slots=True, repr=False)
class MessageKey:
    """The AES-SIV key of one message, with the nonce and client key it came from.

    The node keeps it (or the envelope, to derive it again) to encrypt the answer.
    """

    key: bytes
    nonce: bytes
    client_public_key: bytes

    def __repr__(self) -> str:
        client = self.client_public_key.hex()
        return f"MessageKey(nonce={self.nonce.hex()}, client_public_key={client})"


@dataclass(frozen=True, slots=True)
class OpenedEnvelope:
    """A decrypted contract message: its key, the code hash it named, its JSON."""

    context: MessageKey
    code_hash: str
    msg_json: bytes
    msg: Any


def derive_message_key(shared_secret: bytes, nonce: bytes) -> bytes:
    """``HKDF-SHA256(shared || nonce, salt=HKDF_SALT, info=b"")``, 32 bytes."""
    if len(nonce) != NONCE_SIZE:
        raise ValueError(f"the nonce is {NONCE_SIZE} bytes, got {len(nonce)}")
    hkdf = HKDF(algorithm=hashes.SHA256(), length=KEY_SIZE, salt=HKDF_SALT, info=b"")
    return hkdf.derive(shared_secret + nonce)


def _siv_encrypt(context: MessageKey, plaintext: bytes) -> bytes:
    return AESSIV(context.key).encrypt(plaintext, _ASSOCIATED_DATA)


def _siv_decrypt(context: MessageKey, ciphertext: bytes, what: str) -> bytes:
    if len(ciphertext) < SIV_TAG_SIZE:
        raise EnvelopeError(
            EnvelopeErrorKind.TOO_SHORT,
            f"{what} is {len(ciphertext)} bytes, shorter than the {SIV_TAG_SIZE}-byte SIV tag",
        )
    try:
        return AESSIV(context.key).decrypt(ciphertext, _ASSOCIATED_DATA)
    except InvalidTag as exc:
        raise EnvelopeError(
            EnvelopeErrorKind.UNDECRYPTABLE,
            f"{what} does not decrypt: it was encrypted to another key or altered",
        ) from exc


def _b64decode(text: str | bytes, what: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise EnvelopeError(EnvelopeErrorKind.NOT_BASE64, f"{what} is not base64") from exc


def _check_code_hash_argument(code_hash: str) -> str:
    if not _CODE_HASH.fullmatch(code_hash):
        raise ValueError("a code hash is 64 hexadecimal characters")
    return code_hash.lower()


# --- node side ---------------------------------------------------------------


def envelope_key(node_key: X25519KeyPair, envelope: bytes) -> MessageKey:
    """The message key of ``envelope`` without decrypting it (for answering later)."""
    if len(envelope) < ENVELOPE_HEADER_SIZE + SIV_TAG_SIZE:
        raise EnvelopeError(
            EnvelopeErrorKind.TOO_SHORT,
            f"encrypted message is {len(envelope)} bytes, too short to hold "
            f"nonce, public key and SIV tag ({ENVELOPE_HEADER_SIZE + SIV_TAG_SIZE} bytes)",
        )
    nonce = bytes(envelope[:NONCE_SIZE])
    client_public_key = bytes(envelope[NONCE_SIZE:ENVELOPE_HEADER_SIZE])
    shared = node_key.shared_secret(client_public_key)
    return MessageKey(
        key=derive_message_key(shared, nonce), nonce=nonce, client_public_key=client_public_key
    )


def decrypt_envelope(node_key: X25519KeyPair, envelope: bytes) -> tuple[MessageKey, bytes]:
    """Open ``nonce || client_pub || ciphertext``: the message key and the plaintext."""
    context = envelope_key(node_key, envelope)
    plaintext = _siv_decrypt(context, bytes(envelope[ENVELOPE_HEADER_SIZE:]), "encrypted message")
    return context, plaintext


def open_message(
    node_key: X25519KeyPair, envelope: bytes, code_hash: str
) -> tuple[MessageKey, str, bytes]:
    """Decrypt a contract message and check its code hash: the message key, the code
    hash it named and the bytes after it (not yet checked as UTF-8 or JSON: a node
    that answered these exact bytes before need not parse them again).

    The first 64 characters of the plaintext must be ``code_hash`` (compared
    case-insensitively).
    """
    expected = _check_code_hash_argument(code_hash)
    context, plaintext = decrypt_envelope(node_key, envelope)
    prefix = plaintext[:CODE_HASH_CHARS]
    try:
        named = prefix.decode("ascii")
    except UnicodeDecodeError:
        named = ""
    if not _CODE_HASH.fullmatch(named):
        raise EnvelopeError(
            EnvelopeErrorKind.CODE_HASH_MISMATCH,
            "the message does not start with a 64-character code hash",
        )
    if named.lower() != expected:
        raise EnvelopeError(
            EnvelopeErrorKind.CODE_HASH_MISMATCH,
            f"the message is for code hash {named.lower()}, but this contract has {expected}",
        )
    return context, named.lower(), plaintext[CODE_HASH_CHARS:]


def open_envelope(node_key: X25519KeyPair, envelope: bytes, code_hash: str) -> OpenedEnvelope:
    """Decrypt a contract message, check its code hash, parse its JSON.

    The first 64 characters of the plaintext must be ``code_hash`` (compared
    case-insensitively); the rest must be UTF-8 JSON.
    """
    context, named, msg_json = open_message(node_key, envelope, code_hash)
    try:
        text = msg_json.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise EnvelopeError(
            EnvelopeErrorKind.NOT_JSON, "the message after the code hash is not UTF-8"
        ) from exc
    try:
        msg = json.loads(text)
    except json.JSONDecodeError as exc:
        raise EnvelopeError(
            EnvelopeErrorKind.NOT_JSON,
            f"the message after the code hash is not JSON (line {exc.lineno} column {exc.colno})",
        ) from exc
    except RecursionError as exc:
        raise EnvelopeError(
            EnvelopeErrorKind.NOT_JSON, "the message after the code hash is nested too deeply"
        ) from exc
    return OpenedEnvelope(context=context, code_hash=named, msg_json=msg_json, msg=msg)


def encrypt_query_result(context: MessageKey, result: bytes) -> str:
    """The ``data`` of a query answer: ``base64(AES-SIV(key, base64(result)))``."""
    return base64.b64encode(_siv_encrypt(context, base64.b64encode(result))).decode("ascii")


def encrypt_error(context: MessageKey, error_json: bytes) -> str:
    """The ``<B64>`` of ``encrypted: <B64>: ... contract failed``: no inner base64 layer."""
    return base64.b64encode(_siv_encrypt(context, error_json)).decode("ascii")


def encrypt_execute_result(context: MessageKey, result: bytes) -> bytes:
    """``MsgExecuteContractResponse.data``: ``AES-SIV(key, base64(result))``.

    An empty result stays empty, as on Secret; clients read empty ciphertext as
    empty data.
    """
    if not result:
        return b""
    return _siv_encrypt(context, base64.b64encode(result))


# --- client side -------------------------------------------------------------


def seal_envelope(
    client_key: X25519KeyPair,
    node_public_key: bytes,
    code_hash: str,
    msg_json: bytes,
    *,
    nonce: bytes | None = None,
) -> tuple[bytes, MessageKey]:
    """Encrypt ``msg_json`` for the contract with ``code_hash``, as secret-sdk does.

    Returns the envelope and the key to decrypt the answer with. ``nonce`` is
    random unless given (tests only: a nonce must never be reused).
    """
    prefix = _check_code_hash_argument(code_hash).encode("ascii")
    nonce = os.urandom(NONCE_SIZE) if nonce is None else nonce
    shared = client_key.shared_secret(node_public_key)
    context = MessageKey(
        key=derive_message_key(shared, nonce),
        nonce=nonce,
        client_public_key=client_key.public_key,
    )
    envelope = nonce + client_key.public_key + _siv_encrypt(context, prefix + msg_json)
    return envelope, context


def client_message_key(
    client_key: X25519KeyPair, node_public_key: bytes, envelope: bytes
) -> MessageKey:
    """The key of an envelope this client sealed earlier (e.g. read back from a tx)."""
    if len(envelope) < ENVELOPE_HEADER_SIZE:
        raise EnvelopeError(
            EnvelopeErrorKind.TOO_SHORT,
            f"encrypted message is {len(envelope)} bytes, shorter than its header",
        )
    nonce = bytes(envelope[:NONCE_SIZE])
    if envelope[NONCE_SIZE:ENVELOPE_HEADER_SIZE] != client_key.public_key:
        raise EnvelopeError(
            EnvelopeErrorKind.BAD_PUBLIC_KEY, "the message was sealed by another client key"
        )
    shared = client_key.shared_secret(node_public_key)
    return MessageKey(
        key=derive_message_key(shared, nonce), nonce=nonce, client_public_key=client_key.public_key
    )


def decrypt_query_result(context: MessageKey, data: str) -> bytes:
    """Reverse :func:`encrypt_query_result`: the contract's answer bytes."""
    inner = _siv_decrypt(context, _b64decode(data, "query answer"), "query answer")
    return _b64decode(inner, "decrypted query answer")


def decrypt_error(context: MessageKey, encrypted: str) -> bytes:
    """Reverse :func:`encrypt_error`: the contract's error JSON bytes."""
    return _siv_decrypt(context, _b64decode(encrypted, "encrypted error"), "encrypted error")


def decrypt_execute_result(context: MessageKey, data: bytes) -> bytes:
    """Reverse :func:`encrypt_execute_result`."""
    if not data:
        return b""
    inner = _siv_decrypt(context, data, "execute result")
    return _b64decode(inner, "decrypted execute result")
