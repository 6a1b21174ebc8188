"""The epoch ticker: marks each epoch as up while the node runs.

Liveliness counts *up* epochs (see :mod:`worker_manager.contract.liveliness`).
Workers answering mark their epoch up themselves; the ticker makes sure an
epoch in which the node was up counts even if no worker answered (otherwise a
network whose workers all died would never see them go stale). Each tick is a
``sudo`` tx of the node, recorded like any other, so replays give the same state;
a tick for an epoch already up changes nothing, so several nodes may tick.
"""

import logging
import threading
from collections.abc import Callable
from typing import Any

from worker_manager.failures import ServiceUnavailable
from worker_manager.node.isolation import BlockWriteFailed

log = logging.getLogger(__name__)

#: Tick a little after the epoch starts, so the block time is inside the epoch.
TICK_DELAY_S = 0.05
MAX_WAIT_S = 1.0


class EpochTicker:
    def __init__(
        self,
        *,
        now_s: Callable[[], float],
        epoch_seconds: Callable[[], int],
        up_epoch: Callable[[], int | None],
        tick: Callable[[], Any],
    ) -> None:
        self._now_s = now_s
        self._epoch_seconds = epoch_seconds
        self._up_epoch = up_epoch
        self._tick = tick
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="epoch-ticker", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.is_set():
            length = self._epoch_seconds()
            now = self._now_s()
            epoch = int(now // length)
            up = self._up_epoch()
            if up is None or up < epoch:
                try:
                    self._tick()
                except (ServiceUnavailable, BlockWriteFailed) as exc:  # tried again soon
                    log.warning("epoch tick for epoch %d failed: %s", epoch, exc)
                except Exception:
                    log.exception("epoch tick for epoch %d failed", epoch)
            wait = (epoch + 1) * length - now + TICK_DELAY_S
            # look again at least every second: the admin may shorten the epoch
            self._stop.wait(min(MAX_WAIT_S, max(TICK_DELAY_S, wait)))
