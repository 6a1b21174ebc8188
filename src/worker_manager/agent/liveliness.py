"""The agent's first job, on a thread of its own: keep the worker registered and
answer each epoch's challenge, whatever the reporting of work is doing.

It asks for the challenge ``poll_fraction`` of an epoch apart and answers once per
epoch. While the node is down it retries with jittered backoff
(:class:`~worker_manager.agent.backoff.Backoff`).
"""

import logging
import threading

from worker_manager.agent.backoff import Backoff
from worker_manager.agent.config import AgentConfig
from worker_manager.agent.registration import ensure_registered
from worker_manager.client import Client, ContractRefused, NodeError, TransportError
from worker_manager.keys import PrivateKey

log = logging.getLogger(__name__)

#: The shortest wait between two looks at the challenge.
MIN_POLL_S = 0.2


class Liveliness:
    def __init__(
        self,
        config: AgentConfig,
        client: Client,
        key: PrivateKey,
        *,
        stopping: threading.Event,
        registered: threading.Event,
        backoff: Backoff,
    ) -> None:
        self.config = config
        self.client = client
        self.key = key
        self.stopping = stopping
        self.registered = registered
        self.backoff = backoff
        self.answered_epoch: int | None = None
        self.epoch_seconds: int | None = None

    def run(self) -> None:
        while not self.stopping.is_set():
            self.stopping.wait(self.step())

    def step(self) -> float:
        """One look at the challenge (answering it if new); returns how long to wait."""
        try:
            if not self.registered.is_set():
                ensure_registered(self.config, self.client, self.key)
                self.registered.set()
            self._answer_challenge()
        except (TransportError, NodeError) as exc:
            wait = self.backoff.next()
            log.warning("node not answering (%s); retrying in %.1fs", exc, wait)
            return wait
        except ContractRefused as exc:
            log.error("refused: %s", exc)
        except (OSError, ValueError) as exc:  # the attestation report, or the served certificate
            wait = self.backoff.next()
            log.error("cannot register the worker (%s); retrying in %.1fs", exc, wait)
            return wait
        self.backoff.reset()
        return self.poll_interval()

    def poll_interval(self) -> float:
        return max(MIN_POLL_S, (self.epoch_seconds or 60) * self.config.poll_fraction)

    def _load(self) -> int:
        if self.config.load_file is None:
            return 0
        try:
            return max(0, min(100, round(float(self.config.load_file.read_text().strip()))))
        except (OSError, ValueError, OverflowError):
            log.warning("cannot read a load from %s; reporting 0", self.config.load_file)
            return 0

    def _answer_challenge(self) -> None:
        challenge = self.client.liveliness_challenge()
        self.epoch_seconds = challenge.epoch_seconds
        epoch = challenge.epoch
        if epoch == self.answered_epoch:
            return
        result = self.client.report_liveliness(
            self.config.ip_address,
            worker_key=self.key if self.config.worker_key else None,
            load=self._load(),
            challenge=challenge.challenge,
        )
        self.answered_epoch = epoch
        log.info("answered the challenge of epoch %d (height %d)", epoch, result.height)
