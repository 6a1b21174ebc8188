"""``secret1…`` addresses: bech32 with the ``secret`` prefix over 20 or 32 bytes.

An account address is ``ripemd160(sha256(compressed public key))``; contract
addresses on recent chains are 32 bytes. Addresses are case-insensitive in
bech32, and we keep the lower-case form as canonical.
"""

import hashlib
from functools import lru_cache

import bech32

ADDRESS_PREFIX = "secret"
_ALLOWED_LENGTHS = (20, 32)
_MAX_ADDRESS_CHARS = 90


class AddressError(ValueError):
    """The text is not a valid ``secret1…`` address; the message says why."""


def _ripemd160(data: bytes) -> bytes:
    try:
        h = hashlib.new("ripemd160")
    except ValueError:  # OpenSSL 3 without the legacy provider: bip32 ships a fallback
        from bip32.ripemd160 import ripemd160

        return bytes(ripemd160(data))
    h.update(data)
    return h.digest()


#: Addresses repeat (the same senders, owners and contract in tx after tx), and
#: bech32 in pure Python costs tens of microseconds: remember recent answers.
#: Sized for a network of 100,000 workers, each signing with its own key.
_CACHE_SIZE = 131_072


@lru_cache(maxsize=_CACHE_SIZE)
def address_from_bytes(raw: bytes, prefix: str = ADDRESS_PREFIX) -> str:
    """Encode raw address bytes (20 or 32) as bech32 text."""
    if len(raw) not in _ALLOWED_LENGTHS:
        raise AddressError(f"address must be 20 or 32 bytes, got {len(raw)}")
    data = bech32.convertbits(list(raw), 8, 5, True)
    if data is None:  # pragma: no cover - 8-to-5 bit conversion with padding cannot fail
        raise AddressError("cannot encode address")
    encoded = bech32.bech32_encode(prefix, data)
    if encoded is None:  # pragma: no cover - convertbits on bytes cannot fail
        raise AddressError("cannot encode address")
    return str(encoded)


@lru_cache(maxsize=_CACHE_SIZE)
def address_from_public_key(public_key: bytes, prefix: str = ADDRESS_PREFIX) -> str:
    """The account address of a 33-byte compressed secp256k1 public key."""
    if len(public_key) != 33:
        raise AddressError(f"public key must be 33 bytes (compressed), got {len(public_key)}")
    return address_from_bytes(_ripemd160(hashlib.sha256(public_key).digest()), prefix)


@lru_cache(maxsize=_CACHE_SIZE)
def address_bytes(address: str, prefix: str = ADDRESS_PREFIX) -> bytes:
    """Decode a bech32 address, checking prefix, checksum and length."""
    if not isinstance(address, str) or not address:
        raise AddressError("address is empty")
    if len(address) > _MAX_ADDRESS_CHARS:
        raise AddressError(f"address is longer than {_MAX_ADDRESS_CHARS} characters")
    if address != address.lower() and address != address.upper():
        raise AddressError("address mixes upper and lower case")
    hrp, data = bech32.bech32_decode(address)
    if hrp is None or data is None:
        raise AddressError("not a bech32 address (bad characters or checksum)")
    if hrp != prefix:
        raise AddressError(f"address prefix must be {prefix!r}, got {hrp!r}")
    raw = bech32.convertbits(data, 5, 8, False)
    if raw is None:
        raise AddressError("address payload is not whole bytes")
    if len(raw) not in _ALLOWED_LENGTHS:
        raise AddressError(f"address payload must be 20 or 32 bytes, got {len(raw)}")
    return bytes(raw)


def validate_address(address: str, prefix: str = ADDRESS_PREFIX) -> str:
    """Return the canonical (lower-case) form of a valid address, or raise AddressError."""
    address_bytes(address, prefix)
    return address.lower()
