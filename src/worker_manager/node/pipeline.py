"""The tx pipeline: from bytes on the wire to a committed block.

1. :meth:`TxPipeline.check`: the ante checks (decode, signature, chain id,
   sequence, size, message), fast and outside every lock;
2. :meth:`TxPipeline.examine`: the attestation reports the tx will have judged are
   examined (:mod:`~worker_manager.node.examiner`), also outside every lock, and the
   evidence joins the tx;
3. :meth:`TxPipeline.admit`: the signer's sequence is reserved and the tx queued,
   atomically, so a signer's txs queue in sequence order;
4. the block producer groups queued txs into blocks; :meth:`TxPipeline._commit_block`
   runs each block (one database commit) and fails alone any tx whose writes the
   database refuses (:mod:`~worker_manager.node.isolation`).
"""

import hashlib
import json
import logging
import os
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from worker_manager.contract import Api, Coin
from worker_manager.contract.attestation import examines_reports, reports_to_examine
from worker_manager.contract.msg import (
    EndpointObservation,
    EpochTick,
    RecordEndpointChecks,
    SudoMsg,
    parse_execute,
)
from worker_manager.contract.validate import canonical_address
from worker_manager.node.ante import (
    CODE_MEMPOOL_FULL,
    AnteContext,
    AnteError,
    CheckState,
    check_tx,
    reserve_sequence,
)
from worker_manager.node.chain import ChainState, Head, read_head
from worker_manager.node.clock import Clock
from worker_manager.node.deliver import BlockOutcome, deliver_block
from worker_manager.node.examiner import Examiner
from worker_manager.node.isolation import BlockWriteFailed, TxUnwritable, write_isolating
from worker_manager.node.metrics import NodeMetrics
from worker_manager.node.pending import ContractCall, PendingTx, TxOutcome, gas_estimate
from worker_manager.node.producer import BlockProducer, MempoolFull
from worker_manager.node.ticker import EpochTicker
from worker_manager.store import Store
from worker_manager.tx.records import TxRecord

log = logging.getLogger(__name__)

RawMessage = bytes | str | Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class _Written:
    """A block as written: its outcome (None when every tx of the batch was already
    recorded by another node, so there was nothing to write), the txs it ran, those
    already recorded, and the chain state it left."""

    outcome: BlockOutcome | None
    ran: list[PendingTx]
    recorded: dict[str, TxRecord]
    head: Head


class _TrialDone(Exception):
    """Rolls a trial write back (see :func:`~worker_manager.node.isolation.write_isolating`)."""

    def __init__(self, written: _Written) -> None:
        super().__init__("trial write")
        self.written = written


def _internal_hash(
    kind: str, sender: str, msg_json: Any, *, origin: str, nonce: int, time_ns: int
) -> str:
    """A trusted tx's hash: unique per node (``origin``) and call, since several nodes
    share one log and a tx already in it is never run again."""
    body = json.dumps([kind, sender, msg_json, origin, nonce, time_ns], separators=(",", ":"))
    return hashlib.sha256(body.encode()).hexdigest().upper()


def recorded_outcome(record: TxRecord) -> TxOutcome:
    """The outcome of a tx as the log holds it (a copy another node committed first)."""
    return TxOutcome(
        hash=record.hash,
        height=record.height,
        index=record.tx_index,
        code=record.code,
        codespace=record.codespace,
        error=record.error,
        log=record.log,
        data=record.data,
        events=json.loads(record.events),
        gas_wanted=record.gas_wanted,
        gas_used=record.gas_used,
        time_ns=record.time_ns,
        failed_msg_index=record.failed_msg_index,
    )


def _message_name(tx: PendingTx) -> str:
    """The name of a tx's first message (``register_worker``, ``epoch_tick``, ...)."""
    first = tx.calls[0].msg_json if tx.calls else None
    return next(iter(first), "none") if isinstance(first, dict) and first else "none"


class TxPipeline:
    """Checks, examines, queues and commits txs for one node. Thread-safe."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        chain: ChainState,
        *,
        api: Api,
        examiner: Examiner,
        ante: AnteContext,
        block_interval_s: float,
        metrics: NodeMetrics | None = None,
    ) -> None:
        self.metrics = metrics or NodeMetrics()
        self._store = store
        self._clock = clock
        self._chain = chain
        self._api = api
        self._examiner = examiner
        self.ante = ante
        self.check_state: CheckState = ante.check_state
        self._commit_lock = threading.Lock()
        self._admit_lock = threading.Lock()
        self._nonce = 0
        #: Tells this node's trusted txs from another's (they share one log).
        self._origin = os.urandom(8).hex()
        self.producer = BlockProducer(self._commit_block, interval_s=block_interval_s)
        self.ticker = EpochTicker(
            now_s=lambda: self._clock.now_ns() / 1e9,
            epoch_seconds=lambda: self._chain.head.config.epoch_seconds,
            up_epoch=lambda: self._chain.head.liveliness.last_up_epoch,
            tick=self.tick,
        )

    # the four steps -----------------------------------------------------------

    def check(self, tx_bytes: bytes) -> PendingTx:
        """The ante checks; raises :class:`AnteError` if the tx is refused."""
        try:
            return check_tx(self.ante, tx_bytes)
        except AnteError as err:
            self.metrics.refused(err.error)
            raise

    def needs_examining(self, tx: PendingTx) -> bool:
        """Whether :meth:`examine` has work to do for ``tx`` (slow: run it off the loop)."""
        if self._chain.head.policy is None:
            return False  # nothing would be judged
        return any(examines_reports(c.msg) for c in tx.calls)

    def examine(self, tx: PendingTx) -> None:
        """Attach the evidence of every report ``tx``'s messages will have judged."""
        if self._chain.head.policy is None:
            return
        now = self._clock.now_ns() // 1_000_000_000

        def stored_report(ip_address: str) -> str | None:
            with self._store.read() as session:
                worker = session.contract.get_worker(ip_address)
            return None if worker is None else worker.attestation_report

        tx.calls = tuple(
            ContractCall(
                c.msg,
                c.msg_json,
                c.funds,
                self._examiner.evidence(reports_to_examine(c.msg, stored_report), now),
            )
            for c in tx.calls
        )

    def admit(self, tx: PendingTx) -> PendingTx:
        """Reserve the signer's sequence and queue ``tx`` for a block, atomically."""
        with self._admit_lock:
            try:
                reserve_sequence(self.check_state, tx)
            except AnteError as err:
                self.metrics.refused(err.error)
                raise
            try:
                self.producer.submit(tx)
            except MempoolFull as exc:
                self.check_state.forget([tx.sender])
                self.metrics.refused("mempool_full")
                raise AnteError(
                    "mempool_full", CODE_MEMPOOL_FULL, f"{exc}: mempool is full"
                ) from exc
        log.debug("accepted tx %s from %s", tx.hash, tx.sender)
        return tx

    def broadcast(self, tx_bytes: bytes) -> PendingTx:
        """All four steps in the caller's thread; wait on ``future`` for the block result."""
        tx = self.check(tx_bytes)
        self.examine(tx)
        return self.admit(tx)

    # trusted calls --------------------------------------------------------------

    def _next_nonce(self) -> int:
        with self._admit_lock:
            self._nonce += 1
            return self._nonce

    def submit_internal(
        self, sender: str, msg: RawMessage, funds: Sequence[Coin] = ()
    ) -> PendingTx:
        """Queue a trusted, unsigned execute from ``sender`` (tools and tests, not the network)."""
        parsed = parse_execute(msg)
        sender = canonical_address("sender", sender)
        msg_json = msg if isinstance(msg, Mapping) else json.loads(msg)
        call = ContractCall(msg=parsed, msg_json=msg_json, funds=tuple(funds))
        tx = PendingTx(
            hash=_internal_hash(
                "internal",
                sender,
                msg_json,
                origin=self._origin,
                nonce=self._next_nonce(),
                time_ns=self._clock.now_ns(),
            ),
            kind="internal",
            sender=sender,
            calls=(call,),
        )
        tx.gas_wanted = gas_estimate(tx.size)
        self.examine(tx)
        return self.admit(tx)

    def tick(self) -> TxOutcome:
        """Mark the current epoch as up (a sudo tx of the node) and wait for its block."""
        return self._sudo(EpochTick(), {"epoch_tick": {}})

    def record_endpoint_checks(self, checks: Sequence[EndpointObservation]) -> TxOutcome:
        """Record what the endpoint checker saw (a sudo tx of the node); wait for its block."""
        msg = RecordEndpointChecks(checks=list(checks))
        return self._sudo(msg, {"record_endpoint_checks": msg.model_dump(mode="json")})

    def _sudo(self, msg: SudoMsg, msg_json: dict[str, Any]) -> TxOutcome:
        contract_address = self._chain.identity.contract_address
        tx = PendingTx(
            hash=_internal_hash(
                "sudo",
                contract_address,
                next(iter(msg_json)),
                origin=self._origin,
                nonce=self._next_nonce(),
                time_ns=self._clock.now_ns(),
            ),
            kind="sudo",
            sender=contract_address,
            calls=(ContractCall(msg=msg, msg_json=msg_json),),
        )
        self.producer.submit(tx)
        return tx.future.result()

    # blocks ---------------------------------------------------------------------

    def _write_block(self, batch: list[PendingTx], commit: bool) -> _Written:
        """Run ``batch`` as the next block; commit it, or roll it back (a trial write).

        Under the block lock the database's head is the truth: the block goes on top
        of whatever other nodes wrote meanwhile (this node catches up first), each
        signer's sequence is checked against the stored account, and a tx another
        node already recorded is not run again.
        """
        try:
            with self._store.write() as session:
                session.lock_blocks()
                as_of = time.monotonic()
                known = self._chain.head.height
                head = read_head(session)
                assert head is not None, "a block was written over a chain with no config"
                if head.height > known:  # blocks of other nodes: their signers moved
                    self.check_state.forget(session.ledger.senders_between(known, head.height))
                if self._chain.advance(head, as_of=as_of):
                    log.debug("caught up to height %d, written by another node", head.height)
                recorded = session.ledger.get_txs([tx.hash for tx in batch])
                ran = [tx for tx in batch if tx.hash not in recorded]
                if batch and not ran:  # (an empty batch is isolation's probe: write it)
                    raise _TrialDone(_Written(None, ran, recorded, head))
                height = head.height + 1
                outcome = deliver_block(
                    session,
                    self._chain.identity,
                    self._api,
                    height=height,
                    time_ns=max(self._clock.now_ns(), head.time_ns + 1),
                    previous_hash=head.hash,
                    batch=ran,
                )
                session.announce_block(height)
                after = read_head(session)
                assert after is not None
                written = _Written(outcome, ran, recorded, after)
                if not commit:
                    raise _TrialDone(written)
        except _TrialDone as done:
            return done.written
        return written

    def _commit_block(self, batch: list[PendingTx]) -> None:
        """Run ``batch`` as the next block (called by the producer thread only).

        A tx whose writes the database refuses fails alone and the rest commit; a
        node-wide failure refuses the whole batch with :class:`BlockWriteFailed`, and
        the node reports itself unhealthy until a block commits again.
        """
        with self._commit_lock:
            started = time.perf_counter()
            try:
                written, left_out = write_isolating(self._write_block, batch)
            except BlockWriteFailed as exc:
                self.metrics.database_error("block")
                self.check_state.forget([tx.sender for tx in batch])
                self._chain.failed(str(exc))
                log.error("a block failed: %s; its %d txs are refused", exc, len(batch))
                raise
            self._chain.committed(written.head)
        if left_out:
            self.check_state.forget([tx.sender for tx in left_out])
            for tx in left_out:
                self.metrics.tx_done(_message_name(tx), "unwritable")
                tx.future.set_exception(
                    TxUnwritable(f"tx {tx.hash} could not be recorded; it was left out")
                )
        for tx in batch:
            record = written.recorded.get(tx.hash)
            if record is not None:  # sent to another node too, which committed it first
                self.check_state.forget([tx.sender])
                tx.future.set_result(recorded_outcome(record))
        if written.outcome is None:
            return
        outcome = written.outcome
        failed = sum(1 for r in outcome.results if not r.ok)
        height = outcome.block.height
        commit_ms = round((time.perf_counter() - started) * 1000, 3)
        self.metrics.block_committed(len(outcome.results), commit_ms / 1000)
        log.info(
            "block %d: %d txs (%d failed) in %.1f ms",
            height,
            len(outcome.results),
            failed,
            commit_ms,
            extra={
                "height": height,
                "txs": len(outcome.results),
                "failed": failed,
                "commit_ms": commit_ms,
            },
        )
        for tx, result in zip(written.ran, outcome.results, strict=True):
            self.metrics.tx_done(_message_name(tx), "ok" if result.ok else result.error or "failed")
            if result.code == 32:
                self.check_state.forget([tx.sender])
            tx.future.set_result(result)

    def close(self) -> None:
        """Stop ticking, commit what is queued, and stop making blocks."""
        self.ticker.stop()
        self.producer.stop()
