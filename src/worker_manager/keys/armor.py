"""ASCII-armored private keys, as ``secretcli keys export`` writes and ``keys import`` reads them.

The format is the Cosmos SDK's (``crypto/armor.go``), which Secret's ``secretcli``
inherits::

    -----BEGIN TENDERMINT PRIVATE KEY-----
    kdf: bcrypt
    salt: 6DC461CE7F38BDE0185D812633C3267B
    type: secp256k1

    <base64 of nonce(24) || secretbox(amino private key), 64 characters a line>
    =<base64 of the CRC-24 of the body (OpenPGP armor)>
    -----END TENDERMINT PRIVATE KEY-----

- the KDF: ``sha256(bcrypt(passphrase, salt, cost 12))``, where the bcrypt output is
  the whole ``$2a$12$<salt><hash>`` string and the salt the 16 bytes of the ``salt``
  header (cosmos-sdk's ``crypto/keys/bcrypt``, which takes the salt from the caller).
  Newer cosmos-sdk releases may write ``kdf: scrypt`` with a ``kdfparams:
  n=…,r=…,p=…,dklen=32`` header, the key being scrypt's output itself; that is read
  too, never written, so what we export opens in every secretcli;
- the cipher: NaCl's ``secretbox`` (XSalsa20-Poly1305), the 24-byte nonce in front
  (cosmos-sdk's ``xsalsa20symmetric``): a wrong passphrase fails its MAC;
- the plaintext: the amino encoding of the key, ``E1 B0 F7 9B`` (the prefix of
  ``tendermint/PrivKeySecp256k1``), ``0x20``, then the 32 key bytes.

Everything cryptographic comes from libraries (``bcrypt``, PyNaCl, ``cryptography``);
this module only frames bytes. Example::

    text = export_private_key(key, "export passphrase")
    assert import_private_key(text, "export passphrase") == key
"""

import base64
import binascii
import hashlib
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final

import bcrypt
import nacl.exceptions
import nacl.secret
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from worker_manager.keys.secp256k1 import PrivateKey, SignatureError

BLOCK_TYPE: Final = "TENDERMINT PRIVATE KEY"
KEY_TYPE: Final = "secp256k1"
#: cosmos-sdk's ``BcryptSecurityParameter``; the cost is not in the armor, so it is fixed.
BCRYPT_COST: Final = 12
#: ``secretcli`` refuses shorter passphrases (``client/input.MinPassLength``).
MIN_EXPORT_PASSPHRASE: Final = 8
#: The amino prefix of ``tendermint/PrivKeySecp256k1`` and the length byte of its 32 bytes.
AMINO_SECP256K1_PREFIX: Final = bytes.fromhex("e1b0f79b20")
_SALT_SIZE: Final = 16
_LINE: Final = 64
#: Go's armor reader refuses longer lines; a file this large is not a key.
_MAX_LINE: Final = 96
_MAX_TEXT: Final = 64 * 1024
#: bcrypt reads at most 72 bytes of a passphrase (Go's as well as ours).
_BCRYPT_MAX_PASSWORD: Final = 72
_MAX_SCRYPT_N: Final = 2**20
_BEGIN = re.compile(r"-----BEGIN (?P<type>[^-]+(?:-[^-]+)*)-----")
_STD = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_BCRYPT_ALPHABET = b"./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
_TO_BCRYPT = bytes.maketrans(_STD, _BCRYPT_ALPHABET)
_SCRYPT_PARAMS = re.compile(r"n=(\d+),r=(\d+),p=(\d+),dklen=(\d+)")


class ArmorError(ValueError):
    """Root of the errors reading or writing an armored key."""


class MalformedArmor(ArmorError):
    """The text is not an intact armored block (truncated, edited, not base64...)."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"not a valid armored private key: {reason}")
        self.reason = reason


class UnsupportedArmor(ArmorError):
    """A well-formed block this program cannot use (another block, KDF or key type)."""


class WrongArmorPassphrase(ArmorError):
    """The passphrase does not open the armored key (or its body was altered)."""

    def __init__(self) -> None:
        super().__init__("wrong passphrase for the armored key (or the key was altered)")


@dataclass(frozen=True, slots=True)
class Armor:
    """One decoded armor block: its type, its ``key: value`` headers and its bytes."""

    block_type: str
    headers: dict[str, str]
    data: bytes


def crc24(data: bytes) -> int:
    """The OpenPGP CRC-24 of ``data`` (RFC 4880, section 6.1): a checksum, not a MAC."""
    crc = 0xB704CE
    for byte in data:
        crc ^= byte << 16
        for _ in range(8):
            crc <<= 1
            if crc & 0x1000000:
                crc ^= 0x1864CFB
    return crc & 0xFFFFFF


def _checksum_line(data: bytes) -> str:
    return "=" + base64.b64encode(crc24(data).to_bytes(3, "big")).decode("ascii")


def encode_armor(block_type: str, headers: dict[str, str], data: bytes) -> str:
    """The armor Go's ``openpgp/armor`` writes (headers sorted, 64-character lines),
    with a final newline."""
    body = base64.b64encode(data).decode("ascii")
    lines = [f"-----BEGIN {block_type}-----"]
    lines += [f"{name}: {value}" for name, value in sorted(headers.items())]
    lines.append("")
    lines += [body[i : i + _LINE] for i in range(0, len(body), _LINE)]
    lines += [_checksum_line(data), f"-----END {block_type}-----"]
    return "\n".join(lines) + "\n"


def _begin(lines: Iterator[str]) -> str:
    for line in lines:
        begin = _BEGIN.fullmatch(line.strip())
        if begin:
            return begin["type"]
    raise MalformedArmor("no '-----BEGIN ...-----' line")


def _headers(lines: Iterator[str]) -> dict[str, str]:
    headers: dict[str, str] = {}
    for line in lines:
        stripped = line.strip()
        if not stripped:
            return headers
        name, separator, value = stripped.partition(": ")
        if not separator or not name:
            raise MalformedArmor(f"header line {stripped[:40]!r} is not 'name: value'")
        if name in headers:
            raise MalformedArmor(f"header {name!r} appears twice")
        headers[name] = value
    raise MalformedArmor("truncated: it ends in its headers")


def _body(lines: Iterator[str], block_type: str) -> tuple[list[str], str | None]:
    """The base64 lines up to END, and the checksum line's four characters if any."""
    body: list[str] = []
    checksum: str | None = None
    for line in lines:
        stripped = line.strip()
        if stripped.startswith("-----END "):
            if stripped != f"-----END {block_type}-----":
                raise MalformedArmor(f"the END line does not match BEGIN {block_type}")
            return body, checksum
        if checksum is not None:
            raise MalformedArmor("text after the checksum line, before END")
        if len(stripped) == 5 and stripped.startswith("="):
            checksum = stripped[1:]
        elif len(stripped) > _MAX_LINE:
            raise MalformedArmor(f"a body line is longer than {_MAX_LINE} characters")
        else:
            body.append(stripped)
    raise MalformedArmor("truncated: no '-----END ...-----' line")


def decode_armor(text: str) -> Armor:
    """Decode the first armor block in ``text`` (lines before it are skipped, as Go does).

    The checksum line is checked when present; Go's reader accepts a block without
    one, and so does this (the key's MAC protects it anyway). Raises :class:`MalformedArmor`.
    """
    if len(text) > _MAX_TEXT:
        raise MalformedArmor(f"larger than {_MAX_TEXT} bytes")
    lines = iter(text.splitlines())
    block_type = _begin(lines)
    headers = _headers(lines)
    body, checksum = _body(lines, block_type)
    try:
        data = base64.b64decode("".join(body), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise MalformedArmor(f"the body is not base64 ({exc})") from exc
    if checksum is not None:
        try:
            expected = base64.b64decode(checksum, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise MalformedArmor("the checksum line is not base64") from exc
        if expected != crc24(data).to_bytes(3, "big"):
            raise MalformedArmor("checksum mismatch: the body was damaged or edited")
    return Armor(block_type=block_type, headers=headers, data=data)


def _bcrypt_salt(salt: bytes) -> bytes:
    """bcrypt's ``$2a$12$`` setting string for 16 raw salt bytes (bcrypt's base64 alphabet)."""
    encoded = base64.b64encode(salt).rstrip(b"=").translate(_TO_BCRYPT)
    return b"$2a$%02d$" % BCRYPT_COST + encoded


def _bcrypt_key(passphrase: str, salt: bytes) -> bytes:
    if len(salt) != _SALT_SIZE:
        raise MalformedArmor(f"the bcrypt salt must be {_SALT_SIZE} bytes, not {len(salt)}")
    # Go's bcrypt (and the C original) use the first 72 bytes and ignore the rest; the
    # Python binding refuses longer input instead, so cut it the same way first.
    password = passphrase.encode("utf-8")[:_BCRYPT_MAX_PASSWORD]
    try:
        hashed = bcrypt.hashpw(password, _bcrypt_salt(salt))
    except ValueError as exc:  # e.g. a NUL byte in the passphrase
        raise ArmorError(f"this passphrase cannot be used with bcrypt: {exc}") from exc
    return hashlib.sha256(hashed).digest()


def _scrypt_key(passphrase: str, salt: bytes, params: str) -> bytes:
    match = _SCRYPT_PARAMS.fullmatch(params)
    if not match:
        raise MalformedArmor(f"kdfparams {params[:60]!r} is not 'n=…,r=…,p=…,dklen=…'")
    n, r, p, dklen = (int(group) for group in match.groups())
    if not (2 <= n <= _MAX_SCRYPT_N and n & (n - 1) == 0 and 1 <= r <= 32 and 1 <= p <= 16):
        raise UnsupportedArmor(f"scrypt parameters out of bounds (n={n}, r={r}, p={p})")
    if dklen != nacl.secret.SecretBox.KEY_SIZE:
        raise UnsupportedArmor(f"scrypt dklen must be {nacl.secret.SecretBox.KEY_SIZE}")
    if not salt:
        raise MalformedArmor("the salt is empty")
    return Scrypt(salt=salt, length=dklen, n=n, r=r, p=p).derive(passphrase.encode("utf-8"))


def _secret_key(headers: dict[str, str], passphrase: str) -> bytes:
    kdf = headers.get("kdf")
    if kdf not in ("bcrypt", "scrypt"):
        shown = "none" if kdf is None else repr(kdf)
        raise UnsupportedArmor(f"unsupported kdf {shown}: only bcrypt and scrypt are known")
    salt_text = headers.get("salt", "")
    if not salt_text:
        raise MalformedArmor("no salt header")
    try:
        salt = bytes.fromhex(salt_text)
    except ValueError as exc:
        raise MalformedArmor("the salt header is not hex") from exc
    if kdf == "bcrypt":
        return _bcrypt_key(passphrase, salt)
    return _scrypt_key(passphrase, salt, headers.get("kdfparams", ""))


def export_private_key(
    key: PrivateKey,
    passphrase: str,
    *,
    salt: bytes | None = None,
    nonce: bytes | None = None,
) -> str:
    """``key`` armored and encrypted with ``passphrase`` as ``secretcli keys export`` does.

    ``salt`` (16 bytes) and ``nonce`` (24 bytes) are random unless given, which only
    tests should do. The passphrase must have at least 8 characters, or secretcli
    could not import the result.
    """
    if len(passphrase) < MIN_EXPORT_PASSPHRASE:
        raise ArmorError(
            f"the export passphrase must have at least {MIN_EXPORT_PASSPHRASE} characters "
            "(secretcli refuses shorter ones)"
        )
    salt = os.urandom(_SALT_SIZE) if salt is None else salt
    nonce = os.urandom(nacl.secret.SecretBox.NONCE_SIZE) if nonce is None else nonce
    box = nacl.secret.SecretBox(_bcrypt_key(passphrase, salt))
    sealed = bytes(box.encrypt(AMINO_SECP256K1_PREFIX + key.secret, nonce))
    headers = {"kdf": "bcrypt", "salt": salt.hex().upper(), "type": KEY_TYPE}
    return encode_armor(BLOCK_TYPE, headers, sealed)


def import_private_key(text: str, passphrase: str) -> PrivateKey:
    """The secp256k1 key in an armored block, decrypted with ``passphrase``.

    Raises :class:`MalformedArmor`, :class:`UnsupportedArmor` (another block, KDF or
    key type) or :class:`WrongArmorPassphrase`.
    """
    armor = decode_armor(text)
    if armor.block_type != BLOCK_TYPE:
        raise UnsupportedArmor(f"this is a {armor.block_type} block, not a {BLOCK_TYPE}")
    key_type = armor.headers.get("type", KEY_TYPE)  # cosmos-sdk's default when absent
    if key_type != KEY_TYPE:
        raise UnsupportedArmor(f"unsupported key type {key_type!r}: only {KEY_TYPE} is known")
    overhead = nacl.secret.SecretBox.NONCE_SIZE + nacl.secret.SecretBox.MACBYTES
    if len(armor.data) <= overhead:
        raise MalformedArmor(f"the body has {len(armor.data)} bytes, too few for a key")
    box = nacl.secret.SecretBox(_secret_key(armor.headers, passphrase))
    try:
        plaintext = box.decrypt(armor.data)
    except nacl.exceptions.CryptoError:
        raise WrongArmorPassphrase() from None
    if len(plaintext) != len(AMINO_SECP256K1_PREFIX) + 32 or not plaintext.startswith(
        AMINO_SECP256K1_PREFIX
    ):
        raise UnsupportedArmor("the decrypted key is not an amino-encoded secp256k1 key")
    try:
        return PrivateKey(plaintext[len(AMINO_SECP256K1_PREFIX) :])
    except SignatureError as exc:
        raise MalformedArmor(f"the decrypted key is not valid: {exc}") from exc
