"""BIP-39 mnemonics and BIP-32 derivation on Secret's path ``m/44'/529'/0'/0/0``.

The same 24 words give the same ``secret1…`` address here as in Keplr,
``secretcli`` and ``secret-sdk``: coin type 529, account 0, index 0, no BIP-39
passphrase. Both steps come from maintained libraries (``mnemonic``, ``bip32``).
"""

from bip32 import BIP32
from mnemonic import Mnemonic

from worker_manager.keys.secp256k1 import PrivateKey

SECRET_COIN_TYPE = 529
DEFAULT_HD_PATH = f"m/44'/{SECRET_COIN_TYPE}'/0'/0/0"
_WORDLIST = Mnemonic("english")


class MnemonicError(ValueError):
    """The words are not a valid English BIP-39 mnemonic."""


def generate_mnemonic(words: int = 24) -> str:
    """A new mnemonic of 12, 15, 18, 21 or 24 words from the system's random source."""
    strengths = {12: 128, 15: 160, 18: 192, 21: 224, 24: 256}
    if words not in strengths:
        raise MnemonicError(f"a mnemonic has 12, 15, 18, 21 or 24 words, not {words}")
    return str(_WORDLIST.generate(strength=strengths[words]))


def normalize_mnemonic(phrase: str) -> str:
    """Lower-case, single-spaced words, checked against the word list and checksum."""
    words = phrase.strip().lower().split()
    normalized = " ".join(words)
    if len(words) not in (12, 15, 18, 21, 24):
        raise MnemonicError(f"a mnemonic has 12, 15, 18, 21 or 24 words, got {len(words)}")
    unknown = [w for w in words if w not in _WORDLIST.wordlist]
    if unknown:
        raise MnemonicError(f"not in the BIP-39 English word list: {', '.join(unknown[:3])}")
    if not _WORDLIST.check(normalized):
        raise MnemonicError("mnemonic checksum does not match (a word is wrong or misplaced)")
    return normalized


def key_from_mnemonic(phrase: str, hd_path: str = DEFAULT_HD_PATH) -> PrivateKey:
    """Derive the secp256k1 key at ``hd_path`` from a mnemonic (no BIP-39 passphrase)."""
    seed = Mnemonic.to_seed(normalize_mnemonic(phrase), passphrase="")
    secret = BIP32.from_seed(seed).get_privkey_from_path(hd_path)
    return PrivateKey(bytes(secret))
