"""A file keyring: one passphrase-encrypted JSON file per key in a directory.

The node home's ``keyring/`` holds ``<name>.json`` files (mode 0600, directory
0700). Each file keeps the name, address and public key in clear, so
:meth:`Keyring.list` and :meth:`Keyring.show` need no passphrase, and the secret
(the mnemonic when the key came from one, else the raw private key) encrypted:

- KDF: scrypt (``cryptography``), with a random 16-byte salt and its cost
  parameters stored in the file, so they can be raised later without breaking
  old files;
- AEAD: AES-256-GCM with a random 12-byte nonce; the clear fields are the
  associated data, so editing the address or name in a file makes decryption fail.

With ``backend="os"`` the sealed secret (the same scrypt + AES-256-GCM envelope,
so the passphrase still opens it) goes to the operating system's keyring instead
(:mod:`worker_manager.keys.os_keyring`, needing the optional ``keyring`` package);
the file keeps the clear fields and says where the secret is (``storage``), so
:meth:`Keyring.list` still needs no passphrase and :meth:`Keyring.get` finds a key
wherever it was stored, whatever backend the :class:`Keyring` was made with.

The passphrase is always passed in by the caller; this module reads no
environment variable and prompts for nothing. Example::

    ring = Keyring(home / "keyring")
    ring.add("alice", mnemonic, passphrase=passphrase)
    key = ring.get("alice", passphrase=passphrase)      # PrivateKey
    [info.address for info in ring.list()]               # no passphrase needed
"""

import base64
import binascii
import contextlib
import json
import os
import re
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from worker_manager.keys.address import address_from_public_key
from worker_manager.keys.mnemonic import DEFAULT_HD_PATH, key_from_mnemonic, normalize_mnemonic
from worker_manager.keys.secp256k1 import PrivateKey, SignatureError

FILE_VERSION: Final = 1
#: scrypt cost: N = 2**17, r = 8, p = 1 (128 MiB, a few hundred ms), the OWASP minimum.
DEFAULT_SCRYPT_N: Final = 2**17
SCRYPT_R: Final = 8
SCRYPT_P: Final = 1
#: Bounds accepted when reading a file (a hostile file must not make us allocate GiBs).
MIN_SCRYPT_N: Final = 2**10
MAX_SCRYPT_N: Final = 2**20
_SALT_SIZE: Final = 16
_NONCE_SIZE: Final = 12
_KDF_NAME: Final = "scrypt"
_CIPHER_NAME: Final = "aes-256-gcm"
_SUFFIX: Final = ".json"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_KIND_MNEMONIC: Final = "mnemonic"
_KIND_PRIVATE_KEY: Final = "private_key"
#: Where a key's sealed secret lives: in its file, or in the OS keyring.
BACKEND_FILE: Final = "file"
BACKEND_OS: Final = "os"
BACKENDS: Final = (BACKEND_FILE, BACKEND_OS)
_SEALED_FIELDS: Final = ("kdf", "cipher", "ciphertext")


class KeyringError(Exception):
    """Root of the keyring's errors."""


class InvalidKeyName(KeyringError, ValueError):
    """A key name is not allowed."""

    def __init__(self, name: str) -> None:
        super().__init__(
            f"invalid key name {name!r}: use 1 to 64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
        self.name = name


class KeyNotFound(KeyringError, LookupError):
    """No key of that name in the keyring."""

    def __init__(self, name: str) -> None:
        super().__init__(f"no key named {name!r} in the keyring")
        self.name = name


class KeyExists(KeyringError):
    """A key of that name is already in the keyring."""

    def __init__(self, name: str) -> None:
        super().__init__(f"a key named {name!r} already exists; delete it first or pick a name")
        self.name = name


class WrongPassphrase(KeyringError):
    """The passphrase does not open the key (or its file was tampered with)."""

    def __init__(self, name: str) -> None:
        super().__init__(f"wrong passphrase for key {name!r} (or its file was altered)")
        self.name = name


class CorruptKeyFile(KeyringError):
    """A key file cannot be read; ``reason`` says what is wrong."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"key file {path} is unreadable: {reason}")
        self.path = path
        self.reason = reason


class OsKeyringUnavailable(KeyringError):
    """The ``keyring`` package is missing, or has no working backend on this system."""


class SecretMissing(KeyringError):
    """A key's file points at an OS keyring entry that is not there."""

    def __init__(self, name: str, service: str, username: str) -> None:
        super().__init__(
            f"the secret of key {name!r} is not in this OS keyring (service {service!r}, "
            f"entry {username!r}): it was removed there, or the key was added on another "
            "machine or account"
        )
        self.name = name


class NoMnemonic(KeyringError):
    """The key was imported as a raw private key, so there is no mnemonic to show."""

    def __init__(self, name: str) -> None:
        super().__init__(f"key {name!r} was added as a raw private key and has no mnemonic")
        self.name = name


@dataclass(frozen=True, slots=True)
class KeyInfo:
    """What a key file shows without its passphrase."""

    name: str
    address: str
    public_key: bytes
    has_mnemonic: bool
    hd_path: str | None
    #: where the sealed secret is: ``file`` (the key's file) or ``os`` (the OS keyring)
    backend: str = BACKEND_FILE


def validate_key_name(name: str) -> str:
    """Return ``name`` if it is a valid key name, else raise :class:`InvalidKeyName`."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise InvalidKeyName(str(name))
    return name


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _kdf(passphrase: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    if not isinstance(passphrase, str):
        raise TypeError("the passphrase must be a str")
    return Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(passphrase.encode("utf-8"))


def _associated_data(header: dict[str, Any]) -> bytes:
    return json.dumps(header, sort_keys=True, separators=(",", ":")).encode("utf-8")


class Keyring:
    """Keys stored in ``directory``, one encrypted file each.

    ``scrypt_n`` is the KDF cost for keys added from now on (a power of two,
    at least 2**10; lower it only in tests). Reading uses the cost stored in
    each file. ``backend`` is where keys added from now on keep their sealed
    secret: ``file`` or ``os`` (the OS keyring, service :attr:`os_service`).
    """

    def __init__(
        self,
        directory: Path | str,
        *,
        scrypt_n: int = DEFAULT_SCRYPT_N,
        backend: str = BACKEND_FILE,
    ) -> None:
        if scrypt_n < MIN_SCRYPT_N or scrypt_n > MAX_SCRYPT_N or scrypt_n & (scrypt_n - 1):
            raise ValueError(
                f"scrypt_n must be a power of two between {MIN_SCRYPT_N} and {MAX_SCRYPT_N}"
            )
        if backend not in BACKENDS:
            raise ValueError(f"unknown keyring backend {backend!r}: use file or os")
        self.directory = Path(directory)
        self.scrypt_n = scrypt_n
        self.backend = backend

    @property
    def os_service(self) -> str:
        """The OS keyring service this keyring's ``os`` keys are stored under."""
        return f"worker-manager:{self.directory.expanduser().resolve()}"

    def __repr__(self) -> str:
        return f"Keyring({str(self.directory)!r})"

    def _path(self, name: str) -> Path:
        return self.directory / f"{validate_key_name(name)}{_SUFFIX}"

    def _ensure_directory(self) -> None:
        # the home around the keyring too: owner-only whatever the umask (mkdir's mode
        # applies to the last directory only)
        self.directory.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.directory.mkdir(mode=0o700, exist_ok=True)
        if stat.S_IMODE(self.directory.stat().st_mode) != 0o700:
            os.chmod(self.directory, 0o700)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and bool(_NAME.fullmatch(name)) and self._path(name).exists()

    # --- writing -------------------------------------------------------------

    def add(
        self,
        name: str,
        secret: str | PrivateKey,
        *,
        passphrase: str,
        hd_path: str = DEFAULT_HD_PATH,
    ) -> KeyInfo:
        """Store a key from a mnemonic (kept, to be shown again) or a :class:`PrivateKey`.

        Raises :class:`KeyExists`, :class:`InvalidKeyName`, or
        :class:`~worker_manager.keys.mnemonic.MnemonicError` for bad words.
        """
        path = self._path(name)
        if not passphrase:
            raise ValueError("the passphrase must not be empty")
        if isinstance(secret, PrivateKey):
            key = secret
            kind = _KIND_PRIVATE_KEY
            payload: dict[str, str] = {"private_key": key.secret.hex()}
            stored_path: str | None = None
        else:
            words = normalize_mnemonic(secret)
            try:
                key = key_from_mnemonic(words, hd_path)
            except ValueError as exc:
                raise ValueError(f"invalid HD path {hd_path!r}: {exc}") from exc
            kind = _KIND_MNEMONIC
            payload = {"mnemonic": words, "hd_path": hd_path}
            stored_path = hd_path
        info = KeyInfo(
            name=name,
            address=key.address,
            public_key=key.public_key,
            has_mnemonic=kind == _KIND_MNEMONIC,
            hd_path=stored_path,
            backend=self.backend,
        )
        header: dict[str, Any] = {
            "version": FILE_VERSION,
            "name": name,
            "address": info.address,
            "public_key": info.public_key.hex(),
            "kind": kind,
            "hd_path": stored_path,
        }
        salt = os.urandom(_SALT_SIZE)
        nonce = os.urandom(_NONCE_SIZE)
        kdf: dict[str, Any] = {
            "name": _KDF_NAME,
            "salt": _b64(salt),
            "n": self.scrypt_n,
            "r": SCRYPT_R,
            "p": SCRYPT_P,
        }
        cipher = {"name": _CIPHER_NAME, "nonce": _b64(nonce)}
        aad = _associated_data({**header, "kdf": kdf, "cipher": cipher})
        secret_key = _kdf(passphrase, salt, self.scrypt_n, SCRYPT_R, SCRYPT_P)
        plaintext = json.dumps(payload, separators=(",", ":")).encode("utf-8")
        ciphertext = AESGCM(secret_key).encrypt(nonce, plaintext, aad)
        sealed = {"kdf": kdf, "cipher": cipher, "ciphertext": _b64(ciphertext)}
        if self.backend == BACKEND_OS:
            self._add_to_os(path, name, header, sealed)
        else:
            self._write_new(path, name, json.dumps({**header, **sealed}, indent=2) + "\n")
        return info

    def _add_to_os(
        self, path: Path, name: str, header: dict[str, Any], sealed: dict[str, Any]
    ) -> None:
        """The sealed secret into the OS keyring, then the file that points at it."""
        from worker_manager.keys.os_keyring import OsKeyring

        self._ensure_directory()
        if path.exists():
            raise KeyExists(name)
        # a fresh entry name each time: a failed or raced add never touches another's entry
        storage = {
            "backend": BACKEND_OS,
            "service": self.os_service,
            "username": f"{name}:{os.urandom(6).hex()}",
        }
        store = OsKeyring(storage["service"])
        store.set(storage["username"], json.dumps(sealed, separators=(",", ":")))
        try:
            self._write_new(path, name, json.dumps({**header, "storage": storage}, indent=2) + "\n")
        except BaseException:
            with contextlib.suppress(KeyringError):
                store.delete(storage["username"])
            raise

    def _write_new(self, path: Path, name: str, text: str) -> None:
        self._ensure_directory()
        if path.exists():
            raise KeyExists(name)
        fd, temp_name = tempfile.mkstemp(prefix=".tmp-", suffix=_SUFFIX, dir=self.directory)
        temp = Path(temp_name)
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            try:
                os.link(temp, path)  # atomic, and never replaces an existing file
            except FileExistsError:
                raise KeyExists(name) from None
            except OSError:  # a file system without hard links: exclusive create instead
                self._write_exclusive(path, name, text)
        finally:
            temp.unlink(missing_ok=True)
        self._sync_directory()

    @staticmethod
    def _write_exclusive(path: Path, name: str, text: str) -> None:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            raise KeyExists(name) from None
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())

    def _sync_directory(self) -> None:
        with contextlib.suppress(OSError):  # not every platform can fsync a directory
            fd = os.open(self.directory, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)

    def delete(self, name: str) -> None:
        """Remove a key file, and its OS keyring entry if it has one; raises
        :class:`KeyNotFound` if there is none, :class:`OsKeyringUnavailable` (and
        removes nothing) if its entry cannot be reached."""
        path = self._path(name)
        try:
            _, document = self._load(name)
            storage = self._storage(path, document)
        except CorruptKeyFile:
            storage = None  # unreadable: nothing to follow, but the file can still go
        if storage is not None:
            from worker_manager.keys.os_keyring import OsKeyring

            OsKeyring(storage[0]).delete(storage[1])
        try:
            path.unlink()
        except FileNotFoundError:
            raise KeyNotFound(name) from None
        self._sync_directory()

    # --- reading -------------------------------------------------------------

    def _load(self, name: str) -> tuple[Path, dict[str, Any]]:
        path = self._path(name)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise KeyNotFound(name) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise CorruptKeyFile(path, str(exc)) from exc
        try:
            document = json.loads(text)
        except json.JSONDecodeError as exc:
            raise CorruptKeyFile(path, f"not JSON ({exc})") from exc
        if not isinstance(document, dict):
            raise CorruptKeyFile(path, "not a JSON object")
        if document.get("version") != FILE_VERSION:
            raise CorruptKeyFile(path, f"unsupported version {document.get('version')!r}")
        if document.get("name") != name:
            raise CorruptKeyFile(path, f"it names key {document.get('name')!r}, not {name!r}")
        return path, document

    @staticmethod
    def _storage(path: Path, document: dict[str, Any]) -> tuple[str, str] | None:
        """The (service, user name) of a key's OS keyring entry; None if its file holds it."""
        storage = document.get("storage")
        if storage is None:
            return None
        if (
            not isinstance(storage, dict)
            or storage.get("backend") != BACKEND_OS
            or not isinstance(storage.get("service"), str)
            or not isinstance(storage.get("username"), str)
        ):
            raise CorruptKeyFile(path, f"unknown storage {storage!r}")
        return storage["service"], storage["username"]

    def _info(self, path: Path, document: dict[str, Any]) -> KeyInfo:
        try:
            public_key = bytes.fromhex(document["public_key"])
            address = document["address"]
            kind = document["kind"]
            hd_path = document["hd_path"]
        except (KeyError, TypeError, ValueError) as exc:
            raise CorruptKeyFile(path, f"missing or malformed field {exc}") from exc
        if kind not in (_KIND_MNEMONIC, _KIND_PRIVATE_KEY):
            raise CorruptKeyFile(path, f"unknown key kind {kind!r}")
        try:
            derived = address_from_public_key(public_key)
        except ValueError as exc:
            raise CorruptKeyFile(path, f"bad public key: {exc}") from exc
        if derived != address:
            raise CorruptKeyFile(path, "the address does not belong to the public key")
        return KeyInfo(
            name=str(document["name"]),
            address=address,
            public_key=public_key,
            has_mnemonic=kind == _KIND_MNEMONIC,
            hd_path=hd_path if isinstance(hd_path, str) else None,
            backend=BACKEND_FILE if self._storage(path, document) is None else BACKEND_OS,
        )

    def show(self, name: str) -> KeyInfo:
        """Name, address and public key of a key, without its passphrase."""
        path, document = self._load(name)
        return self._info(path, document)

    def list(self) -> list[KeyInfo]:
        """Every key, sorted by name; unreadable files raise :class:`CorruptKeyFile`."""
        if not self.directory.is_dir():
            return []
        infos: list[KeyInfo] = []
        for path in sorted(self.directory.glob(f"*{_SUFFIX}")):
            name = path.name[: -len(_SUFFIX)]
            if path.name.startswith(".") or not _NAME.fullmatch(name):
                continue
            infos.append(self.show(name))
        return infos

    def _sealed(self, path: Path, name: str, document: dict[str, Any]) -> dict[str, Any]:
        """The file's document with its sealed fields, fetched from the OS keyring if there."""
        storage = self._storage(path, document)
        if storage is None:
            return document
        from worker_manager.keys.os_keyring import OsKeyring

        service, username = storage
        text = OsKeyring(service).get(username)
        if text is None:
            raise SecretMissing(name, service, username)
        try:
            sealed = json.loads(text)
        except json.JSONDecodeError:
            sealed = None
        if not isinstance(sealed, dict):
            raise CorruptKeyFile(path, f"its OS keyring entry {username!r} is not a sealed key")
        return {**document, **{k: sealed.get(k) for k in _SEALED_FIELDS}}

    def _decrypt(self, name: str, passphrase: str) -> tuple[KeyInfo, dict[str, Any]]:
        path, document = self._load(name)
        info = self._info(path, document)
        document = self._sealed(path, name, document)
        try:
            kdf = document["kdf"]
            cipher = document["cipher"]
            salt = base64.b64decode(kdf["salt"], validate=True)
            n, r, p = int(kdf["n"]), int(kdf["r"]), int(kdf["p"])
            nonce = base64.b64decode(cipher["nonce"], validate=True)
            ciphertext = base64.b64decode(document["ciphertext"], validate=True)
        except (KeyError, TypeError, ValueError, binascii.Error) as exc:
            raise CorruptKeyFile(path, f"missing or malformed field {exc}") from exc
        if kdf.get("name") != _KDF_NAME or cipher.get("name") != _CIPHER_NAME:
            raise CorruptKeyFile(path, "unsupported KDF or cipher")
        if not (MIN_SCRYPT_N <= n <= MAX_SCRYPT_N and 1 <= r <= 32 and 1 <= p <= 16):
            raise CorruptKeyFile(path, f"scrypt parameters out of bounds (n={n}, r={r}, p={p})")
        if len(nonce) != _NONCE_SIZE or len(salt) < _SALT_SIZE:
            raise CorruptKeyFile(path, "bad nonce or salt length")
        header = {k: document.get(k) for k in ("version", "name", "address", "public_key")}
        header |= {"kind": document.get("kind"), "hd_path": document.get("hd_path")}
        aad = _associated_data({**header, "kdf": kdf, "cipher": cipher})
        try:
            secret_key = _kdf(passphrase, salt, n, r, p)
        except ValueError as exc:  # e.g. n not a power of two
            raise CorruptKeyFile(path, f"bad scrypt parameters: {exc}") from exc
        try:
            plaintext = AESGCM(secret_key).decrypt(nonce, ciphertext, aad)
        except InvalidTag:
            raise WrongPassphrase(name) from None
        try:
            payload = json.loads(plaintext)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise CorruptKeyFile(path, "the decrypted secret is not JSON") from exc
        if not isinstance(payload, dict):
            raise CorruptKeyFile(path, "the decrypted secret is not a JSON object")
        return info, payload

    def get(self, name: str, *, passphrase: str) -> PrivateKey:
        """The private key, decrypted; raises :class:`WrongPassphrase` or :class:`KeyNotFound`."""
        info, payload = self._decrypt(name, passphrase)
        path = self._path(name)
        try:
            if info.has_mnemonic:
                key = key_from_mnemonic(str(payload["mnemonic"]), str(payload["hd_path"]))
            else:
                key = PrivateKey(bytes.fromhex(str(payload["private_key"])))
        except (KeyError, ValueError, SignatureError) as exc:
            raise CorruptKeyFile(path, f"the decrypted secret is malformed: {exc}") from exc
        if key.public_key != info.public_key:
            raise CorruptKeyFile(path, "the decrypted key does not match the stored public key")
        return key

    def mnemonic(self, name: str, *, passphrase: str) -> str:
        """The mnemonic a key was added from; raises :class:`NoMnemonic` for raw keys."""
        info, payload = self._decrypt(name, passphrase)
        if not info.has_mnemonic or not isinstance(payload.get("mnemonic"), str):
            raise NoMnemonic(name)
        return str(payload["mnemonic"])
