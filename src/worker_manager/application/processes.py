"""``serve --workers N``: N node processes on one home, so one machine uses all its cores.

One interpreter's GIL caps a node near one core. Each process here is a whole node
(HTTP server, ante, block producer) over the home's one database; they share the
listening socket the parent bound, and the kernel hands each new connection to one
of them. Blocks stay one chain because every block is written under the database's
write lock (SQLite's ``BEGIN IMMEDIATE``, PostgreSQL's advisory lock) on top of the
head read inside that lock (see ``docs/scaling.md``).

The parent holds the home's serve lock, migrates the database once, starts the
processes with the ``spawn`` method (no state forked from the parent), starts again
one that dies, and on SIGINT/SIGTERM asks each to stop (each commits what it queued)
before it returns. A process whose parent is gone stops by itself.
"""

import logging
import multiprocessing
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.process import BaseProcess
from types import FrameType

from worker_manager.application.errors import Failed
from worker_manager.logs import setup_logging
from worker_manager.settings import Settings

log = logging.getLogger("worker_manager")

#: The most node processes one home may run (far above any machine's useful count).
MAX_PROCESSES = 64
#: A process that dies sooner than this after its start counts as failing to start.
QUICK_DEATH_S = 10.0
#: After this many quick deaths in a row of one process, the parent gives up.
MAX_QUICK_DEATHS = 5
#: How long a stopping process may take to commit what it queued before it is killed.
STOP_GRACE_S = 30.0
_POLL_S = 0.25


@dataclass
class _Slot:
    """One node process's place: the process now in it, and its recent failures."""

    index: int
    process: BaseProcess | None = None
    started_at: float = 0.0
    quick_deaths: int = 0
    restart_at: float = field(default=0.0)


def _watch_parent(parent_pid: int) -> None:
    """Stop this process (as SIGTERM would) once its parent is gone, e.g. after a
    ``kill -9``: nothing would start it again, and the serve lock is no longer held."""
    while os.getppid() == parent_pid:
        time.sleep(1.0)
    os.kill(os.getpid(), signal.SIGTERM)


def _process_main(settings: Settings, listeners: list[socket.socket], index: int) -> None:
    """A node process: its own logging, then the node served on the parent's sockets."""
    setup_logging(settings.log_level, process=index, quiet=("alembic",))
    parent = os.getppid()
    threading.Thread(target=_watch_parent, args=(parent,), name="parent-watch", daemon=True).start()
    from worker_manager.application.serving import run_node

    try:
        run_node(settings, listeners, migrate=False)
    except Failed as exc:
        log.error("%s", exc)
        sys.exit(1)


class Supervisor:
    """Keeps ``count`` processes running ``target(settings, listeners, index)``."""

    def __init__(
        self,
        settings: Settings,
        listeners: list[socket.socket],
        count: int,
        *,
        target: Callable[[Settings, list[socket.socket], int], None] = _process_main,
    ) -> None:
        self._target = target
        self._settings = settings
        self._listeners = listeners
        self._context = multiprocessing.get_context("spawn")
        self._slots = [_Slot(index) for index in range(count)]
        self._stop = threading.Event()

    def _start(self, slot: _Slot) -> None:
        process = self._context.Process(
            target=self._target,
            args=(self._settings, self._listeners, slot.index),
            name=f"worker-manager-node-{slot.index}",
        )
        process.start()
        slot.process, slot.started_at = process, time.monotonic()
        log.info("node process %d started (pid %s)", slot.index, process.pid)

    def _look_after(self, slot: _Slot) -> None:
        """Start ``slot`` again if its process died; give up on one that cannot start."""
        process = slot.process
        now = time.monotonic()
        if process is not None and not process.is_alive():
            lived = now - slot.started_at
            slot.quick_deaths = slot.quick_deaths + 1 if lived < QUICK_DEATH_S else 0
            if slot.quick_deaths >= MAX_QUICK_DEATHS:
                raise Failed(
                    f"node process {slot.index} failed {slot.quick_deaths} times in a row "
                    "within seconds of its start; stopping (its errors are logged above)"
                )
            delay = min(30.0, 0.5 * 2**slot.quick_deaths) if slot.quick_deaths else 0.0
            log.warning(
                "node process %d (pid %s) exited with code %s after %.1f s; starting it again%s",
                slot.index,
                process.pid,
                process.exitcode,
                lived,
                f" in {delay:.1f} s" if delay else "",
            )
            process.close()
            slot.process, slot.restart_at = None, now + delay
        if slot.process is None and now >= slot.restart_at:
            self._start(slot)

    def _stop_all(self) -> None:
        running = [slot.process for slot in self._slots if slot.process is not None]
        for process in running:
            if process.is_alive():
                process.terminate()  # SIGTERM: the node commits what it queued, then exits
        deadline = time.monotonic() + STOP_GRACE_S
        for process in running:
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                log.warning("node process (pid %s) did not stop in time; killing it", process.pid)
                process.kill()
                process.join()

    def stop(self) -> None:
        """Make :meth:`run` stop every process and return (as SIGINT/SIGTERM do)."""
        self._stop.set()

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        log.info("stopping %d node processes (%s)", len(self._slots), signal.strsignal(signum))
        self.stop()

    def run(self) -> None:
        """Until SIGINT/SIGTERM; :class:`Failed` if a process keeps dying at its start."""
        handled = (signal.SIGINT, signal.SIGTERM)
        previous = {sig: signal.signal(sig, self._on_signal) for sig in handled}
        try:
            for slot in self._slots:
                self._start(slot)
            while not self._stop.wait(_POLL_S):
                for slot in self._slots:
                    self._look_after(slot)
        finally:
            self._stop_all()
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def serve_processes(settings: Settings, listeners: list[socket.socket], count: int) -> None:
    """Run ``count`` node processes on ``listeners`` until SIGINT/SIGTERM (the caller
    holds the serve lock and has migrated the database)."""
    Supervisor(settings, listeners, count).run()
    log.info("stopped")
