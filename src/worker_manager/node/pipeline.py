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
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from worker_manager.contract import Api, Coin
from worker_manager.contract.attestation import examines_reports, reports_to_examine
from worker_manager.contract.msg import EpochTick, parse_execute
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
from worker_manager.node.pending import ContractCall, PendingTx, TxOutcome, gas_estimate
from worker_manager.node.producer import BlockProducer, MempoolFull
from worker_manager.node.ticker import EpochTicker
from worker_manager.store import Store

log = logging.getLogger(__name__)

RawMessage = bytes | str | Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class _Written:
    """A block as written: its outcome, and the chain state it left."""

    outcome: BlockOutcome
    head: Head


class _TrialDone(Exception):
    """Rolls a trial write back (see :func:`~worker_manager.node.isolation.write_isolating`)."""

    def __init__(self, written: _Written) -> None:
        super().__init__("trial write")
        self.written = written


def _internal_hash(kind: str, sender: str, msg_json: Any, nonce: int, time_ns: int) -> str:
    body = json.dumps([kind, sender, msg_json, nonce, time_ns], separators=(",", ":"))
    return hashlib.sha256(body.encode()).hexdigest().upper()


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
    ) -> None:
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
        return check_tx(self.ante, tx_bytes)

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
            reserve_sequence(self.check_state, tx)
            try:
                self.producer.submit(tx)
            except MempoolFull as exc:
                self.check_state.forget([tx.sender])
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
                "internal", sender, msg_json, self._next_nonce(), self._clock.now_ns()
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
        contract_address = self._chain.identity.contract_address
        tx = PendingTx(
            hash=_internal_hash(
                "sudo", contract_address, "epoch_tick", self._next_nonce(), self._clock.now_ns()
            ),
            kind="sudo",
            sender=contract_address,
            calls=(ContractCall(msg=EpochTick(), msg_json={"epoch_tick": {}}),),
        )
        self.producer.submit(tx)
        return tx.future.result()

    # blocks ---------------------------------------------------------------------

    def _write_block(
        self, height: int, time_ns: int, batch: list[PendingTx], commit: bool
    ) -> _Written:
        """Run ``batch`` as block ``height``; commit it, or roll it back (a trial write)."""
        try:
            with self._store.write() as session:
                outcome = deliver_block(
                    session,
                    self._chain.identity,
                    self._api,
                    height=height,
                    time_ns=time_ns,
                    previous_hash=self._chain.head.hash,
                    batch=batch,
                )
                head = read_head(session)
                assert head is not None, "a block was written over a chain with no config"
                written = _Written(outcome, head)
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
            height = self._chain.head.height + 1
            time_ns = self._chain.next_block_time(self._clock.now_ns())
            try:
                written, left_out = write_isolating(
                    lambda txs, commit: self._write_block(height, time_ns, txs, commit), batch
                )
            except BlockWriteFailed as exc:
                self.check_state.forget([tx.sender for tx in batch])
                self._chain.failed(str(exc))
                log.error("block %d failed: %s; its %d txs are refused", height, exc, len(batch))
                raise
            self._chain.advance(written.head)
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
        """Stop ticking, commit what is queued, and stop making blocks."""
        self.ticker.stop()
        self.producer.stop()
