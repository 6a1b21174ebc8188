"""Message JSON the contract will hold: decoded once, checked once, safe to store.

Python's ``json`` module accepts text no database, client or other JSON parser
should be handed: lone UTF-16 surrogates (``"\\ud800"``), NUL characters
(PostgreSQL text refuses them), ``NaN``/``Infinity``, integers of any size and
nesting as deep as the interpreter's stack. Every message the contract parses
passes :func:`check_json` first, so none of those ever reaches a handler, the
store or the tx log. The checks walk the value once, iteratively (no recursion
to exhaust), and cost a few microseconds for a typical message.
"""

import json
import math
import re
from collections.abc import Mapping
from typing import Any, NoReturn

from worker_manager.contract.error import InvalidMessage, InvalidUnicode

#: Deepest nesting of objects and arrays in a message. The deepest message the
#: contract knows (an attestation policy) needs about 6.
MAX_JSON_DEPTH = 32
#: Integers in messages are unsigned and fit a signed 64-bit database column.
MAX_JSON_INT = 2**63 - 1

_SURROGATE_OR_NUL = re.compile("[\ud800-\udfff\x00]")


def _refuse_constant(name: str) -> NoReturn:
    raise InvalidMessage(f"{name} is not a JSON number; messages hold finite numbers only")


def _finite_float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise InvalidMessage(f"number {text[:40]} is too large")
    return value


_DECODER = json.JSONDecoder(parse_constant=_refuse_constant, parse_float=_finite_float)


def _check_text(text: str, where: str) -> None:
    found = _SURROGATE_OR_NUL.search(text)
    if found is None:
        return
    char = found.group()
    if char == "\x00":
        raise InvalidMessage(f"{where} holds a NUL character (\\u0000), which no field may hold")
    raise InvalidUnicode(where, ord(char))


def _check_scalar(item: Any, where: str) -> None:
    if isinstance(item, str):
        _check_text(item, where)
    elif isinstance(item, bool) or item is None:
        return
    elif isinstance(item, int):
        if not 0 <= item <= MAX_JSON_INT:
            shown = str(item) if len(str(item)) <= 40 else f"{str(item)[:40]}..."
            raise InvalidMessage(f"{where}: integer {shown} is out of range 0..{MAX_JSON_INT}")
    elif isinstance(item, float):
        if not math.isfinite(item):
            raise InvalidMessage(f"{where}: numbers must be finite")
    else:
        raise InvalidMessage(f"{where}: {type(item).__name__} is not a JSON value")


def check_json(value: Any) -> None:
    """Refuse what :mod:`json` accepts but the contract must never hold (see the module doc).

    Raises :class:`InvalidUnicode` for a lone surrogate, :class:`InvalidMessage`
    for NUL characters, integers outside ``0..2**63-1``, non-finite floats or
    nesting deeper than :data:`MAX_JSON_DEPTH`.
    """
    stack: list[tuple[Any, str, int]] = [(value, "message", 0)]
    while stack:
        item, where, depth = stack.pop()
        if not isinstance(item, Mapping | list | tuple):
            _check_scalar(item, where)
            continue
        if depth >= MAX_JSON_DEPTH:
            raise InvalidMessage(f"the message is nested more than {MAX_JSON_DEPTH} levels deep")
        if isinstance(item, Mapping):
            for key, child in item.items():
                if not isinstance(key, str):
                    raise InvalidMessage(f"{where}: object keys must be strings")
                _check_text(key, f"{where} (a key)")
                stack.append((child, f"{where}.{key}" if depth else key, depth + 1))
        else:
            stack.extend((child, f"{where}[{i}]", depth + 1) for i, child in enumerate(item))


def load_json(raw: bytes | str) -> Any:
    """Decode message JSON (UTF-8 bytes or text) and :func:`check_json` it.

    Raises :class:`InvalidUnicode` for text that is not valid Unicode (lone
    surrogates, escaped or as raw bytes) and :class:`InvalidMessage` for
    anything else that is not acceptable JSON.
    """
    if isinstance(raw, bytes | bytearray | memoryview):
        try:
            text = bytes(raw).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidUnicode.from_bytes(exc.start) from exc
    else:
        text = raw
    try:
        value = _DECODER.decode(text)
    except json.JSONDecodeError as exc:
        raise InvalidMessage(f"message is not valid JSON: {exc}") from exc
    except ValueError as exc:  # an integer of more than 4,300 digits
        raise InvalidMessage(f"message holds a number that is too long: {exc}") from exc
    except RecursionError as exc:
        raise InvalidMessage(
            f"the message is nested more than {MAX_JSON_DEPTH} levels deep"
        ) from exc
    check_json(value)
    return value
