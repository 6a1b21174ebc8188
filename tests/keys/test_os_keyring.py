"""Keys whose sealed secret lives in the OS keyring, on a real ``keyring`` backend
(keyrings.alt's file backend, see os_keyring_backend.py), never a mock."""

import json
from pathlib import Path

import pytest
from keyrings.alt.file import PlaintextKeyring

from tests.keys.os_keyring_backend import (
    entries,
    keyring_not_installed,
    no_os_keyring,
    os_keyring,
)
from worker_manager.keys import PrivateKey
from worker_manager.keys.keyring import (
    MIN_SCRYPT_N,
    CorruptKeyFile,
    KeyExists,
    KeyNotFound,
    Keyring,
    OsKeyringUnavailable,
    SecretMissing,
    WrongPassphrase,
)
from worker_manager.keys.mnemonic import key_from_mnemonic
from worker_manager.keys.os_keyring import OsKeyring

__all__ = ["keyring_not_installed", "no_os_keyring", "os_keyring"]  # fixtures used below

MNEMONIC = (
    "arrest rain grunt tuna super test scan limit motion indicate weather script duty "
    "praise federal demand suffer grape learn arctic evil maple pumpkin pink"
)
ADDRESS = "secret1snf0y77qz9hgh69fefffjdv5tedfd6rmewzzsz"
PASS = "correct horse battery staple"


def _ring(tmp_path: Path, backend: str = "os") -> Keyring:
    return Keyring(tmp_path / "home" / "keyring", scrypt_n=MIN_SCRYPT_N, backend=backend)


def _document(ring: Keyring, name: str) -> dict[str, object]:
    data: dict[str, object] = json.loads((ring.directory / f"{name}.json").read_text())
    return data


def test_the_secret_goes_to_the_os_keyring_and_the_file_keeps_the_clear_fields(
    tmp_path: Path, os_keyring: PlaintextKeyring
) -> None:
    ring = _ring(tmp_path)
    info = ring.add("admin", MNEMONIC, passphrase=PASS)
    assert (info.address, info.backend, info.has_mnemonic) == (ADDRESS, "os", True)
    document = _document(ring, "admin")
    assert not {"kdf", "cipher", "ciphertext"} & set(document)
    storage = document["storage"]
    assert isinstance(storage, dict)
    assert storage["backend"] == "os"
    assert storage["service"] == ring.os_service == f"worker-manager:{ring.directory.resolve()}"
    assert storage["username"].startswith("admin:")
    # the OS entry holds the sealed envelope: still passphrase-encrypted, never clear
    sealed = json.loads(OsKeyring(ring.os_service).get(storage["username"]) or "")
    assert set(sealed) == {"kdf", "cipher", "ciphertext"}
    stored = Path(os_keyring.file_path).read_text()
    assert "arrest" not in stored
    assert key_from_mnemonic(MNEMONIC).secret.hex() not in stored
    assert "arrest" not in (ring.directory / "admin.json").read_text()
    assert stat_mode(ring.directory / "admin.json") == 0o600


def stat_mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def test_list_show_and_get_need_no_backend_choice(
    tmp_path: Path, os_keyring: PlaintextKeyring
) -> None:
    _ring(tmp_path).add("admin", MNEMONIC, passphrase=PASS)
    key = PrivateKey.generate()
    _ring(tmp_path, "file").add("operator", key, passphrase=PASS)
    # a keyring made with the default (file) backend finds both, wherever they are
    ring = Keyring(tmp_path / "home" / "keyring")
    assert [(i.name, i.backend) for i in ring.list()] == [("admin", "os"), ("operator", "file")]
    assert ring.show("admin").address == ADDRESS
    assert ring.get("admin", passphrase=PASS) == key_from_mnemonic(MNEMONIC)
    assert ring.mnemonic("admin", passphrase=PASS) == MNEMONIC
    assert ring.get("operator", passphrase=PASS) == key
    with pytest.raises(WrongPassphrase):
        ring.get("admin", passphrase="not it")


def test_list_needs_no_os_keyring_at_all(tmp_path: Path, os_keyring: PlaintextKeyring) -> None:
    ring = _ring(tmp_path)
    ring.add("admin", MNEMONIC, passphrase=PASS)
    Path(os_keyring.file_path).unlink()  # the OS keyring is gone; the home still lists
    assert [i.address for i in ring.list()] == [ADDRESS]
    with pytest.raises(SecretMissing, match="not in this OS keyring"):
        ring.get("admin", passphrase=PASS)


def test_delete_removes_the_os_entry_too(tmp_path: Path, os_keyring: PlaintextKeyring) -> None:
    ring = _ring(tmp_path)
    ring.add("admin", MNEMONIC, passphrase=PASS)
    assert entries(os_keyring)
    ring.delete("admin")
    assert not (ring.directory / "admin.json").exists()
    assert not any(entries(os_keyring).values())
    with pytest.raises(KeyNotFound):
        ring.delete("admin")


def test_delete_of_a_key_whose_entry_is_already_gone(
    tmp_path: Path, os_keyring: PlaintextKeyring
) -> None:
    ring = _ring(tmp_path)
    ring.add("admin", MNEMONIC, passphrase=PASS)
    Path(os_keyring.file_path).unlink()
    ring.delete("admin")
    assert "admin" not in ring


def test_a_duplicate_name_is_refused_and_writes_nothing(
    tmp_path: Path, os_keyring: PlaintextKeyring
) -> None:
    ring = _ring(tmp_path)
    ring.add("admin", MNEMONIC, passphrase=PASS)
    before = entries(os_keyring)
    file_before = (ring.directory / "admin.json").read_text()
    with pytest.raises(KeyExists):
        ring.add("admin", PrivateKey.generate(), passphrase=PASS)
    with pytest.raises(KeyExists):
        _ring(tmp_path, "file").add("admin", PrivateKey.generate(), passphrase=PASS)
    assert entries(os_keyring) == before
    assert (ring.directory / "admin.json").read_text() == file_before


def test_a_raced_add_takes_its_entry_back(tmp_path: Path, os_keyring: PlaintextKeyring) -> None:
    ring = _ring(tmp_path)
    original = ring._write_new

    def lose_the_race(path: Path, name: str, text: str) -> None:
        # another process creates the file between our check and our write
        original(path, name, '{"version": 1}')
        original(path, name, text)

    ring._write_new = lose_the_race  # type: ignore[method-assign]
    with pytest.raises(KeyExists):
        ring.add("admin", MNEMONIC, passphrase=PASS)
    assert not any(entries(os_keyring).values())


def test_an_entry_that_is_not_a_sealed_key_is_reported(
    tmp_path: Path, os_keyring: PlaintextKeyring
) -> None:
    ring = _ring(tmp_path)
    ring.add("admin", MNEMONIC, passphrase=PASS)
    storage = _document(ring, "admin")["storage"]
    assert isinstance(storage, dict)
    OsKeyring(storage["service"]).set(storage["username"], "not json")
    with pytest.raises(CorruptKeyFile, match="is not a sealed key"):
        ring.get("admin", passphrase=PASS)
    # a sealed key of another key: the clear fields are its associated data
    other = _ring(tmp_path / "other")
    other.add("admin", PrivateKey.generate(), passphrase=PASS)
    other_storage = _document(other, "admin")["storage"]
    assert isinstance(other_storage, dict)
    swapped = OsKeyring(other.os_service).get(other_storage["username"])
    assert swapped is not None
    OsKeyring(storage["service"]).set(storage["username"], swapped)
    with pytest.raises(WrongPassphrase):
        ring.get("admin", passphrase=PASS)


def test_an_edited_storage_field_is_reported(tmp_path: Path, os_keyring: PlaintextKeyring) -> None:
    ring = _ring(tmp_path)
    ring.add("admin", MNEMONIC, passphrase=PASS)
    path = ring.directory / "admin.json"
    document = json.loads(path.read_text())
    path.write_text(json.dumps({**document, "storage": {"backend": "cloud"}}))
    with pytest.raises(CorruptKeyFile, match="unknown storage"):
        ring.show("admin")
    ring.delete("admin")  # an unreadable file can still be removed
    assert not path.exists()


def test_no_os_keyring_backend_is_a_clear_error_and_writes_nothing(
    tmp_path: Path, no_os_keyring: object
) -> None:
    ring = _ring(tmp_path)
    with pytest.raises(OsKeyringUnavailable, match="not available: No recommended backend"):
        ring.add("admin", MNEMONIC, passphrase=PASS)
    assert not (ring.directory / "admin.json").exists()
    assert ring.list() == []


def test_a_key_in_an_unreachable_os_keyring_is_kept(
    tmp_path: Path, os_keyring: PlaintextKeyring
) -> None:
    ring = _ring(tmp_path)
    ring.add("admin", MNEMONIC, passphrase=PASS)
    import keyring
    import keyring.backends.fail

    keyring.set_keyring(keyring.backends.fail.Keyring())  # the fixture restores it
    with pytest.raises(OsKeyringUnavailable):
        ring.get("admin", passphrase=PASS)
    with pytest.raises(OsKeyringUnavailable):
        ring.delete("admin")
    assert (ring.directory / "admin.json").exists()
    assert ring.show("admin").address == ADDRESS


@pytest.mark.usefixtures("keyring_not_installed")
def test_without_the_keyring_package_the_error_says_what_to_install(tmp_path: Path) -> None:
    ring = _ring(tmp_path)
    with pytest.raises(OsKeyringUnavailable, match=r"pip install 'worker-manager\[keyring\]'"):
        ring.add("admin", MNEMONIC, passphrase=PASS)
    assert not (ring.directory / "admin.json").exists()
    # the file backend does not need the package
    assert _ring(tmp_path, "file").add("admin", MNEMONIC, passphrase=PASS).address == ADDRESS


def test_an_unknown_backend_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown keyring backend 'vault'"):
        Keyring(tmp_path, backend="vault")


def test_entry_names_are_fresh_for_each_add(tmp_path: Path, os_keyring: PlaintextKeyring) -> None:
    ring = _ring(tmp_path)
    ring.add("admin", MNEMONIC, passphrase=PASS)
    first = _document(ring, "admin")["storage"]
    ring.delete("admin")
    ring.add("admin", MNEMONIC, passphrase=PASS)
    second = _document(ring, "admin")["storage"]
    assert isinstance(first, dict)
    assert isinstance(second, dict)
    assert first["username"] != second["username"]
    assert first["username"].startswith("admin:")
    assert second["username"].startswith("admin:")
