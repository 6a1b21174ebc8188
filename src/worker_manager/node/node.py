"""The node: turns authenticated transactions into contract calls on the store.

It is the only caller of the contract core. Signed txs pass the ante checks
(:mod:`~worker_manager.node.ante`), wait in the block producer, and run in
blocks (:mod:`~worker_manager.node.deliver`), one database commit per block.
Every tx is recorded and can be looked up by hash; queries are answered from
a per-height cache.
"""

import hashlib
import itertools
import json
import logging
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from worker_manager import contract
from worker_manager.contract import (
    Api,
    BlockInfo,
    Coin,
    ContractError,
    ContractInfo,
    Env,
    QueryDeps,
)
from worker_manager.contract.msg import EpochTick, parse_execute, parse_query
from worker_manager.contract.state import Config, LivelinessState
from worker_manager.contract.validate import canonical_address
from worker_manager.node.ante import (
    CODE_MEMPOOL_FULL,
    AnteContext,
    AnteError,
    CheckState,
    Decrypt,
    check_tx,
)
from worker_manager.node.cache import QueryCache, Versions
from worker_manager.node.clock import Clock
from worker_manager.node.deliver import (
    BlockOutcome,
    account_number_for,
    deliver_block,
)
from worker_manager.node.genesis import write_genesis
from worker_manager.node.identity import ChainIdentity
from worker_manager.node.isolation import BlockWriteFailed, TxUnwritable, write_isolating
from worker_manager.node.pending import ContractCall, PendingTx, TxResult, gas_estimate
from worker_manager.node.producer import DEFAULT_INTERVAL_S, BlockProducer, MempoolFull
from worker_manager.node.query_scope import cache_scope
from worker_manager.node.ticker import EpochTicker
from worker_manager.store import SchemaError, Store
from worker_manager.store.ledger import Account, BlockRecord, TxRecord
from worker_manager.store.meta import NodeMeta
from worker_manager.store.serving_memo import MemoSqlStorage, ServingMemo
from worker_manager.tx import MAX_TX_BYTES

if TYPE_CHECKING:
    from worker_manager.lcd.encryption import X25519KeyPair

log = logging.getLogger(__name__)

RawMessage = bytes | str | Mapping[str, Any]


class NodeNotInitialised(RuntimeError):
    """The database holds no chain: ``worker-manager init`` has not been run on it."""


class TxFailed(ContractError):
    """Raised by :meth:`Node.execute` when a trusted call's block fails for a non-contract
    reason (the contract's own refusals are re-raised as they are)."""

    code = "tx_failed"


@dataclass(frozen=True, slots=True)
class ExecuteOutcome:
    """A committed execute: the height it landed at and the contract's answer."""

    hash: str
    height: int
    time_ns: int
    data: bytes
    attributes: tuple[tuple[str, str], ...]


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


@dataclass(frozen=True, slots=True)
class AccountInfo:
    address: str
    account_number: int
    sequence: int
    public_key: str | None


@dataclass(frozen=True, slots=True)
class _Written:
    """A block as written: its outcome, and the config and liveliness it left."""

    outcome: BlockOutcome
    config: Config | None
    liveliness: LivelinessState


class _TrialDone(Exception):
    """Rolls a trial write back (see :func:`~worker_manager.node.isolation.write_isolating`)."""

    def __init__(self, written: _Written) -> None:
        super().__init__("trial write")
        self.written = written


def _read_height(meta: NodeMeta) -> tuple[int, int, str]:
    return (
        int(meta.get("height") or 0),
        int(meta.get("block_time_ns") or 0),
        meta.get("block_hash") or "",
    )


def _internal_hash(kind: str, sender: str, msg_json: Any, nonce: int, time_ns: int) -> str:
    body = json.dumps([kind, sender, msg_json, nonce, time_ns], separators=(",", ":"))
    return hashlib.sha256(body.encode()).hexdigest().upper()


class Node:
    """One node over one store. Thread-safe; blocks are made by one producer thread."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        *,
        api: Api,
        block_interval_s: float = DEFAULT_INTERVAL_S,
        max_tx_bytes: int = MAX_TX_BYTES,
        decrypt: Decrypt | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.api = api
        self.schema_version = store.check_schema()
        with store.read() as session:
            identity = ChainIdentity.load(session.meta)
            self._height, self._block_time_ns, self._block_hash = _read_height(session.meta)
            config = session.contract.load_config()
            liveliness = session.contract.load_liveliness()
        if identity is None or config is None:
            raise NodeNotInitialised(f"no chain in {store.safe_url}; run worker-manager init")
        self.identity = identity
        self.config: Config = config
        self.liveliness: LivelinessState = liveliness
        self._nonce = itertools.count()
        self._commit_lock = threading.Lock()
        #: Why the last block failed for a node-wide reason; None once blocks commit again.
        self.block_error: str | None = None
        self.cache = QueryCache()
        self.serving_memo = ServingMemo()
        with store.read() as session:
            sequences = session.ledger.all_sequences()
        self.check_state = CheckState(self._stored_sequence, sequences)
        self.ante = AnteContext(
            identity=identity,
            check_state=self.check_state,
            is_paused=lambda: self.config.paused,
            current_height=lambda: self._height,
            max_tx_bytes=max_tx_bytes,
            decrypt=decrypt,
        )
        self.producer = BlockProducer(self._commit_block, interval_s=block_interval_s)
        #: The node's x25519 key for Secret's encrypted messages (set by the bootstrap).
        self.io_key: X25519KeyPair | None = None
        self.ticker = EpochTicker(
            now_s=lambda: self.clock.now_ns() / 1e9,
            epoch_seconds=lambda: self.config.epoch_seconds,
            served_epoch=lambda: self.liveliness.last_served_epoch,
            tick=self.tick,
        )

    # genesis ----------------------------------------------------------------

    @staticmethod
    def genesis(
        store: Store,
        *,
        chain_id: str,
        admin: str,
        clock: Clock,
        api: Api,
        instantiate_msg: RawMessage | None = None,
    ) -> ChainIdentity:
        """Create the chain in an empty, migrated store: block 1 instantiates the contract.

        One transaction; a refusal (bad admin address, bad config) leaves the store empty.
        """
        msg_json = contract.parse_instantiate(instantiate_msg or {}).model_dump(exclude_none=True)
        with store.write() as session:
            if ChainIdentity.load(session.meta) is not None:
                raise SchemaError(f"{store.safe_url} already holds a chain")
            identity = write_genesis(
                session,
                chain_id=chain_id,
                admin=admin,
                instantiate_msg=msg_json,
                time_ns=clock.now_ns(),
                api=api,
            )
        log.info(
            "created chain %s with contract %s (admin %s)",
            identity.chain_id,
            identity.contract_address,
            identity.creator,
        )
        return identity

    # state ------------------------------------------------------------------

    @property
    def height(self) -> int:
        return self._height

    @property
    def block_time_ns(self) -> int:
        return self._block_time_ns

    def _stored_sequence(self, address: str) -> int:
        with self.store.read() as session:
            account = session.ledger.get_account(address)
        return 0 if account is None else account.sequence

    def _env(self, height: int, time_ns: int) -> Env:
        return Env(
            block=BlockInfo(height=height, time_ns=time_ns, chain_id=self.identity.chain_id),
            contract=ContractInfo(address=self.identity.contract_address),
        )

    # blocks -----------------------------------------------------------------

    def _write_block(
        self, height: int, time_ns: int, batch: list[PendingTx], commit: bool
    ) -> _Written:
        """Run ``batch`` as block ``height``; commit it, or roll it back (a trial write)."""
        try:
            with self.store.write() as session:
                outcome = deliver_block(
                    session,
                    self.identity,
                    self.api,
                    height=height,
                    time_ns=time_ns,
                    previous_hash=self._block_hash,
                    batch=batch,
                )
                written = _Written(
                    outcome, session.contract.load_config(), session.contract.load_liveliness()
                )
                if not commit:
                    raise _TrialDone(written)
        except _TrialDone as done:
            return done.written
        return written

    def _commit_block(self, batch: list[PendingTx]) -> None:
        """Run ``batch`` as the next block (called by the producer thread only).

        A tx whose writes the database refuses fails alone and the rest commit
        (``node/isolation.py``); a node-wide failure refuses the whole batch with
        :class:`BlockWriteFailed`, and the node reports itself unhealthy until a
        block commits again.
        """
        with self._commit_lock:
            height = self._height + 1
            time_ns = max(self.clock.now_ns(), self._block_time_ns + 1)
            try:
                written, left_out = write_isolating(
                    lambda txs, commit: self._write_block(height, time_ns, txs, commit), batch
                )
            except BlockWriteFailed as exc:
                self.check_state.forget([tx.sender for tx in batch])
                self.block_error = str(exc)
                log.error("block %d failed: %s; its %d txs are refused", height, exc, len(batch))
                raise
            self.block_error = None
            if written.config is not None:
                self.config = written.config
            self.liveliness = written.liveliness
            self._height = height
            self._block_time_ns = time_ns
            self._block_hash = written.outcome.block.hash
        outcome = written.outcome
        failed = sum(1 for r in outcome.results if not r.ok)
        log.info("block %d: %d txs (%d failed)", height, len(outcome.results), failed)
        if left_out:
            self.check_state.forget([tx.sender for tx in left_out])
            for tx in left_out:
                tx.future.set_exception(
                    TxUnwritable(f"tx {tx.hash} could not be recorded; it was left out")
                )
        included = [tx for tx in batch if tx not in left_out]
        for tx, result in zip(included, outcome.results, strict=True):
            if result.code == 32:
                self.check_state.forget([tx.sender])
            tx.future.set_result(result)

    def close(self) -> None:
        """Stop ticking, commit what is queued, and stop making blocks. The store stays open."""
        self.ticker.stop()
        self.producer.stop()

    def tick(self) -> TxResult:
        """Mark the current epoch as served (a sudo tx of the node) and wait for its block."""
        pending = PendingTx(
            hash=_internal_hash(
                "sudo",
                self.identity.contract_address,
                "epoch_tick",
                next(self._nonce),
                self.clock.now_ns(),
            ),
            kind="sudo",
            sender=self.identity.contract_address,
            calls=(ContractCall(msg=EpochTick(), msg_json={"epoch_tick": {}}),),
        )
        self.producer.submit(pending)
        return pending.future.result()

    # transactions -----------------------------------------------------------

    def broadcast(self, tx_bytes: bytes) -> PendingTx:
        """Check a signed tx and queue it; raises :class:`AnteError` if it is refused.

        Wait on the returned ``future`` for the tx's block result.
        """
        pending = check_tx(self.ante, tx_bytes)
        try:
            self.producer.submit(pending)
        except MempoolFull as exc:
            self.check_state.forget([pending.sender])
            raise AnteError("mempool_full", CODE_MEMPOOL_FULL, f"{exc}: mempool is full") from exc
        log.debug("accepted tx %s from %s", pending.hash, pending.sender)
        return pending

    def submit_internal(
        self, sender: str, msg: RawMessage, funds: Sequence[Coin] = ()
    ) -> PendingTx:
        """Queue a trusted, unsigned execute from ``sender`` (tools and tests, not the network)."""
        parsed = parse_execute(msg)
        sender = canonical_address("sender", sender)
        msg_json = msg if isinstance(msg, Mapping) else json.loads(msg)
        call = ContractCall(msg=parsed, msg_json=msg_json, funds=tuple(funds))
        pending = PendingTx(
            hash=_internal_hash(
                "internal", sender, msg_json, next(self._nonce), self.clock.now_ns()
            ),
            kind="internal",
            sender=sender,
            calls=(call,),
        )
        pending.gas_wanted = gas_estimate(pending.size)
        self.producer.submit(pending)
        return pending

    def execute(self, sender: str, msg: RawMessage, funds: Sequence[Coin] = ()) -> ExecuteOutcome:
        """Run a trusted execute from ``sender`` and wait for its block.

        Raises the contract's :class:`ContractError` if it refuses; the refusal is
        still recorded in the tx log, and nothing else changes.
        """
        pending = self.submit_internal(sender, msg, funds)
        result = pending.future.result()
        if result.ok:
            with self.store.read() as session:
                events = session.ledger.get_tx(result.hash)
            attributes = tuple(
                (a["key"], a["value"])
                for e in (json.loads(events.events) if events else [])
                if e["type"] == "wasm"
                for a in e["attributes"]
                if a["key"] not in ("contract_address", "msg_index")
            )
            return ExecuteOutcome(
                result.hash, result.height, result.time_ns, result.data, attributes
            )
        if result.exception is not None:
            raise result.exception
        raise TxFailed(result.log)

    # lookups ----------------------------------------------------------------

    def get_tx(self, tx_hash: str) -> TxRecord | None:
        with self.store.read() as session:
            return session.ledger.get_tx(tx_hash)

    def get_block(self, height: int) -> tuple[BlockRecord, list[TxRecord]] | None:
        with self.store.read() as session:
            block = session.ledger.get_block(height)
            if block is None:
                return None
            return block, session.ledger.block_txs(height)

    def get_account(self, address: str) -> AccountInfo:
        """An account as clients see it: the next sequence includes accepted, queued txs."""
        address = canonical_address("address", address)
        with self.store.read() as session:
            stored: Account | None = session.ledger.get_account(address)
        return AccountInfo(
            address=address,
            account_number=account_number_for(address),
            sequence=self.check_state.next_sequence(address),
            public_key=stored.public_key if stored else None,
        )

    # queries ----------------------------------------------------------------

    def _versions(self) -> Versions:
        return (self._height, self.liveliness.serving_version)

    def cached_query(self, raw: bytes) -> bytes | None:
        """The ready answer for these exact query bytes, if its state is still current."""
        return self.cache.get(raw, self._versions())

    def query(self, raw: RawMessage) -> bytes:
        """Answer a query message with JSON bytes, or raise :class:`ContractError`."""
        versions = self._versions()
        key = raw if isinstance(raw, bytes) else None
        if key is not None:
            hit = self.cache.get(key, versions)
            if hit is not None:
                return hit
        msg = parse_query(raw)
        scope, canonical = cache_scope(msg)
        if canonical is not None:
            hit = self.cache.get(canonical, versions)
            if hit is not None:
                if key is not None and scope is not None:
                    self.cache.put(key, scope, versions[scope], hit)
                return hit
        env = self._env(self._height, max(self.clock.now_ns(), self._block_time_ns))
        with self.store.read() as session:
            storage = MemoSqlStorage(session.connection, self.serving_memo)
            answer = contract.query(QueryDeps(storage, self.api), env, msg)
        if scope is not None:
            for cache_key in (key, canonical):
                if cache_key is not None:
                    self.cache.put(cache_key, scope, versions[scope], answer)
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
