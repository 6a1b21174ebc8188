"""secretcli's ASCII-armored private keys: cosmos-sdk's own test vector, a vector built
step by step here with the libraries, round trips and every way a file can be wrong."""

import base64
import hashlib
import re

import bcrypt
import nacl.secret
import pytest
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from worker_manager.keys import PrivateKey
from worker_manager.keys.armor import (
    AMINO_SECP256K1_PREFIX,
    BLOCK_TYPE,
    ArmorError,
    MalformedArmor,
    UnsupportedArmor,
    WrongArmorPassphrase,
    crc24,
    decode_armor,
    encode_armor,
    export_private_key,
    import_private_key,
)

# cosmos-sdk, client/keys/import_test.go (Test_runImportCmd): a key armored by the SDK's
# Go code. "123456789" opens it ("test backend success"), "987654321" does not
# ("test backend fail with wrong armor pass").
COSMOS_ARMOR = """-----BEGIN TENDERMINT PRIVATE KEY-----
salt: A790BB721D1C094260EA84F5E5B72289
kdf: bcrypt

HbP+c6JmeJy9JXe2rbbF1QtCX1gLqGcDQPBXiCtFvP7/8wTZtVOPj8vREzhZ9ElO
3P7YnrzPQThG0Q+ZnRSbl9MAS8uFAM4mqm5r/Ys=
=f3l4
-----END TENDERMINT PRIVATE KEY-----
"""
COSMOS_PASSPHRASE = "123456789"
COSMOS_WRONG_PASSPHRASE = "987654321"
# What that key is (found by decrypting it; the MAC and the amino prefix say it is right).
COSMOS_KEY = "2485e33678db4175dc0ecef2d6e1fc493d4a0d7f7ce83324b6ed70afe77f3485"
COSMOS_ADDRESS = "secret1w34k53py5v5xyluazqpq65agyajavep2pvtf8t"

KEY = PrivateKey(hashlib.sha256(b"worker-manager armor test key").digest())
PASS = "export passphrase"


def _bcrypt_base64(data: bytes) -> bytes:
    """bcrypt's own base64 (./A-Za-z0-9, no padding), bit by bit, independently of the
    module under test."""
    alphabet = b"./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    bits = "".join(f"{byte:08b}" for byte in data)
    bits += "0" * (-len(bits) % 6)
    return bytes(alphabet[int(bits[i : i + 6], 2)] for i in range(0, len(bits), 6))


def _expected_body(passphrase: str, salt: bytes, nonce: bytes, plaintext: bytes) -> bytes:
    """cosmos-sdk's armor.go, step by step: bcrypt(cost 12) -> sha256 -> secretbox."""
    setting = b"$2a$12$" + _bcrypt_base64(salt)
    hashed = bcrypt.hashpw(passphrase.encode(), setting)
    assert hashed.startswith(setting)  # Go's Hash(): the whole $2a$12$ string, 60 bytes
    assert len(hashed) == 60
    key = hashlib.sha256(hashed).digest()
    return bytes(nacl.secret.SecretBox(key).encrypt(plaintext, nonce))


def _armor(headers: dict[str, str], body: bytes, block_type: str = BLOCK_TYPE) -> str:
    return encode_armor(block_type, headers, body)


# --- cosmos-sdk's vector ------------------------------------------------------------


def test_cosmos_sdk_vector_opens_with_its_passphrase() -> None:
    key = import_private_key(COSMOS_ARMOR, COSMOS_PASSPHRASE)
    assert key.secret.hex() == COSMOS_KEY
    assert key.address == COSMOS_ADDRESS


def test_cosmos_sdk_vector_refuses_the_wrong_passphrase() -> None:
    with pytest.raises(WrongArmorPassphrase, match="wrong passphrase"):
        import_private_key(COSMOS_ARMOR, COSMOS_WRONG_PASSPHRASE)


def test_cosmos_sdk_vector_decrypts_to_amino_step_by_step() -> None:
    armor = decode_armor(COSMOS_ARMOR)
    salt = bytes.fromhex(armor.headers["salt"])
    setting = b"$2a$12$" + _bcrypt_base64(salt)
    key = hashlib.sha256(bcrypt.hashpw(COSMOS_PASSPHRASE.encode(), setting)).digest()
    plaintext = nacl.secret.SecretBox(key).decrypt(armor.data)
    # amino: prefix of tendermint/PrivKeySecp256k1, length 32, the key
    assert plaintext == bytes.fromhex("e1b0f79b20") + bytes.fromhex(COSMOS_KEY)
    assert bytes.fromhex("e1b0f79b20") == AMINO_SECP256K1_PREFIX


def test_cosmos_sdk_vector_checksum_is_openpgp_crc24() -> None:
    armor = decode_armor(COSMOS_ARMOR)
    assert base64.b64encode(crc24(armor.data).to_bytes(3, "big")) == b"f3l4"
    assert armor.block_type == BLOCK_TYPE
    assert armor.headers == {"salt": "A790BB721D1C094260EA84F5E5B72289", "kdf": "bcrypt"}
    assert len(armor.data) == 24 + 16 + 37  # nonce, MAC, amino key


def test_encoding_the_vector_again_gives_go_s_lines() -> None:
    armor = decode_armor(COSMOS_ARMOR)
    again = encode_armor(armor.block_type, armor.headers, armor.data)
    # Go writes headers in map order (random); everything else is the same text
    body = COSMOS_ARMOR.split("\n\n", 1)[1]
    assert again.split("\n\n", 1)[1] == body
    assert again.startswith("-----BEGIN TENDERMINT PRIVATE KEY-----\nkdf: bcrypt\nsalt: A790")


# --- what we write ------------------------------------------------------------------


def test_export_matches_a_vector_built_step_by_step() -> None:
    salt = bytes(range(16))
    nonce = bytes(range(100, 124))
    text = export_private_key(KEY, PASS, salt=salt, nonce=nonce)
    body = _expected_body(PASS, salt, nonce, bytes.fromhex("e1b0f79b20") + KEY.secret)
    encoded = base64.b64encode(body).decode()
    crc = base64.b64encode(crc24(body).to_bytes(3, "big")).decode()
    assert text == (
        "-----BEGIN TENDERMINT PRIVATE KEY-----\n"
        "kdf: bcrypt\n"
        "salt: 000102030405060708090A0B0C0D0E0F\n"
        "type: secp256k1\n"
        "\n"
        f"{encoded[:64]}\n{encoded[64:]}\n"
        f"={crc}\n"
        "-----END TENDERMINT PRIVATE KEY-----\n"
    )


def test_round_trip_gives_the_same_key_and_address() -> None:
    text = export_private_key(KEY, PASS)
    assert import_private_key(text, PASS) == KEY
    assert import_private_key(text, PASS).address == KEY.address


def test_each_export_has_a_fresh_salt_and_nonce() -> None:
    first, second = export_private_key(KEY, PASS), export_private_key(KEY, PASS)
    assert decode_armor(first).headers["salt"] != decode_armor(second).headers["salt"]
    assert decode_armor(first).data[:24] != decode_armor(second).data[:24]
    assert re.fullmatch(r"[0-9A-F]{32}", decode_armor(first).headers["salt"])


def test_export_refuses_a_passphrase_secretcli_would_refuse() -> None:
    with pytest.raises(ArmorError, match="at least 8 characters"):
        export_private_key(KEY, "1234567")


def test_a_long_passphrase_counts_up_to_72_bytes_as_in_go() -> None:
    long = "x" * 72
    text = export_private_key(KEY, long + "ignored by bcrypt")
    assert import_private_key(text, long) == KEY
    assert import_private_key(text, long + "anything else") == KEY
    with pytest.raises(WrongArmorPassphrase):
        import_private_key(text, long[:-1])


def test_a_unicode_passphrase_round_trips() -> None:
    text = export_private_key(KEY, "mot de passe été ✓")
    assert import_private_key(text, "mot de passe été ✓") == KEY
    with pytest.raises(WrongArmorPassphrase):
        import_private_key(text, "mot de passe ete ✓")


# --- what we read besides --------------------------------------------------------------


def test_lines_before_the_block_are_skipped_as_go_does() -> None:
    # secretcli prints on stderr: `keys export k > f 2>&1` puts prompts before the block
    text = "Enter passphrase to encrypt the exported key:\n" + COSMOS_ARMOR
    assert import_private_key(text, COSMOS_PASSPHRASE).address == COSMOS_ADDRESS


def test_crlf_and_indentation_are_accepted() -> None:
    text = "\r\n".join("  " + line for line in COSMOS_ARMOR.splitlines())
    assert import_private_key(text, COSMOS_PASSPHRASE).address == COSMOS_ADDRESS


def test_a_block_without_checksum_line_is_accepted_as_go_does() -> None:
    text = COSMOS_ARMOR.replace("=f3l4\n", "")
    assert import_private_key(text, COSMOS_PASSPHRASE).address == COSMOS_ADDRESS


def test_the_type_header_defaults_to_secp256k1() -> None:
    armor = decode_armor(export_private_key(KEY, PASS))
    without_type = {k: v for k, v in armor.headers.items() if k != "type"}
    assert import_private_key(_armor(without_type, armor.data), PASS) == KEY


def test_scrypt_armor_of_newer_cosmos_sdk_is_read() -> None:
    # cosmos-sdk main's armor.go: kdf scrypt, kdfparams n,r,p,dklen; the key is scrypt's
    # output (no sha256). Built here with the libraries; no upstream vector exists yet.
    salt, nonce = bytes(range(16)), bytes(24)
    key = Scrypt(salt=salt, length=32, n=2**10, r=8, p=1).derive(PASS.encode())
    body = bytes(nacl.secret.SecretBox(key).encrypt(AMINO_SECP256K1_PREFIX + KEY.secret, nonce))
    headers = {
        "kdf": "scrypt",
        "kdfparams": "n=1024,r=8,p=1,dklen=32",
        "salt": salt.hex().upper(),
        "type": "secp256k1",
    }
    assert import_private_key(_armor(headers, body), PASS) == KEY
    with pytest.raises(WrongArmorPassphrase):
        import_private_key(_armor(headers, body), PASS + "!")
    for params, match in [
        ("n=1024,r=8,p=1", "kdfparams"),
        ("n=1000,r=8,p=1,dklen=32", "out of bounds"),
        ("n=2097152,r=8,p=1,dklen=32", "out of bounds"),
        ("n=1024,r=8,p=1,dklen=16", "dklen"),
    ]:
        with pytest.raises(ArmorError, match=match):
            import_private_key(_armor({**headers, "kdfparams": params}, body), PASS)


# --- damaged or foreign files -----------------------------------------------------------


def _replace(old: str, new: str) -> str:
    assert old in COSMOS_ARMOR
    return COSMOS_ARMOR.replace(old, new)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("", "no '-----BEGIN"),
        ("just some text\n", "no '-----BEGIN"),
        (_replace("kdf: bcrypt", "kdf=bcrypt"), "is not 'name: value'"),
        (_replace("kdf: bcrypt", "salt: 00"), "appears twice"),
        (COSMOS_ARMOR.split("\n\n", maxsplit=1)[0], "ends in its headers"),
        (COSMOS_ARMOR.split("=f3l4", maxsplit=1)[0], "no '-----END"),
        (_replace("-----END TENDERMINT PRIVATE KEY-----", "-----END PGP MESSAGE-----"), "END"),
        (_replace("HbP+", "Hb*+"), "not base64"),
        (_replace("3P7Yn", "3P7Y"), "not base64"),
        (_replace("HbP+", "HbQ+"), "checksum mismatch"),
        (_replace("=f3l4", "=f3l5"), "checksum mismatch"),
        (_replace("=f3l4", "=f*l4"), "checksum line is not base64"),
        (_replace("=f3l4\n", "=f3l4\nAAAA\n"), "after the checksum"),
        (_replace("HbP+", "A" * 100 + "HbP+"), "longer than 96"),
        ("x" * 70_000, "larger than"),
    ],
    ids=[
        "empty",
        "no-armor",
        "bad-header",
        "duplicate-header",
        "truncated-in-headers",
        "truncated-no-end",
        "end-mismatch",
        "bad-base64-char",
        "bad-base64-length",
        "crc-mismatch-body-edited",
        "crc-mismatch-crc-edited",
        "bad-crc-line",
        "text-after-crc",
        "long-line",
        "too-large",
    ],
)
def test_malformed_armor_is_refused(text: str, match: str) -> None:
    with pytest.raises(MalformedArmor, match=match):
        import_private_key(text, COSMOS_PASSPHRASE)


def test_a_truncated_body_is_refused() -> None:
    armor = decode_armor(COSMOS_ARMOR)
    for size in (0, 10, 40):
        with pytest.raises(MalformedArmor, match="too few"):
            import_private_key(_armor(armor.headers, armor.data[:size]), COSMOS_PASSPHRASE)
    # longer than the overhead but cut: the MAC fails
    with pytest.raises(WrongArmorPassphrase):
        import_private_key(_armor(armor.headers, armor.data[:-1]), COSMOS_PASSPHRASE)


@pytest.mark.parametrize(
    ("headers", "error", "match"),
    [
        ({"kdf": "argon2"}, UnsupportedArmor, "unsupported kdf 'argon2'"),
        ({"kdf": "wrong"}, UnsupportedArmor, "unsupported kdf"),
        ({"kdf": None}, UnsupportedArmor, "unsupported kdf none"),
        ({"type": "ed25519"}, UnsupportedArmor, "unsupported key type 'ed25519'"),
        ({"type": "sm2"}, UnsupportedArmor, "unsupported key type"),
        ({"salt": None}, MalformedArmor, "no salt"),
        ({"salt": "XYZ"}, MalformedArmor, "not hex"),
        ({"salt": "A790BB72"}, MalformedArmor, "must be 16 bytes"),
    ],
)
def test_foreign_headers_are_refused(
    headers: dict[str, str | None], error: type[ArmorError], match: str
) -> None:
    armor = decode_armor(COSMOS_ARMOR)
    changed = {**armor.headers, **headers}
    cleaned = {k: v for k, v in changed.items() if v is not None}
    with pytest.raises(error, match=match):
        import_private_key(_armor(cleaned, armor.data), COSMOS_PASSPHRASE)


def test_another_block_type_is_refused() -> None:
    armor = decode_armor(COSMOS_ARMOR)
    text = _armor({"version": "0.0.1"}, armor.data, "TENDERMINT PUBLIC KEY")
    with pytest.raises(UnsupportedArmor, match="TENDERMINT PUBLIC KEY block"):
        import_private_key(text, COSMOS_PASSPHRASE)


def test_a_sealed_payload_that_is_not_a_secp256k1_key_is_refused() -> None:
    salt, nonce = bytes(16), bytes(24)
    headers = {"kdf": "bcrypt", "salt": salt.hex().upper(), "type": "secp256k1"}
    # an ed25519 amino key (prefix a3288910, 64 bytes) sealed properly
    ed25519 = bytes.fromhex("a328891040") + bytes(64)
    text = _armor(headers, _expected_body(PASS, salt, nonce, ed25519))
    with pytest.raises(UnsupportedArmor, match="not an amino-encoded secp256k1"):
        import_private_key(text, PASS)
    # the right prefix around a key that is out of range (zero)
    zero = AMINO_SECP256K1_PREFIX + bytes(32)
    with pytest.raises(MalformedArmor, match="not valid"):
        import_private_key(_armor(headers, _expected_body(PASS, salt, nonce, zero)), PASS)
