"""The file keyring: encryption at rest, permissions, names and every error."""

import json
import os
import stat
from pathlib import Path

import pytest

from worker_manager.keys import PrivateKey
from worker_manager.keys.keyring import (
    DEFAULT_SCRYPT_N,
    MIN_SCRYPT_N,
    CorruptKeyFile,
    InvalidKeyName,
    KeyExists,
    KeyInfo,
    KeyNotFound,
    Keyring,
    NoMnemonic,
    WrongPassphrase,
    validate_key_name,
)
from worker_manager.keys.mnemonic import MnemonicError, key_from_mnemonic

MNEMONIC = (
    "arrest rain grunt tuna super test scan limit motion indicate weather script duty "
    "praise federal demand suffer grape learn arctic evil maple pumpkin pink"
)
ADDRESS = "secret1snf0y77qz9hgh69fefffjdv5tedfd6rmewzzsz"
PASS = "correct horse battery staple"


@pytest.fixture
def ring(tmp_path: Path) -> Keyring:
    return Keyring(tmp_path / "keyring", scrypt_n=MIN_SCRYPT_N)


def test_add_from_mnemonic_then_get_list_show(ring: Keyring) -> None:
    info = ring.add("alice", MNEMONIC, passphrase=PASS)
    assert info == KeyInfo(
        name="alice",
        address=ADDRESS,
        public_key=key_from_mnemonic(MNEMONIC).public_key,
        has_mnemonic=True,
        hd_path="m/44'/529'/0'/0/0",
    )
    assert ring.get("alice", passphrase=PASS) == key_from_mnemonic(MNEMONIC)
    assert ring.list() == [info]
    assert ring.show("alice") == info
    assert ring.mnemonic("alice", passphrase=PASS) == MNEMONIC
    assert "alice" in ring
    assert "bob" not in ring


def test_add_from_private_key(ring: Keyring) -> None:
    key = PrivateKey.generate()
    info = ring.add("raw-key_1.x", key, passphrase=PASS)
    assert info.address == key.address
    assert info.has_mnemonic is False
    assert info.hd_path is None
    assert ring.get("raw-key_1.x", passphrase=PASS) == key
    with pytest.raises(NoMnemonic, match="raw private key"):
        ring.mnemonic("raw-key_1.x", passphrase=PASS)


def test_mnemonic_is_stored_normalised(ring: Keyring) -> None:
    ring.add("alice", "  " + MNEMONIC.upper() + "\n", passphrase=PASS)
    assert ring.mnemonic("alice", passphrase=PASS) == MNEMONIC


def test_other_hd_path(ring: Keyring) -> None:
    path = "m/44'/529'/0'/0/1"
    info = ring.add("second", MNEMONIC, passphrase=PASS, hd_path=path)
    assert info.hd_path == path
    assert info.address != ADDRESS
    assert ring.get("second", passphrase=PASS) == key_from_mnemonic(MNEMONIC, path)


def test_list_is_sorted_and_ignores_other_files(ring: Keyring) -> None:
    ring.add("zed", PrivateKey.generate(), passphrase=PASS)
    ring.add("amy", PrivateKey.generate(), passphrase=PASS)
    (ring.directory / "notes.txt").write_text("not a key")
    (ring.directory / ".tmp-leftover.json").write_text("{}")
    assert [i.name for i in ring.list()] == ["amy", "zed"]


def test_list_of_missing_directory_is_empty(tmp_path: Path) -> None:
    assert Keyring(tmp_path / "nowhere").list() == []


def test_secret_is_not_in_the_file_in_clear(ring: Keyring) -> None:
    key = PrivateKey.generate()
    ring.add("raw", key, passphrase=PASS)
    ring.add("words", MNEMONIC, passphrase=PASS)
    raw_text = (ring.directory / "raw.json").read_text()
    words_text = (ring.directory / "words.json").read_text()
    assert key.secret.hex() not in raw_text
    assert "arrest" not in words_text
    document = json.loads(words_text)
    assert document["address"] == ADDRESS
    assert document["kdf"]["name"] == "scrypt"
    assert document["kdf"]["n"] == MIN_SCRYPT_N
    assert document["cipher"]["name"] == "aes-256-gcm"


def test_permissions(ring: Keyring) -> None:
    ring.add("alice", MNEMONIC, passphrase=PASS)
    assert stat.S_IMODE(ring.directory.stat().st_mode) == 0o700
    assert stat.S_IMODE((ring.directory / "alice.json").stat().st_mode) == 0o600
    assert [p.name for p in ring.directory.iterdir()] == ["alice.json"]  # no temp file left


def test_loose_existing_directory_is_tightened(tmp_path: Path) -> None:
    directory = tmp_path / "keyring"
    directory.mkdir(mode=0o755)
    os.chmod(directory, 0o755)
    Keyring(directory, scrypt_n=MIN_SCRYPT_N).add("a", PrivateKey.generate(), passphrase=PASS)
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700


def test_wrong_passphrase(ring: Keyring) -> None:
    ring.add("alice", MNEMONIC, passphrase=PASS)
    with pytest.raises(WrongPassphrase, match="wrong passphrase for key 'alice'"):
        ring.get("alice", passphrase="not it")
    with pytest.raises(WrongPassphrase):
        ring.mnemonic("alice", passphrase="")


def test_unknown_name(ring: Keyring) -> None:
    with pytest.raises(KeyNotFound, match="no key named 'ghost'"):
        ring.get("ghost", passphrase=PASS)
    with pytest.raises(KeyNotFound):
        ring.show("ghost")
    with pytest.raises(KeyNotFound):
        ring.delete("ghost")


def test_existing_name(ring: Keyring) -> None:
    ring.add("alice", MNEMONIC, passphrase=PASS)
    with pytest.raises(KeyExists, match="'alice' already exists"):
        ring.add("alice", PrivateKey.generate(), passphrase=PASS)
    assert ring.get("alice", passphrase=PASS).address == ADDRESS  # untouched


def test_delete(ring: Keyring) -> None:
    ring.add("alice", MNEMONIC, passphrase=PASS)
    ring.delete("alice")
    assert ring.list() == []
    ring.add("alice", PrivateKey.generate(), passphrase=PASS)  # the name is free again


@pytest.mark.parametrize(
    "name", ["", ".hidden", "-dash", "a/b", "../up", "a b", "ü", "x" * 65, "a\nb", "a\\b"]
)
def test_invalid_names(ring: Keyring, name: str) -> None:
    with pytest.raises(InvalidKeyName, match="invalid key name"):
        validate_key_name(name)
    with pytest.raises(InvalidKeyName):
        ring.add(name, PrivateKey.generate(), passphrase=PASS)
    with pytest.raises(InvalidKeyName):
        ring.get(name, passphrase=PASS)
    assert name not in ring


@pytest.mark.parametrize("name", ["a", "Alice", "key-1", "v1.2_x", "x" * 64])
def test_valid_names(name: str) -> None:
    assert validate_key_name(name) == name


def test_bad_mnemonic(ring: Keyring) -> None:
    with pytest.raises(MnemonicError):
        ring.add("bad", "not a mnemonic at all", passphrase=PASS)
    assert ring.list() == []


def test_bad_hd_path(ring: Keyring) -> None:
    with pytest.raises(ValueError, match="invalid HD path 'm/bad'"):
        ring.add("alice", MNEMONIC, passphrase=PASS, hd_path="m/bad")
    assert ring.list() == []


def test_empty_passphrase_refused(ring: Keyring) -> None:
    with pytest.raises(ValueError, match="passphrase must not be empty"):
        ring.add("alice", MNEMONIC, passphrase="")


def test_scrypt_cost_is_validated(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="power of two"):
        Keyring(tmp_path, scrypt_n=1000)
    with pytest.raises(ValueError, match="power of two"):
        Keyring(tmp_path, scrypt_n=2**4)


def test_default_scrypt_cost_round_trips(tmp_path: Path) -> None:
    ring = Keyring(tmp_path / "k")
    ring.add("alice", MNEMONIC, passphrase=PASS)
    assert json.loads((ring.directory / "alice.json").read_text())["kdf"]["n"] == DEFAULT_SCRYPT_N
    assert ring.get("alice", passphrase=PASS).address == ADDRESS


def _edit(ring: Keyring, key_name: str, /, **changes: object) -> None:
    path = ring.directory / f"{key_name}.json"
    document = json.loads(path.read_text())
    for key, value in changes.items():
        if isinstance(value, dict):
            document[key] = {**document[key], **value}
        else:
            document[key] = value
    path.write_text(json.dumps(document))


def test_swapped_clear_fields_are_detected(ring: Keyring) -> None:
    ring.add("alice", MNEMONIC, passphrase=PASS)
    other = PrivateKey.generate()
    _edit(ring, "alice", address=other.address, public_key=other.public_key.hex())
    # The clear fields are consistent with each other but not with the sealed secret.
    with pytest.raises(WrongPassphrase):
        ring.get("alice", passphrase=PASS)


def test_inconsistent_clear_fields_are_reported(ring: Keyring) -> None:
    ring.add("alice", MNEMONIC, passphrase=PASS)
    _edit(ring, "alice", address=PrivateKey.generate().address)
    with pytest.raises(CorruptKeyFile, match="address does not belong"):
        ring.show("alice")


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"version": 99}, "unsupported version 99"),
        ({"name": "bob"}, "names key 'bob'"),
        ({"kind": "weird"}, "unknown key kind"),
        ({"public_key": "zz"}, "malformed field"),
        ({"kdf": {"n": 2**30}}, "out of bounds"),
        ({"kdf": {"n": 3000}}, "out of bounds|bad scrypt"),
        ({"kdf": {"name": "pbkdf2"}}, "unsupported KDF"),
        ({"cipher": {"nonce": "AAAA"}}, "bad nonce"),
        ({"ciphertext": "***"}, "malformed field"),
    ],
)
def test_corrupt_files(ring: Keyring, changes: dict[str, object], match: str) -> None:
    ring.add("alice", MNEMONIC, passphrase=PASS)
    _edit(ring, "alice", **changes)
    with pytest.raises(CorruptKeyFile, match=match):
        ring.get("alice", passphrase=PASS)


def test_not_json(ring: Keyring) -> None:
    ring.add("alice", MNEMONIC, passphrase=PASS)
    (ring.directory / "alice.json").write_text("{truncated")
    with pytest.raises(CorruptKeyFile, match="not JSON"):
        ring.list()
    (ring.directory / "alice.json").write_text("[1, 2]")
    with pytest.raises(CorruptKeyFile, match="not a JSON object"):
        ring.show("alice")


def test_repr_shows_no_secret(ring: Keyring) -> None:
    assert repr(ring).startswith("Keyring(")
