"""``worker-manager keys``: accounts in the home's encrypted keyring.

Keys derive on Secret's path m/44'/529'/0'/0/0, so a mnemonic gives the same
``secret1…`` address here as in Keplr, secretcli and secret-sdk. Each key file
is encrypted with a passphrase (scrypt + AES-256-GCM); scripts pass it in
``WM_KEYRING_PASSPHRASE``.
"""

import sys
from pathlib import Path
from typing import Annotated

import typer

from worker_manager.cli.common import (
    EXIT_USAGE,
    HomeOption,
    Output,
    OutputOption,
    fail,
    is_text,
    keyring,
    passphrase,
    print_json,
    resolve_home,
    stderr,
    stdout,
)
from worker_manager.home import ensure_home
from worker_manager.keys.keyring import KeyInfo, Keyring, KeyringError
from worker_manager.keys.mnemonic import MnemonicError, generate_mnemonic

app = typer.Typer(
    help="Manage the accounts that sign transactions (an encrypted keyring in the home).",
    no_args_is_help=True,
)

NameArgument = Annotated[str, typer.Argument(help="Key name: letters, digits, . _ -")]


def _info_json(info: KeyInfo) -> dict[str, object]:
    return {
        "name": info.name,
        "address": info.address,
        "public_key": info.public_key.hex(),
        "has_mnemonic": info.has_mnemonic,
    }


def _new_key_ring(home: Path | None) -> Keyring:
    """The keyring a new key goes into; a home made for it is owner-only, like a node's."""
    ensure_home(resolve_home(home)[0])
    return keyring(home)


def _show(info: KeyInfo, output: Output) -> None:
    if output is Output.json:
        print_json(_info_json(info))
    else:
        stdout.print(f"{info.name}  {info.address}")


@app.command()
def add(
    name: NameArgument,
    home: HomeOption = None,
    words: Annotated[int, typer.Option(help="Mnemonic length: 12 or 24 words.")] = 24,
    output: OutputOption = Output.table,
) -> None:
    """Create a new key. Its mnemonic is shown ONCE: write it down.

    Example:

      worker-manager keys add operator
    """
    if words not in (12, 24):
        fail("--words must be 12 or 24", EXIT_USAGE)
    mnemonic = generate_mnemonic(words)
    ring = _new_key_ring(home)
    try:
        info = ring.add(name, mnemonic, passphrase=passphrase(confirm=True))
    except (KeyringError, ValueError) as exc:
        fail(str(exc))
    if output is Output.json:
        print_json({**_info_json(info), "mnemonic": mnemonic})
        return
    stdout.print(f"{info.name}  {info.address}")
    stderr.print(
        "\n[bold yellow]Mnemonic (shown once; anyone who has it controls this account):[/]\n\n"
        f"  {mnemonic}\n",
        markup=True,
    )


@app.command()
def recover(
    name: NameArgument,
    home: HomeOption = None,
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
    ring = _new_key_ring(home)
    try:
        info = ring.add(name, phrase, passphrase=passphrase(confirm=True))
    except MnemonicError as exc:
        fail(f"not a valid mnemonic: {exc}", EXIT_USAGE)
    except (KeyringError, ValueError) as exc:
        fail(str(exc))
    _show(info, output)


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
        stdout.print(f"{info.name}  {info.address}")


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
            f"public key:  {info.public_key.hex()}"
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
