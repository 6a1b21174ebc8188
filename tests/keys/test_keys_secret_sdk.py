"""Our key derivation and signatures against secret-sdk's, and LCD.md's known pair."""

import hashlib

import pytest

from worker_manager.keys import PrivateKey, address_from_public_key, verify_compact
from worker_manager.keys.mnemonic import generate_mnemonic, key_from_mnemonic

KNOWN_MNEMONIC = (
    "arrest rain grunt tuna super test scan limit motion indicate weather script duty "
    "praise federal demand suffer grape learn arctic evil maple pumpkin pink"
)
KNOWN_ADDRESS = "secret1snf0y77qz9hgh69fefffjdv5tedfd6rmewzzsz"
KNOWN_PUBKEY = "03f43980979748010ea3a4b08cf5c9cc76c3d5d68e1edb6e68bbb3e5261becc99c"
# BIP-39 test vector words (all "abandon" ... "about"), 12 words.
ABANDON = "abandon " * 11 + "about"


def test_known_pair_from_lcd_md() -> None:
    key = key_from_mnemonic(KNOWN_MNEMONIC)
    assert key.public_key.hex() == KNOWN_PUBKEY
    assert key.address == KNOWN_ADDRESS
    assert address_from_public_key(key.public_key) == KNOWN_ADDRESS


def test_mnemonic_is_normalised_before_derivation() -> None:
    messy = "  " + KNOWN_MNEMONIC.upper().replace(" ", "   ") + "\n"
    assert key_from_mnemonic(messy).address == KNOWN_ADDRESS


_SNIPPET = """
from secret_sdk.key.mnemonic import MnemonicKey
out = []
for words in INPUT["mnemonics"]:
    key = MnemonicKey(words)
    out.append({
        "address": key.acc_address,
        "public_key": key.public_key.key.hex(),
        "signature": key.sign(bytes.fromhex(INPUT["payload"])).hex(),
    })
emit(out)
"""


@pytest.mark.slow
def test_same_address_pubkey_and_signature_as_secret_sdk(secret_clients) -> None:
    mnemonics = [
        KNOWN_MNEMONIC,
        ABANDON,
        generate_mnemonic(12),
        generate_mnemonic(15),
        generate_mnemonic(24),
        generate_mnemonic(24),
    ]
    payload = b"sign doc bytes \x00\x01\x02" * 3
    theirs = secret_clients.run_client(
        _SNIPPET, input={"mnemonics": mnemonics, "payload": payload.hex()}
    )
    assert len(theirs) == len(mnemonics)
    for words, their in zip(mnemonics, theirs, strict=True):
        key = key_from_mnemonic(words)
        assert key.address == their["address"], words
        assert key.public_key.hex() == their["public_key"], words
        # Both are RFC 6979 deterministic and low-S, so the bytes are equal.
        assert key.sign(payload).hex() == their["signature"], words
        assert verify_compact(
            key.public_key, bytes.fromhex(their["signature"]), hashlib.sha256(payload).digest()
        )


def test_private_key_repr_hides_the_secret() -> None:
    key = PrivateKey(bytes(range(1, 33)))
    assert bytes(range(1, 33)).hex() not in repr(key)
