"""Typed results of the client's calls."""

from dataclasses import dataclass
from typing import Any, Self

from worker_manager.contract.msg import (
    ConfigAnswer,
    SubscriberAnswer,
    WorkerAnswer,
    WorkersAnswer,
)

Worker = WorkerAnswer
Workers = WorkersAnswer
Config = ConfigAnswer
Subscriber = SubscriberAnswer


@dataclass(frozen=True, slots=True)
class NodeInfo:
    chain_id: str
    contract_address: str
    code_hash: str
    admin: str
    height: int
    workers: int
    version: str

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Self:
        return cls(
            chain_id=data["chain_id"],
            contract_address=data["contract_address"],
            code_hash=data["code_hash"],
            admin=data["admin"],
            height=int(data["height"]),
            workers=int(data["workers"]),
            version=str(data.get("version", "")),
        )


@dataclass(frozen=True, slots=True)
class Account:
    address: str
    account_number: int
    sequence: int
    public_key: str | None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Self:
        return cls(
            address=data["address"],
            account_number=int(data["account_number"]),
            sequence=int(data["sequence"]),
            public_key=data.get("public_key"),
        )


@dataclass(frozen=True, slots=True)
class TxResult:
    """A tx's outcome in its block. ``data`` is the contract's JSON answer."""

    txhash: str
    height: int
    code: int
    error: str | None
    log: str
    data: Any
    events: list[dict[str, Any]]
    gas_wanted: int
    gas_used: int
    time: str

    @property
    def ok(self) -> bool:
        return self.code == 0

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Self:
        return cls(
            txhash=data["txhash"],
            height=int(data["height"]),
            code=int(data["code"]),
            error=data.get("error"),
            log=data.get("log", ""),
            data=data.get("data"),
            events=data.get("events", []),
            gas_wanted=int(data.get("gas_wanted", 0)),
            gas_used=int(data.get("gas_used", 0)),
            time=data.get("time", ""),
        )


@dataclass(frozen=True, slots=True)
class TxInfo:
    """A committed tx as the node recorded it."""

    result: TxResult
    sender: str
    sequence: int | None
    messages: list[dict[str, Any]]
    fee: dict[str, Any]
    memo: str
    kind: str

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Self:
        return cls(
            result=TxResult.from_json(data),
            sender=data["sender"],
            sequence=data.get("sequence"),
            messages=data.get("messages", []),
            fee=data.get("fee", {}),
            memo=data.get("memo", ""),
            kind=data.get("kind", ""),
        )


@dataclass(frozen=True, slots=True)
class Queued:
    """A tx the node accepted and queued (``wait=False``); look it up by ``txhash`` later."""

    txhash: str
