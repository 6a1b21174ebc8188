"""Decoding LCD requests: addresses, hashes, base64 and broadcast bodies.

Each function returns the decoded value or raises :class:`~worker_manager.lcd.errors.LcdError`
with the grpc-gateway code a Cosmos LCD would answer with.
"""

import base64
import binascii
import re
from enum import StrEnum

from worker_manager.contract import ContractError
from worker_manager.contract.json_text import load_json
from worker_manager.keys import AddressError, validate_address
from worker_manager.lcd.errors import GrpcCode, LcdError

_TX_HASH = re.compile(r"[0-9A-Fa-f]{64}")


class BroadcastMode(StrEnum):
    """``cosmos.tx.v1beta1.BroadcastMode`` values this node accepts."""

    SYNC = "BROADCAST_MODE_SYNC"
    ASYNC = "BROADCAST_MODE_ASYNC"


BLOCK_MODE = "BROADCAST_MODE_BLOCK"
#: The enum's numbers, which grpc-gateway accepts as well as names.
_MODE_NAMES = {1: BLOCK_MODE, 2: BroadcastMode.SYNC.value, 3: BroadcastMode.ASYNC.value}
_ACCEPTED_MODES = tuple(m.value for m in BroadcastMode)  # a tuple: mode may be unhashable


def account_address(text: str, what: str = "address") -> str:
    """A ``secret1…`` address in canonical (lower-case) form."""
    try:
        return validate_address(text)
    except AddressError as exc:
        raise LcdError(GrpcCode.INVALID_ARGUMENT, f"invalid {what} {text}: {exc}") from exc


def tx_hash_param(text: str) -> str:
    """A tx hash (64 hex characters, either case) in upper case."""
    if not _TX_HASH.fullmatch(text):
        raise LcdError(
            GrpcCode.INVALID_ARGUMENT, f"tx hash {text} is not 64 hexadecimal characters"
        )
    return text.upper()


def base64_bytes(text: str, what: str) -> bytes:
    """Standard base64; a space stands for ``+`` (a query string decoded as a form)."""
    try:
        return base64.b64decode(text.replace(" ", "+"), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise LcdError(GrpcCode.INVALID_ARGUMENT, f"{what} is not valid base64") from exc


def _json_object(body: bytes) -> dict[str, object]:
    try:
        data = load_json(body)
    except ContractError as exc:
        raise LcdError(
            GrpcCode.INVALID_ARGUMENT, f"the request body is not acceptable JSON: {exc.message}"
        ) from exc
    if not isinstance(data, dict):
        raise LcdError(GrpcCode.INVALID_ARGUMENT, "the request body must be a JSON object")
    return data


def _tx_bytes(data: dict[str, object]) -> bytes:
    encoded = data.get("tx_bytes")
    if not isinstance(encoded, str) or not encoded:
        raise LcdError(GrpcCode.INVALID_ARGUMENT, "tx_bytes (base64 of the signed tx) is required")
    return base64_bytes(encoded, "tx_bytes")


def broadcast_request(body: bytes) -> tuple[bytes, BroadcastMode]:
    """``{"tx_bytes": base64, "mode": "BROADCAST_MODE_SYNC" | "BROADCAST_MODE_ASYNC"}``.

    Other keys (secret-sdk may add ``sequences`` and ``fee_granter``) are ignored.
    Block mode is refused, as on Cosmos SDK 0.47 and later.
    """
    data = _json_object(body)
    tx_bytes = _tx_bytes(data)
    mode = data.get("mode")
    if type(mode) is int:  # not a bool
        mode = _MODE_NAMES.get(mode, mode)
    if mode == BLOCK_MODE:
        raise LcdError(
            GrpcCode.INVALID_ARGUMENT,
            "BROADCAST_MODE_BLOCK is not supported; broadcast with BROADCAST_MODE_SYNC and "
            "poll GET /cosmos/tx/v1beta1/txs/{hash} for the result",
        )
    if mode not in _ACCEPTED_MODES:
        raise LcdError(
            GrpcCode.INVALID_ARGUMENT,
            f"unsupported broadcast mode {mode}; "
            "supported: BROADCAST_MODE_SYNC, BROADCAST_MODE_ASYNC",
        )
    return tx_bytes, BroadcastMode(str(mode))


def simulate_request(body: bytes) -> bytes:
    """``{"tx_bytes": base64}`` of the tx to estimate."""
    return _tx_bytes(_json_object(body))
