"""The block producer: one thread that groups queued txs into blocks (group commit).

A block closes when it holds ``max_txs`` or ``interval`` seconds after its first
tx arrived, whichever comes first; while one block commits, the next fills up.
One database commit per block is what lets one node take thousands of tx/s.
"""

import logging
import threading
import time
from collections import deque
from collections.abc import Callable

from worker_manager.node.isolation import BlockWriteFailed
from worker_manager.node.pending import PendingTx

log = logging.getLogger(__name__)

DEFAULT_INTERVAL_S = 0.020
DEFAULT_MAX_TXS = 1000
DEFAULT_MAX_QUEUE = 20_000


class MempoolFull(RuntimeError):
    """More txs are waiting than the node will queue; the sender should retry later."""


class BlockProducer:
    def __init__(
        self,
        commit: Callable[[list[PendingTx]], None],
        *,
        interval_s: float = DEFAULT_INTERVAL_S,
        max_txs: int = DEFAULT_MAX_TXS,
        max_queue: int = DEFAULT_MAX_QUEUE,
    ) -> None:
        self._commit = commit
        self._interval = interval_s
        self._max_txs = max_txs
        self._max_queue = max_queue
        self._queue: deque[PendingTx] = deque()
        self._cond = threading.Condition()
        self._stopping = False
        self._thread: threading.Thread | None = None

    @property
    def queued(self) -> int:
        return len(self._queue)

    def submit(self, tx: PendingTx) -> None:
        with self._cond:
            if self._stopping:
                raise MempoolFull("the node is shutting down")
            if len(self._queue) >= self._max_queue:
                raise MempoolFull(f"{len(self._queue)} transactions are waiting; retry shortly")
            self._queue.append(tx)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="block-producer", daemon=True
                )
                self._thread.start()
            self._cond.notify()

    def _next_batch(self) -> list[PendingTx] | None:
        with self._cond:
            while not self._queue:
                if self._stopping:
                    return None
                self._cond.wait()
            deadline = time.monotonic() + self._interval
            while len(self._queue) < self._max_txs and not self._stopping:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._cond.wait(remaining)
            count = min(len(self._queue), self._max_txs)
            return [self._queue.popleft() for _ in range(count)]

    def _run(self) -> None:
        while True:
            batch = self._next_batch()
            if batch is None:
                return
            try:
                self._commit(batch)
            except Exception as exc:
                if not isinstance(exc, BlockWriteFailed):  # that one is logged where raised
                    log.exception("block commit failed; %d txs are refused", len(batch))
                for tx in batch:
                    if not tx.future.done():
                        tx.future.set_exception(exc)
            unanswered = [tx for tx in batch if not tx.future.done()]
            if unanswered:  # pragma: no cover - a bug; never leave a client waiting
                log.error("%d txs of a block got no outcome; they are refused", len(unanswered))
                for tx in unanswered:
                    tx.future.set_exception(RuntimeError(f"tx {tx.hash} got no outcome"))

    def stop(self, timeout: float = 30.0) -> None:
        """Commit what is queued, then stop the thread."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join(timeout)
