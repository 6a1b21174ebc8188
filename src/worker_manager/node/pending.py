"""Transactions on their way into a block, and what comes out of one."""

import json
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Literal

from worker_manager.contract import Coin, ContractError
from worker_manager.contract.msg import ExecuteMsg, SudoMsg

#: How a tx entered the node: a signed Cosmos tx, a trusted in-process call, or genesis.
TxKind = Literal["signed", "internal", "genesis", "sudo"]

#: Gas is recorded, never charged: a deterministic estimate from the tx's size.
BASE_GAS = 60_000
GAS_PER_BYTE = 10


def gas_estimate(size: int) -> int:
    return BASE_GAS + GAS_PER_BYTE * size


@dataclass(frozen=True, slots=True)
class ContractCall:
    """One execute message for our contract, already parsed (and decrypted)."""

    msg: ExecuteMsg | SudoMsg
    msg_json: Any
    funds: tuple[Coin, ...] = ()
    #: ``(evidence key, evidence JSON)`` of the reports the node examined for it.
    evidence: tuple[tuple[str, str], ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "msg": self.msg_json,
            "funds": [{"denom": c.denom, "amount": c.amount} for c in self.funds],
        }


@dataclass(frozen=True, slots=True)
class TxOutcome:
    """The outcome of a tx in its block; ``code`` 0 is success."""

    hash: str
    height: int
    index: int
    code: int
    codespace: str
    error: str | None
    log: str
    data: bytes
    events: list[dict[str, Any]]
    gas_wanted: int
    gas_used: int
    time_ns: int
    #: Which message failed, when the contract refused one.
    failed_msg_index: int | None = None
    #: The contract's refusal itself, for in-process callers (never stored).
    exception: ContractError | None = field(default=None, compare=False, repr=False)

    @property
    def ok(self) -> bool:
        return self.code == 0


@dataclass(eq=False, slots=True)
class PendingTx:
    """A tx accepted by the ante checks (or a trusted call), waiting for its block."""

    hash: str
    kind: TxKind
    sender: str
    calls: tuple[ContractCall, ...]
    sequence: int | None = None
    public_key: bytes | None = None
    tx_bytes: bytes | None = None
    gas_wanted: int = 0
    fee: dict[str, Any] = field(default_factory=dict)
    memo: str = ""
    #: Genesis only: the instantiate message, recorded as the tx's message.
    instantiate_msg: dict[str, Any] | None = None
    #: Set when the database refused this tx's writes: it then fails alone in its block
    #: (its sequence is used), and this says why (see ``node/isolation.py``).
    unwritable: str | None = None
    future: Future[TxOutcome] = field(default_factory=Future)

    def inputs_json(self) -> str | None:
        """What the node vouched for with each message (the tx log's ``inputs``)."""
        if not any(c.evidence for c in self.calls):
            return None
        inputs = [{"evidence": dict(c.evidence)} for c in self.calls]
        return json.dumps(inputs, separators=(",", ":"), sort_keys=True)

    def messages_json(self) -> list[dict[str, Any]]:
        if self.instantiate_msg is not None:
            return [{"instantiate": self.instantiate_msg}]
        return [c.to_json() for c in self.calls]

    @property
    def size(self) -> int:
        if self.tx_bytes is not None:
            return len(self.tx_bytes)
        return len(json.dumps([c.to_json() for c in self.calls]))
