"""The node: turns authenticated messages into contract calls on the store.

It is the only caller of the contract core. It assigns height and time,
runs each execute in one store transaction (all or nothing), serves queries
from a per-height cache, and keeps the chain identity clients need.
"""

import logging
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from worker_manager import contract
from worker_manager.contract import (
    BlockInfo,
    Coin,
    ContractError,
    ContractInfo,
    Deps,
    Env,
    MessageInfo,
    Response,
    TransactionInfo,
)
from worker_manager.contract.msg import message_name, parse_execute, parse_query
from worker_manager.contract.validate import canonical_address
from worker_manager.node.cache import QueryCache
from worker_manager.node.clock import Clock
from worker_manager.node.identity import ChainIdentity, validate_chain_id
from worker_manager.store import SchemaError, Store
from worker_manager.store.meta import NodeMeta

log = logging.getLogger(__name__)

RawMessage = bytes | str | Mapping[str, Any]


class NodeNotInitialised(RuntimeError):
    """The database holds no chain: ``worker-manager init`` has not been run on it."""


@dataclass(frozen=True, slots=True)
class ExecuteOutcome:
    """A committed execute: the height it landed at and the contract's response."""

    height: int
    time_ns: int
    response: Response


@dataclass(frozen=True, slots=True)
class NodeInfo:
    chain_id: str
    contract_address: str
    code_hash: str
    code_id: int
    label: str
    admin: str
    height: int
    block_time_ns: int
    workers: int
    schema_version: str


def _read_height(meta: NodeMeta) -> tuple[int, int]:
    return int(meta.get("height") or 0), int(meta.get("block_time_ns") or 0)


class Node:
    """One node over one store. Thread-safe: writes take turns, reads run in parallel."""

    def __init__(self, store: Store, clock: Clock) -> None:
        self.store = store
        self.clock = clock
        self.schema_version = store.check_schema()
        with store.read() as session:
            identity = ChainIdentity.load(session.meta)
            height, block_time = _read_height(session.meta)
        if identity is None:
            raise NodeNotInitialised(f"no chain in {store.safe_url}; run worker-manager init")
        self.identity = identity
        self._height = height
        self._block_time_ns = block_time
        self._write_lock = threading.Lock()
        self.cache = QueryCache()

    # genesis ----------------------------------------------------------------

    @staticmethod
    def genesis(
        store: Store,
        *,
        chain_id: str,
        admin: str,
        clock: Clock,
        instantiate_msg: RawMessage | None = None,
    ) -> ChainIdentity:
        """Create the chain in an empty, migrated store: identity plus the instantiated contract.

        Runs as height 1 in one transaction; a refusal (bad admin address,
        bad config) leaves the store empty.
        """
        msg = contract.parse_instantiate(instantiate_msg or {})
        chain_id = validate_chain_id(chain_id)
        admin = canonical_address("admin", admin)
        identity = ChainIdentity.new(chain_id, admin)
        time_ns = clock.now_ns()
        env = Env(
            block=BlockInfo(height=1, time_ns=time_ns, chain_id=chain_id),
            contract=ContractInfo(address=identity.contract_address),
            transaction=TransactionInfo(index=0),
        )
        with store.write() as session:
            if ChainIdentity.load(session.meta) is not None:
                raise SchemaError(f"{store.safe_url} already holds a chain")
            contract.instantiate(Deps(session.contract), env, MessageInfo(sender=admin), msg)
            identity.save(session.meta)
            session.meta.set("height", "1")
            session.meta.set("block_time_ns", str(time_ns))
        log.info(
            "created chain %s with contract %s (admin %s)",
            chain_id,
            identity.contract_address,
            identity.creator,
        )
        return identity

    # state ------------------------------------------------------------------

    @property
    def height(self) -> int:
        return self._height

    def _next_block_time(self) -> int:
        """Block time never goes backwards, even if the wall clock does."""
        return max(self.clock.now_ns(), self._block_time_ns + 1)

    def _env(self, height: int, time_ns: int, tx_index: int | None = None) -> Env:
        return Env(
            block=BlockInfo(height=height, time_ns=time_ns, chain_id=self.identity.chain_id),
            contract=ContractInfo(address=self.identity.contract_address),
            transaction=None if tx_index is None else TransactionInfo(index=tx_index),
        )

    # execute ----------------------------------------------------------------

    def execute(self, sender: str, msg: RawMessage, funds: Sequence[Coin] = ()) -> ExecuteOutcome:
        """Run one execute message from an already-authenticated ``sender`` in its own block.

        Raises :class:`ContractError` on refusal; then nothing is written and
        the height does not move.
        """
        parsed = parse_execute(msg)
        name = message_name(parsed)
        with self._write_lock:
            height = self._height + 1
            time_ns = self._next_block_time()
            env = self._env(height, time_ns, tx_index=0)
            info = MessageInfo(sender=sender, funds=tuple(funds))
            try:
                with self.store.write() as session:
                    response = contract.execute(Deps(session.contract), env, info, parsed)
                    session.meta.set("height", str(height))
                    session.meta.set("block_time_ns", str(time_ns))
            except ContractError as err:
                log.info("refused %s from %s: %s", name, sender, err)
                raise
            self._height = height
            self._block_time_ns = time_ns
        log.info("height %d: %s from %s", height, name, sender)
        return ExecuteOutcome(height=height, time_ns=time_ns, response=response)

    # query ------------------------------------------------------------------

    def cached_query(self, raw: bytes) -> bytes | None:
        """The ready answer for these exact query bytes at the current height, if any."""
        return self.cache.get(self._height, raw)

    def query(self, raw: RawMessage) -> bytes:
        """Answer a query message with JSON bytes, or raise :class:`ContractError`."""
        key = raw if isinstance(raw, bytes) else None
        version = self._height
        if key is not None:
            hit = self.cache.get(version, key)
            if hit is not None:
                return hit
        msg = parse_query(raw)
        env = self._env(version, max(self.clock.now_ns(), self._block_time_ns))
        with self.store.read() as session:
            answer = contract.query(Deps(session.contract), env, msg)
        if key is not None and version == self._height:
            self.cache.put(version, key, answer)
        return answer

    def info(self) -> NodeInfo:
        with self.store.read() as session:
            config = session.contract.load_config()
            workers = session.contract.count_workers()
        return NodeInfo(
            chain_id=self.identity.chain_id,
            contract_address=self.identity.contract_address,
            code_hash=self.identity.code_hash,
            code_id=self.identity.code_id,
            label=self.identity.label,
            admin=config.admin if config else "",
            height=self._height,
            block_time_ns=self._block_time_ns,
            workers=workers,
            schema_version=self.schema_version,
        )
