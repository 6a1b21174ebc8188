"""``worker-manager keys``: accounts in the home's encrypted keyring.

Keys derive on Secret's path m/44'/529'/0'/0/0, so a mnemonic gives the same
``secret1…`` address here as in Keplr, secretcli and secret-sdk. Each key file
is encrypted with a passphrase (scrypt + AES-256-GCM); scripts pass it in
``WM_KEYRING_PASSPHRASE``. ``--keyring-backend os`` (or ``WM_KEYRING_BACKEND=os``)
keeps a new key's sealed secret in the OS keyring instead of the home. ``keys
export`` and ``keys import`` move a key to and from secretcli in its ASCII-armored
format; scripts pass that format's passphrase with ``--passphrase-file`` or
``WM_ARMOR_PASSPHRASE``.
"""

import os
import sys
from pathlib import Path
from typing import Annotated, Final

import typer

from worker_manager.cli.common import (
    EXIT_USAGE,
    HomeOption,
    Output,
    OutputOption,
    ask_passphrase,
    fail,
    is_text,
    keyring,
    load_key,
    passphrase,
    print_json,
    resolve_home,
    stderr,
    stdout,
)
from worker_manager.home import ensure_home
from worker_manager.keys import PrivateKey
from worker_manager.keys.armor import (
    MIN_EXPORT_PASSPHRASE,
    ArmorError,
    MalformedArmor,
    UnsupportedArmor,
    WrongArmorPassphrase,
    decode_armor,
    export_private_key,
    import_private_key,
)
from worker_manager.keys.keyring import (
    BACKEND_OS,
    BACKENDS,
    InvalidKeyName,
    KeyExists,
    KeyInfo,
    KeyNotFound,
    Keyring,
    KeyringError,
    OsKeyringUnavailable,
    validate_key_name,
)
from worker_manager.keys.mnemonic import MnemonicError, generate_mnemonic
from worker_manager.keys.os_keyring import OsKeyring
from worker_manager.settings import environment

app = typer.Typer(
    help="Manage the accounts that sign transactions (an encrypted keyring in the home).",
    no_args_is_help=True,
)

NameArgument = Annotated[str, typer.Argument(help="Key name: letters, digits, . _ -")]
KeyringBackendOption = Annotated[
    str | None,
    typer.Option(
        "--keyring-backend",
        help="Where the new key's sealed secret goes: file (in the home) or os (the OS "
        "keyring; needs the keyring extra). Default: $WM_KEYRING_BACKEND, else file.",
        show_default=False,
    ),
]
PassphraseFileOption = Annotated[
    Path | None,
    typer.Option(
        "--passphrase-file",
        help="Read the armored key's passphrase from the first line of this file "
        "(default: $WM_ARMOR_PASSPHRASE, else a prompt).",
        show_default=False,
    ),
]
#: An armored key is under 1 KiB; read no more than this from a file or standard input.
_MAX_ARMOR_BYTES: Final = 64 * 1024
_NO_OS_KEYRING_HINT: Final = "; or keep the key in the home with --keyring-backend file"


def _info_json(info: KeyInfo) -> dict[str, object]:
    return {
        "name": info.name,
        "address": info.address,
        "public_key": info.public_key.hex(),
        "has_mnemonic": info.has_mnemonic,
        "backend": info.backend,
    }


def _line(info: KeyInfo) -> str:
    suffix = "  (OS keyring)" if info.backend == BACKEND_OS else ""
    return f"{info.name}  {info.address}{suffix}"


def _backend(option: str | None) -> str:
    value = option or environment().get("WM_KEYRING_BACKEND") or "file"
    if value not in BACKENDS:
        where = "--keyring-backend" if option else "WM_KEYRING_BACKEND"
        fail(f"{where} must be file or os, not {value!r}", EXIT_USAGE)
    return value


def _new_key_ring(home: Path | None, backend: str | None = None) -> Keyring:
    """The keyring a new key goes into (its home is made by :func:`_add`).

    With the ``os`` backend the OS keyring is tried at once, so a missing package or
    backend is reported before any passphrase is asked for.
    """
    chosen = _backend(backend)
    ring = Keyring(keyring(home).directory, backend=chosen)
    if chosen == BACKEND_OS:
        try:
            OsKeyring(ring.os_service).get("worker-manager availability check")
        except OsKeyringUnavailable as exc:
            fail(f"{exc}{_NO_OS_KEYRING_HINT}")
    return ring


def _add(home: Path | None, ring: Keyring, name: str, secret: str | PrivateKey) -> KeyInfo:
    """Add a key with a new keyring passphrase; every refusal is one error line.
    A home made for it is owner-only, like a node's."""
    ensure_home(resolve_home(home)[0])
    try:
        info = ring.add(name, secret, passphrase=passphrase(confirm=True))
    except MnemonicError as exc:
        fail(f"not a valid mnemonic: {exc}", EXIT_USAGE)
    except OsKeyringUnavailable as exc:
        fail(f"{exc}{_NO_OS_KEYRING_HINT}")
    except (KeyringError, ValueError) as exc:
        fail(str(exc))
    if info.backend == BACKEND_OS:
        stderr.print(f"its sealed secret is in the OS keyring (service {ring.os_service})")
    return info


def _show(info: KeyInfo, output: Output) -> None:
    if output is Output.json:
        print_json(_info_json(info))
    else:
        stdout.print(_line(info))


@app.command()
def add(
    name: NameArgument,
    home: HomeOption = None,
    words: Annotated[int, typer.Option(help="Mnemonic length: 12 or 24 words.")] = 24,
    keyring_backend: KeyringBackendOption = None,
    output: OutputOption = Output.table,
) -> None:
    """Create a new key. Its mnemonic is shown ONCE: write it down.

    Example:

      worker-manager keys add operator
      worker-manager keys add operator --keyring-backend os
    """
    if words not in (12, 24):
        fail("--words must be 12 or 24", EXIT_USAGE)
    mnemonic = generate_mnemonic(words)
    ring = _new_key_ring(home, keyring_backend)
    info = _add(home, ring, name, mnemonic)
    if output is Output.json:
        print_json({**_info_json(info), "mnemonic": mnemonic})
        return
    stdout.print(_line(info))
    stderr.print(
        "\n[bold yellow]Mnemonic (shown once; anyone who has it controls this account):[/]\n\n"
        f"  {mnemonic}\n",
        markup=True,
    )


@app.command()
def recover(
    name: NameArgument,
    home: HomeOption = None,
    keyring_backend: KeyringBackendOption = None,
    output: OutputOption = Output.table,
) -> None:
    """Restore a key from its mnemonic, read from standard input (never from arguments).

    Example:

      worker-manager keys recover operator < mnemonic.txt
    """
    if sys.stdin.isatty():
        phrase = typer.prompt("Mnemonic", hide_input=True, err=True)
    else:
        try:
            phrase = sys.stdin.readline()
        except UnicodeDecodeError:
            phrase = "\udcff"  # strict decoding; under the C locale Python escapes instead
    if not is_text(phrase):
        fail("the mnemonic on standard input is not UTF-8 text", EXIT_USAGE)
    if not phrase.strip():
        fail("no mnemonic on standard input", EXIT_USAGE)
    ring = _new_key_ring(home, keyring_backend)
    _show(_add(home, ring, name, phrase), output)


@app.command("list")
def list_keys(home: HomeOption = None, output: OutputOption = Output.table) -> None:
    """List the keys in the keyring (no passphrase needed).

    Example:

      worker-manager keys list --output json
    """
    try:
        infos = keyring(home).list()
    except KeyringError as exc:
        fail(str(exc))
    if output is Output.json:
        print_json([_info_json(i) for i in infos])
        return
    if not infos:
        stderr.print("no keys yet; create one with: worker-manager keys add NAME")
    for info in infos:
        stdout.print(_line(info))


@app.command()
def show(
    name: NameArgument,
    home: HomeOption = None,
    address: Annotated[
        bool, typer.Option("--address", "-a", help="Print the address only.")
    ] = False,
    output: OutputOption = Output.table,
) -> None:
    """Show a key's address and public key.

    Example:

      worker-manager keys show operator --address
    """
    try:
        info = keyring(home).show(name)
    except KeyringError as exc:
        fail(str(exc))
    if address:
        sys.stdout.write(info.address + "\n")
    elif output is Output.json:
        print_json(_info_json(info))
    else:
        stdout.print(
            f"name:        {info.name}\naddress:     {info.address}\n"
            f"public key:  {info.public_key.hex()}\n"
            f"stored in:   {'the OS keyring' if info.backend == BACKEND_OS else 'the home'}"
        )


@app.command()
def delete(
    name: NameArgument,
    home: HomeOption = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete a key from the keyring. Without its mnemonic it is gone for good.

    Example:

      worker-manager keys delete old-key --yes
    """
    ring = keyring(home)
    try:
        info = ring.show(name)
        if not yes and not typer.confirm(f"Delete key {name} ({info.address})?", err=True):
            raise typer.Exit(1)
        ring.delete(name)
    except KeyringError as exc:
        fail(str(exc))
    stderr.print(f"deleted {name}")


def _armor_passphrase(passphrase_file: Path | None, *, confirm: bool) -> str:
    """The armored key's passphrase: ``--passphrase-file``, ``WM_ARMOR_PASSPHRASE``, a prompt."""
    if passphrase_file is not None:
        try:
            raw = passphrase_file.read_bytes()[:_MAX_ARMOR_BYTES]
        except OSError as exc:
            fail(f"cannot read --passphrase-file {passphrase_file}: {exc.strerror}", EXIT_USAGE)
        try:
            value = raw.decode("utf-8").splitlines()[0] if raw.strip() else ""
        except UnicodeDecodeError:
            fail(f"--passphrase-file {passphrase_file} is not UTF-8 text", EXIT_USAGE)
        if not value:
            fail(f"--passphrase-file {passphrase_file} is empty", EXIT_USAGE)
        return value
    return ask_passphrase(
        environment().get("WM_ARMOR_PASSPHRASE"),
        variable="WM_ARMOR_PASSPHRASE",
        what="the armored key",
        ways="use --passphrase-file FILE, set WM_ARMOR_PASSPHRASE",
        prompt="Passphrase of the armored key",
        confirm=confirm,
    )


def _write_new_file(path: Path, text: str) -> None:
    """Create ``path`` owner-only (0600) with ``text``; never replace an existing file."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        fail(f"{path} already exists; remove it or choose another file", EXIT_USAGE)
    except OSError as exc:
        fail(f"cannot create {path}: {exc.strerror}", EXIT_USAGE)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())


@app.command("export")
def export_key(
    name: NameArgument,
    home: HomeOption = None,
    output_file: Annotated[
        Path | None,
        typer.Option(
            "--output-file",
            help="Write the armored key to this new file (mode 0600) instead of standard output.",
            show_default=False,
        ),
    ] = None,
    passphrase_file: PassphraseFileOption = None,
) -> None:
    """Export a key in secretcli's ASCII-armored, passphrase-encrypted format.

    Asks for a new passphrase of at least 8 characters for the export, then for
    the keyring passphrase (to open the key). The format is `secretcli keys
    export`'s, for `secretcli keys import NAME FILE`.

    Example:

      worker-manager keys export admin --output-file admin.armor
    """
    ring = keyring(home)
    try:
        ring.show(name)
    except KeyringError as exc:
        fail(str(exc))
    export_passphrase = _armor_passphrase(passphrase_file, confirm=True)
    if len(export_passphrase) < MIN_EXPORT_PASSPHRASE:
        fail(
            f"the export passphrase must have at least {MIN_EXPORT_PASSPHRASE} characters "
            "(secretcli refuses shorter ones)",
            EXIT_USAGE,
        )
    key = load_key(home, name)
    try:
        text = export_private_key(key, export_passphrase)
    except ArmorError as exc:
        fail(str(exc), EXIT_USAGE)
    if output_file is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    _write_new_file(output_file, text)
    stderr.print(f"wrote {output_file}")


def _read_armor(source: str) -> str:
    try:
        if source == "-":
            raw = sys.stdin.buffer.read(_MAX_ARMOR_BYTES + 1)
        else:
            with Path(source).open("rb") as handle:
                raw = handle.read(_MAX_ARMOR_BYTES + 1)
    except OSError as exc:
        fail(f"cannot read {source}: {exc.strerror}", EXIT_USAGE)
    if len(raw) > _MAX_ARMOR_BYTES:
        fail(f"{source} is larger than an armored key can be", EXIT_USAGE)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        fail(f"{source} is not an armored key (not UTF-8 text)", EXIT_USAGE)


@app.command("import")
def import_key(
    name: NameArgument,
    file: Annotated[
        str, typer.Argument(help="The armored key (from secretcli keys export); - for stdin.")
    ],
    home: HomeOption = None,
    passphrase_file: PassphraseFileOption = None,
    keyring_backend: KeyringBackendOption = None,
    output: OutputOption = Output.table,
) -> None:
    """Import a key exported by `secretcli keys export` (ASCII-armored, encrypted).

    Asks for the passphrase the key was exported with, then for a new keyring
    passphrase. A key of that name must not exist yet (delete it first).

    Example:

      worker-manager keys import admin admin.armor
      worker-manager keys import admin - --passphrase-file pw.txt < admin.armor
    """
    try:
        validate_key_name(name)
    except InvalidKeyName as exc:
        fail(str(exc), EXIT_USAGE)
    try:
        keyring(home).show(name)
    except KeyNotFound:
        pass
    except KeyringError as exc:
        fail(str(exc))
    else:
        fail(str(KeyExists(name)))
    text = _read_armor(file)
    try:
        decode_armor(text)  # a damaged file is refused before any passphrase is asked for
    except MalformedArmor as exc:
        fail(str(exc), EXIT_USAGE)
    ring = _new_key_ring(home, keyring_backend)
    if file == "-" and passphrase_file is None and not environment().get("WM_ARMOR_PASSPHRASE"):
        fail(
            "the key came on standard input, so its passphrase cannot: use "
            "--passphrase-file FILE or set WM_ARMOR_PASSPHRASE",
            EXIT_USAGE,
        )
    armor_passphrase = _armor_passphrase(passphrase_file, confirm=False)
    try:
        key = import_private_key(text, armor_passphrase)
    except WrongArmorPassphrase as exc:
        fail(str(exc))
    except (MalformedArmor, UnsupportedArmor) as exc:
        fail(str(exc), EXIT_USAGE)
    except ArmorError as exc:
        fail(str(exc))
    _show(_add(home, ring, name, key), output)
