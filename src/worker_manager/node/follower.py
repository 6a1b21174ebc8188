"""Keeping up with blocks other nodes commit to the shared database.

Several nodes (processes, machines) may write one chain. Each one's view of the head
(:class:`~worker_manager.node.chain.ChainState`) moves when it commits a block, and
when the follower learns that another node did: on PostgreSQL it hears each block at
once (LISTEN/NOTIFY), on SQLite (the processes of one machine) it looks at the
stored height every 50 ms (more often for a bound under 200 ms). Whatever the thread
is doing, a query never answers from a head confirmed longer ago than the bound:
:meth:`HeadFollower.ensure_fresh` reads the head inline first (a one-row read) when
the thread fell behind, so the bound holds even with no thread running.
"""

import contextlib
import logging
import threading
import time
from collections.abc import Callable

from worker_manager.node.chain import ChainState, read_head
from worker_manager.store import Store
from worker_manager.store.store import BlockListener

log = logging.getLogger(__name__)

DEFAULT_MAX_STALENESS_S = 1.0
#: Without notifications (SQLite), look this many times per bound, and at least every
#: :data:`MAX_POLL_S` (a one-row read: cheap, and other processes' blocks show soon).
POLLS_PER_BOUND = 4
MAX_POLL_S = 0.05
#: After the listening connection fails, poll while reconnecting this often.
RECONNECT_S = 2.0


class HeadFollower:
    """Moves ``chain`` to the database's head when another node commits a block."""

    def __init__(
        self,
        store: Store,
        chain: ChainState,
        *,
        forget: Callable[[list[str]], None],
        max_staleness_s: float = DEFAULT_MAX_STALENESS_S,
    ) -> None:
        self._store = store
        self._chain = chain
        self._forget = forget
        self.max_staleness_s = max_staleness_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._refresh_lock = threading.Lock()
        #: Why following the database fails now (None while it works): ``/healthz`` says it.
        self.error: str | None = None

    # the head ------------------------------------------------------------------

    def refresh(self) -> bool:
        """Read the stored head; move to it if another node wrote a later block.
        Returns whether the head moved."""
        with self._refresh_lock:
            as_of = time.monotonic()
            known = self._chain.head.height
            with self._store.read() as session:
                stored = int(session.meta.get("height") or 0)
                if stored <= known:
                    head = self._chain.head
                else:
                    found = read_head(session)
                    if found is None:  # pragma: no cover - a chain never loses its config
                        return False
                    head = found
                    # their signers' sequences moved: the ante reads them again
                    self._forget(session.ledger.senders_between(known, head.height))
            moved = self._chain.advance(head, as_of=as_of)
            self.error = None
        if moved:
            log.debug("head moved to height %d (written by another node)", head.height)
        return moved

    def ensure_fresh(self) -> None:
        """Make sure the head was confirmed within the bound (reading it if not)."""
        if time.monotonic() - self._chain.confirmed_at > self.max_staleness_s:
            self.refresh()

    # the thread ----------------------------------------------------------------

    def start(self) -> None:
        """Follow other nodes' blocks in a thread until :meth:`stop`."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="head-follower", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread.is_alive():
            self._thread.join(timeout=10)

    def _run(self) -> None:
        poll_s = min(self.max_staleness_s / POLLS_PER_BOUND, MAX_POLL_S)
        listener: BlockListener | None = None
        while not self._stop.is_set():
            try:
                if listener is None and self._store.announces_blocks:
                    listener = self._store.listen_blocks()
                if listener is not None:
                    listener.wait(poll_s)  # a block was announced, or time to look anyway
                else:
                    self._stop.wait(poll_s)
                self.refresh()
            except Exception as exc:  # noqa: BLE001 - keep following; queries check inline
                if self.error is None:
                    log.warning("following other nodes' blocks failed (%s); retrying", exc)
                self.error = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
                if listener is not None:
                    with contextlib.suppress(Exception):
                        listener.close()
                    listener = None
                self._stop.wait(RECONNECT_S)
        if listener is not None:
            listener.close()
