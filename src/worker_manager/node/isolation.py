"""Writing a block so that a tx can only ever fail itself.

A block's writes reach the database together (group commit). When the
database refuses them, the cause is either node-wide (disk full, database
gone: no block can be written now) or one tx's data (a value the database will
not store, which every check before it missed). This module tells the two
apart and, in the second case, finds the tx. Blocks are deterministic, so the
shortest prefix of the batch whose writes fail ends with the culprit; a binary
search over prefixes, each written and rolled back, finds it in about
``log2(n)`` trial writes. The culprit is marked unwritable and fails alone (its
sequence is used, as for any refusal); the others commit. This runs only
after a failure, so the normal path costs nothing.
"""

import logging
import sqlite3
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import DBAPIError, DisconnectionError

from worker_manager.node.pending import PendingTx

log = logging.getLogger(__name__)

T = TypeVar("T")

#: ``write(batch, commit)``: run ``batch`` as the next block; commit it, or roll it back
#: when ``commit`` is false. Raises whatever the database raised.
WriteBlock = Callable[[list[PendingTx], bool], T]


class BlockWriteFailed(Exception):
    """No block can be written now, for a reason no tx caused (disk full, database gone).

    Every tx of the block is refused with this; none of them used its sequence.
    """


class TxUnwritable(Exception):
    """Even the record of this tx's failure could not be written; it was left out of its
    block and its sequence was not used."""


#: SQLite result codes that say the database as a whole cannot be written now.
_SQLITE_NODE_WIDE = frozenset(
    {
        sqlite3.SQLITE_FULL,
        sqlite3.SQLITE_IOERR,
        sqlite3.SQLITE_CANTOPEN,
        sqlite3.SQLITE_READONLY,
        sqlite3.SQLITE_CORRUPT,
        sqlite3.SQLITE_NOTADB,
        sqlite3.SQLITE_BUSY,
        sqlite3.SQLITE_LOCKED,
    }
)
#: PostgreSQL SQLSTATE classes of the same kind: connection exception, insufficient
#: resources (disk full, out of memory), operator intervention, system error.
_POSTGRES_NODE_WIDE_CLASSES = ("08", "53", "57", "58")


def is_node_wide(exc: BaseException) -> bool:
    """Whether ``exc`` says the database cannot take any block now (disk full, gone,
    read-only, locked), whatever the block holds."""
    if isinstance(exc, DisconnectionError) or (
        isinstance(exc, DBAPIError) and exc.connection_invalidated
    ):
        return True
    original = getattr(exc, "orig", exc)
    code = getattr(original, "sqlite_errorcode", None)
    if isinstance(code, int) and (code & 0xFF) in _SQLITE_NODE_WIDE:
        return True
    state = getattr(original, "sqlstate", None)
    return isinstance(state, str) and state[:2] in _POSTGRES_NODE_WIDE_CLASSES


def _reason(exc: BaseException) -> str:
    """A short, storable description of a database refusal (no data from the tx in it)."""
    return type(exc).__name__


def _database_says(exc: BaseException) -> str:
    """What the database itself said (not the SQL or its parameters), printable."""
    original = getattr(exc, "orig", None) or exc
    first_line = str(original).splitlines()[0] if str(original) else ""
    return ascii(first_line)[1:-1][:160]


def _trial(write: WriteBlock[T], batch: list[PendingTx]) -> BaseException | None:
    try:
        write(batch, False)
    except Exception as exc:  # noqa: BLE001 - any refusal is what we are looking for
        return exc
    return None


def _first_unwritable(
    write: WriteBlock[T], batch: list[PendingTx]
) -> tuple[int, BaseException] | None:
    """The index of the first tx whose writes the database refuses, with the refusal;
    ``None`` when the fault is not any tx's (an empty block fails too, or every prefix
    writes and only the commit failed)."""
    if _trial(write, []) is not None:
        return None
    failure = _trial(write, batch)
    if failure is None:
        return None
    good, bad = 0, len(batch)  # prefix `good` writes, prefix `bad` does not
    while bad - good > 1:
        middle = (good + bad) // 2
        refused = _trial(write, batch[:middle])
        if refused is None:
            good = middle
        else:
            bad, failure = middle, refused
    return bad - 1, failure


def write_isolating(write: WriteBlock[T], batch: list[PendingTx]) -> tuple[T, list[PendingTx]]:
    """Write ``batch`` as one block, failing alone each tx the database refuses.

    Returns the block's outcome and the txs left out of it entirely (whose
    failure could not even be recorded: each gets :class:`TxUnwritable`).
    Raises :class:`BlockWriteFailed` when the database refuses the block for a
    reason no tx caused.
    """
    left_out: list[PendingTx] = []
    for _attempt in range(2 * len(batch) + 1):
        try:
            return write(batch, True), left_out
        except Exception as exc:  # noqa: BLE001 - sorted out below: one tx's, or node-wide
            failure: BaseException = exc
        found = None if is_node_wide(failure) else _first_unwritable(write, batch)
        if found is None or is_node_wide(found[1]):
            raise BlockWriteFailed(
                f"the database cannot take blocks now ({_reason(failure)}: "
                f"{_database_says(failure)})"
            ) from failure
        index, refusal = found
        culprit = batch[index]
        if culprit.unwritable is None:
            culprit.unwritable = _reason(refusal)
            log.warning(
                "the database refused the writes of tx %s (%s: %s); it fails alone",
                culprit.hash,
                _reason(refusal),
                _database_says(refusal),
            )
        else:
            log.error("even the failure of tx %s cannot be recorded; it is left out", culprit.hash)
            left_out.append(culprit)
            batch = batch[:index] + batch[index + 1 :]
    raise BlockWriteFailed("the database kept refusing the block")  # pragma: no cover
