"""secp256k1 signing and verification through libsecp256k1 (``coincurve``).

Two signature rules live here. Cosmos transactions need low-S 64-byte
signatures over ``sha256(sign bytes)``. The Rust WorkerManager checks a
subscriber's proof with CosmWasm's ``secp256k1_verify``, which normalises a
high-S signature first, so :func:`verify_compact` can do that too.
"""

import hashlib
from dataclasses import dataclass

import coincurve
from coincurve import ecdsa


class SignatureError(ValueError):
    """A public key or signature is malformed; the message says which and why."""


def parse_public_key(public_key: bytes) -> coincurve.PublicKey:
    """Parse a 33-byte compressed public key, or raise SignatureError."""
    if len(public_key) != 33:
        raise SignatureError(f"public key must be 33 bytes (compressed), got {len(public_key)}")
    try:
        return coincurve.PublicKey(public_key)
    except ValueError as exc:
        raise SignatureError("public key is not a point on secp256k1") from exc


def verify_compact(
    public_key: bytes,
    signature: bytes,
    message_hash: bytes,
    *,
    allow_high_s: bool = False,
) -> bool:
    """Check a 64-byte ``r || s`` signature over a 32-byte hash.

    Returns False for a well-formed signature that does not verify, and raises
    SignatureError for a malformed key or signature.
    """
    if len(message_hash) != 32:
        raise SignatureError(f"message hash must be 32 bytes, got {len(message_hash)}")
    if len(signature) != 64:
        raise SignatureError(f"signature must be 64 bytes (r || s), got {len(signature)}")
    key = parse_public_key(public_key)
    try:
        raw = ecdsa.deserialize_compact(signature)
    except ValueError as exc:
        raise SignatureError("signature values are out of range") from exc
    if allow_high_s:
        _, raw = ecdsa.signature_normalize(raw)
    der = ecdsa.cdata_to_der(raw)
    return bool(key.verify(der, message_hash, hasher=None))


@dataclass(frozen=True, slots=True)
class PrivateKey:
    """A secp256k1 private key that signs the way Cosmos wallets do."""

    secret: bytes

    def __post_init__(self) -> None:
        if len(self.secret) != 32:
            raise SignatureError("private key must be 32 bytes")
        try:
            coincurve.PrivateKey(self.secret)
        except ValueError as exc:
            raise SignatureError("private key is out of range") from exc

    def __repr__(self) -> str:
        return f"PrivateKey(public_key={self.public_key.hex()})"

    @classmethod
    def generate(cls) -> "PrivateKey":
        """A new random key from the operating system's generator (libsecp256k1 checks range)."""
        return cls(coincurve.PrivateKey().secret)

    @property
    def public_key(self) -> bytes:
        """The 33-byte compressed public key."""
        return bytes(coincurve.PrivateKey(self.secret).public_key.format(compressed=True))

    @property
    def address(self) -> str:
        """The ``secret1…`` account address of this key."""
        from worker_manager.keys.address import address_from_public_key

        return address_from_public_key(self.public_key)

    def sign_hash(self, message_hash: bytes) -> bytes:
        """Deterministic (RFC 6979), low-S, 64-byte ``r || s`` signature over a 32-byte hash."""
        if len(message_hash) != 32:
            raise SignatureError(f"message hash must be 32 bytes, got {len(message_hash)}")
        der = coincurve.PrivateKey(self.secret).sign(message_hash, hasher=None)
        return bytes(ecdsa.serialize_compact(ecdsa.der_to_cdata(der)))

    def sign(self, message: bytes) -> bytes:
        """Sign ``sha256(message)``, as Cosmos SIGN_MODE_DIRECT does."""
        return self.sign_hash(hashlib.sha256(message).digest())
