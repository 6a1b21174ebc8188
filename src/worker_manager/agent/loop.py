"""The agent's loop: register (or check), answer each epoch's challenge, report work.

It talks to the node only through :class:`worker_manager.client.Client`. When
the node is down it retries with exponential backoff; pending work reports wait
on disk (:class:`~worker_manager.agent.queue.ReportQueue`) until the node
acknowledges them; a stop request (SIGTERM, Ctrl-C) ends the loop between steps.
"""

import json
import logging
import shutil
import ssl
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from worker_manager.agent import usage as usage_source
from worker_manager.agent.config import AgentConfig
from worker_manager.agent.queue import ReportQueue
from worker_manager.client import (
    Client,
    ContractError,
    NodeError,
    TransportError,
    TxFailed,
    TxRejected,
)

log = logging.getLogger(__name__)

MIN_BACKOFF_S = 0.5
MAX_BACKOFF_S = 60.0
#: Refusals that will not heal by retrying the same report.
FINAL_REFUSALS = frozenset({"invalid_field", "unauthorized", "invalid_signature"})


def served_certificate(url: str, *, timeout: float = 10.0) -> str:
    """The TLS certificate (PEM) that ``url`` serves right now, as a client sees it."""
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        raise ValueError(f"{url} is not an https URL")
    return ssl.get_server_certificate((parts.hostname, parts.port or 443), timeout=timeout)


def with_served_certificate(report: str, url: str) -> str:
    """The report as an envelope carrying the certificate ``url`` serves (SecretVM binding:
    the quote's report data commits to that certificate's key)."""
    from worker_manager.attestation import decode_report, encode_envelope

    bundle = decode_report(report)
    pem = served_certificate(url)
    envelope = json.loads(encode_envelope(bundle.quote, tls_certificate_pem=pem))
    stripped = report.strip()
    if stripped.startswith("{"):  # keep GPU evidence and event log from the original envelope
        original = json.loads(stripped)
        envelope = {**original, "tls_certificate": pem}
    return json.dumps(envelope, sort_keys=True)


class Agent:
    def __init__(self, config: AgentConfig) -> None:
        self.config = config
        self.key = config.private_key()
        self.queue = ReportQueue(config.state_dir)
        self.client = Client(config.node, key=self.key, timeout=30)
        self.stopping = threading.Event()
        self.answered_epoch: int | None = None
        self.registered = False
        self._contract: dict[str, Any] | None = None
        self._backoff = MIN_BACKOFF_S

    def stop(self) -> None:
        self.stopping.set()

    # the loop ---------------------------------------------------------------

    def run(self) -> None:
        log.info(
            "agent for worker %s (key %s) talking to %s",
            self.config.ip_address,
            self.key.address,
            self.config.node,
        )
        try:
            while not self.stopping.is_set():
                self.stopping.wait(self._step())
        finally:
            self.client.close()
            log.info("agent stopped")

    def _step(self) -> float:
        """One pass; returns how long to wait before the next."""
        try:
            if self._contract is not None:
                # periods that ended are queued on disk first, even if the node is down
                self._queue_ended_periods(self._contract)
            settings = self._settings()
            self._ensure_registered()
            self._answer_challenge()
            self._queue_ended_periods(settings)
            self._send_pending()
        except (TransportError, NodeError) as exc:
            wait = self._backoff
            self._backoff = min(MAX_BACKOFF_S, self._backoff * 2)
            log.warning("node not answering (%s); retrying in %.1fs", exc, wait)
            return wait
        except (ContractError, TxRejected) as exc:
            log.error("refused: %s", exc)
            self._backoff = MIN_BACKOFF_S
            return self._poll_interval()
        self._backoff = MIN_BACKOFF_S
        return self._poll_interval()

    def _settings(self) -> dict[str, Any]:
        config = self.client.config()
        self._contract = {
            "epoch_seconds": config.epoch_seconds,
            "work_period_seconds": config.work_period_seconds,
        }
        return self._contract

    def _poll_interval(self) -> float:
        epoch = (self._contract or {}).get("epoch_seconds", 60)
        return max(0.2, float(epoch) * self.config.poll_fraction)

    # registration -----------------------------------------------------------

    def _ensure_registered(self) -> None:
        if self.registered:
            return
        try:
            worker = self.client.worker(self.config.ip_address)
        except ContractError as exc:
            if exc.code != "worker_not_found":
                raise
            self._register()
            return
        if self.config.worker_key and worker.worker_public_key != self.key.public_key.hex():
            log.warning(
                "worker %s is registered with worker key %s, not this agent's %s",
                self.config.ip_address,
                worker.worker_public_key,
                self.key.public_key.hex(),
            )
        self.registered = True
        log.info("worker %s is registered (%s)", self.config.ip_address, worker.status)

    def _register(self) -> None:
        reg = self.config.registration
        if reg is None:
            raise ContractError(
                "worker_not_found",
                f"worker {self.config.ip_address} is not registered and the agent config "
                "has no [register] section",
            )
        report = reg.attestation_report_file.read_text().strip()
        if reg.tls_certificate_from_url and reg.url:
            report = with_served_certificate(report, reg.url)
        result = self.client.register_worker(
            self.config.ip_address,
            reg.payment_wallet,
            report,
            reg.worker_type,
            url=reg.url,
            capacity=reg.capacity,
            worker_public_key=self.key.public_key.hex() if self.config.worker_key else None,
        )
        self.registered = True
        log.info("registered worker %s at height %d", self.config.ip_address, result.height)

    # liveliness ---------------------------------------------------------------

    def _load(self) -> int:
        if self.config.load_file is None:
            return 0
        try:
            return max(0, min(100, round(float(self.config.load_file.read_text().strip()))))
        except (OSError, ValueError):
            log.warning("cannot read a load from %s; reporting 0", self.config.load_file)
            return 0

    def _answer_challenge(self) -> None:
        challenge = self.client.liveliness_challenge()
        epoch = int(challenge["epoch"])
        if epoch == self.answered_epoch:
            return
        result = self.client.report_liveliness(
            self.config.ip_address,
            worker_key=self.key if self.config.worker_key else None,
            load=self._load(),
            challenge=challenge["challenge"],
        )
        self.answered_epoch = epoch
        log.info("answered the challenge of epoch %d (height %d)", epoch, result.height)

    # work -------------------------------------------------------------------

    def _usage(self, start: float, end: float) -> list[dict[str, object]]:
        if self.config.usage_url:
            return usage_source.as_usage(usage_source.read_url(self.config.usage_url, start, end))
        if self.config.usage_file:
            return usage_source.as_usage(usage_source.read_file(self.config.usage_file, start, end))
        return []

    def _queue_ended_periods(self, settings: dict[str, Any]) -> None:
        length = int(settings["work_period_seconds"])
        now = time.time()
        current = int(now // length)
        last = self.queue.last_period()
        if last is None:
            last = current - 2  # first run: start with the period that just ended
        for period in range(last + 1, current):
            if now < (period + 1) * length + self.config.settle_seconds:
                break
            self.queue.add(period, self._usage(period * length, (period + 1) * length))
            self.queue.set_last_period(period)
            log.info("work of period %d queued", period)

    def _send_pending(self) -> None:
        for pending in self.queue.pending():
            self._send_report(int(pending["period"]), pending["usage"])

    def _send_report(self, period: int, lines: list[dict[str, object]]) -> None:
        try:
            result = self.client.report_work(
                self.config.ip_address,
                period,
                lines,
                worker_key=self.key if self.config.worker_key else None,
            )
        except TxFailed as exc:
            if exc.code == "report_already_filed":
                log.info("work for period %d was already reported", period)
                self.queue.done(period)
                return
            if exc.code in FINAL_REFUSALS:
                self._set_aside(period, str(exc))
                return
            raise
        log.info(
            "reported work for period %d: %d lines (height %d)", period, len(lines), result.height
        )
        self.queue.done(period)

    def _set_aside(self, period: int, reason: str) -> None:
        """A report the node will never take: keep it for the operator, stop retrying."""
        failed = self.config.state_dir / "refused"
        failed.mkdir(exist_ok=True)
        source = self.queue.pending_dir / f"{period}.json"
        if source.exists():
            shutil.move(str(source), str(Path(failed) / f"{period}.json"))
        log.error(
            "work report for period %d refused for good (%s); kept in %s", period, reason, failed
        )
