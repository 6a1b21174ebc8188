"""The records of the tx log, as the node commits them and every reader sees them.

Defined here, below both the store (which writes and reads them) and the edges
(which show them), so no edge needs the store to know their shape.
"""

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class AccountRecord:
    """An account as the ledger keeps it: its sequence and, once it has signed, its key."""

    address: str
    account_number: int
    sequence: int
    public_key: str | None
    first_height: int


@dataclass(frozen=True, slots=True)
class BlockRecord:
    """A committed block: its height, time, how many txs it holds and its chained hash."""

    height: int
    time_ns: int
    tx_count: int
    hash: str


@dataclass(frozen=True, slots=True)
class TxRecord:
    """One transaction as committed. ``messages`` is JSON (plaintext contract messages)."""

    hash: str
    height: int
    tx_index: int
    kind: str
    sender: str
    sequence: int | None
    tx_bytes: bytes | None
    messages: str
    code: int
    codespace: str
    error: str | None
    log: str
    data: bytes
    events: str
    gas_wanted: int
    gas_used: int
    fee: str
    memo: str
    time_ns: int
    #: Which message of a failed tx failed (None when it succeeded or failed before any).
    failed_msg_index: int | None = None
    #: JSON list, per message, of the evidence the node examined for it (None: none).
    inputs: str | None = None
