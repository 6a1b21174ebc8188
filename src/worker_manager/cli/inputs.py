"""Checks of what the user typed, run before a key is loaded, a tx signed or a file written.

Each failure is one ``error:`` line and exit code 2. The rules are the contract's
own (worker addresses, ``secret1…`` addresses, worker types, URLs, message JSON),
asked early so a typo never costs a passphrase prompt or a sequence number.
"""

from collections.abc import Callable
from pathlib import Path
from typing import Any

from worker_manager.cli.common import EXIT_USAGE, fail
from worker_manager.contract import ContractError
from worker_manager.contract.json_text import check_json, load_json
from worker_manager.contract.msg import parse_execute
from worker_manager.contract.validate import canonical_worker_address, http_url, worker_type
from worker_manager.keys import AddressError, validate_address

#: Larger than any tx a node accepts; stops ``--report-file /dev/zero`` from eating memory.
MAX_INPUT_FILE_BYTES = 16 * 1024 * 1024


def read_bytes(path: Path, name: str) -> bytes:
    """The file's bytes (at most :data:`MAX_INPUT_FILE_BYTES`), or exit 2 saying why not."""
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_INPUT_FILE_BYTES + 1)
    except IsADirectoryError:
        fail(f"{name} {path} is a directory, not a file", EXIT_USAGE)
    except OSError as exc:
        fail(f"cannot read {name} {path}: {exc.strerror or exc}", EXIT_USAGE)
    if len(data) > MAX_INPUT_FILE_BYTES:
        fail(f"{name} {path} is larger than {MAX_INPUT_FILE_BYTES} bytes", EXIT_USAGE)
    return data


def read_text(path: Path, name: str, *, hint: str = "") -> str:
    """The file's UTF-8 text, or exit 2 saying why not (``hint`` says what to give instead)."""
    data = read_bytes(path, name)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        fail(f"{name} {path} is not text: byte {exc.start} is not UTF-8{hint}", EXIT_USAGE)


def parse_json(text: str, where: str = "") -> Any:
    """JSON a message may hold (the contract's rules: depth, Unicode, numbers), or exit 2.
    ``where`` names the file the text came from."""
    try:
        return load_json(text)
    except ContractError as exc:
        fail(f"{where}: {exc.message}" if where else exc.message, EXIT_USAGE)


def check_message(msg: dict[str, Any]) -> dict[str, Any]:
    """``msg`` if the contract's JSON rules accept it as a whole, else exit 2."""
    try:
        check_json(msg)
    except ContractError as exc:
        fail(exc.message, EXIT_USAGE)
    return msg


def account(value: str, name: str) -> str:
    """A valid ``secret1…`` address (bech32 checksum, prefix, length), else exit 2."""
    try:
        validate_address(value)
    except AddressError as exc:
        fail(f"{name} {value!r} is not a valid address: {exc}", EXIT_USAGE)
    return value


def worker(value: str, name: str) -> str:
    """A worker address the contract accepts (host or IP, optional port), else exit 2."""
    return _contract_check(canonical_worker_address, value, name)


def model(value: str, name: str) -> str:
    """A worker type the contract accepts, else exit 2."""
    return _contract_check(worker_type, value, name)


def url(value: str, name: str) -> str:
    """An http(s) URL the contract accepts, else exit 2."""
    return _contract_check(http_url, value, name)


def permit_name(value: str, name: str) -> str:
    """A SNIP-24 permit name the contract accepts (1 to 256 characters), else exit 2."""
    try:
        parse_execute({"revoke_permit": {"permit_name": value}})
    except ContractError as exc:
        fail(f"{name}: {exc.message}", EXIT_USAGE)
    return value


def host(value: str, name: str) -> str:
    """A listen host: a name or address, not empty and without spaces, else exit 2."""
    if not value.strip() or any(c.isspace() for c in value):
        fail(f"{name} {value!r} is not a host name or address", EXIT_USAGE)
    return value


def _contract_check(check: Callable[[str, str], str], value: str, name: str) -> str:
    try:
        check(value, name)
    except ContractError as exc:
        fail(exc.message, EXIT_USAGE)
    return value
