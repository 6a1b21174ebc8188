"""The agent's second job, on a thread of its own: queue each ended work period's
usage on disk, then send the queued reports.

Every pass re-reads the contract's settings (``work_period_seconds``,
``work_report_window_periods``, ``epoch_seconds``) from the node, so it follows an
admin's change; with the node down it goes on queueing under the last settings it
read. It queues only periods the contract still accepts (never more than the
window's worth in one pass), moves queued reports that fell out of the window to
``expired/`` instead of sending them, and leaves a period unqueued while the
metering source cannot be read (it is asked again next pass, while the period is
inside the window).
"""

import logging
import threading
from collections.abc import Callable

from worker_manager.agent.backoff import Backoff
from worker_manager.agent.config import AgentConfig
from worker_manager.agent.periods import ReportRules
from worker_manager.agent.queue import PendingReport, ReportQueue
from worker_manager.agent.usage import UsageReader, UsageUnavailable
from worker_manager.client import Client, TxFailed, WorkerManagerError
from worker_manager.keys import PrivateKey

log = logging.getLogger(__name__)

#: Refusals that will not heal by retrying the same report.
FINAL_REFUSALS = frozenset({"invalid_field", "unauthorized", "invalid_signature"})
#: The shortest wait between two passes.
MIN_POLL_S = 0.2


def _periods(reports: list[PendingReport]) -> str:
    first, last = reports[0].period, reports[-1].period
    return str(first) if first == last else f"{first} to {last}"


class Reporter:
    def __init__(
        self,
        config: AgentConfig,
        client: Client,
        key: PrivateKey,
        queue: ReportQueue,
        usage: UsageReader,
        *,
        stopping: threading.Event,
        registered: threading.Event,
        backoff: Backoff,
        clock: Callable[[], float],
    ) -> None:
        self.config = config
        self.client = client
        self.key = key
        self.queue = queue
        self.usage = usage
        self.stopping = stopping
        self.registered = registered
        self.backoff = backoff
        self.clock = clock
        self.rules: ReportRules | None = None
        self._source_problem: str | None = None

    def run(self) -> None:
        while not self.stopping.is_set():
            self.stopping.wait(self.step())

    def step(self) -> float:
        """One pass: settings, expiry, queueing, sending; returns how long to wait."""
        problem = None
        try:
            self.rules = self.read_rules()
        except WorkerManagerError as exc:
            problem = str(exc)
        try:
            if self.rules is not None:
                self.expire(self.rules)
                self.queue_ended(self.rules)
                if problem is None and self.registered.is_set():
                    self.send_pending(self.rules)
        except WorkerManagerError as exc:  # unreachable, or refusing in a way that may heal
            problem = str(exc)
        except OSError as exc:  # the state directory: full, read-only, removed
            wait = self.backoff.next()
            log.error("cannot keep work reports in %s (%s)", self.config.state_dir, exc)
            return wait
        if problem is not None or self.rules is None:
            wait = self.backoff.next()
            log.warning(
                "node not answering or refusing (%s); reports wait; retrying in %.1fs",
                problem,
                wait,
            )
            return wait
        self.backoff.reset()
        return self.wait(self.rules)

    def read_rules(self) -> ReportRules:
        config = self.client.config()
        rules = ReportRules(
            epoch_seconds=config.epoch_seconds,
            period_seconds=config.work_period_seconds,
            window_periods=config.work_report_window_periods,
        )
        if self.rules is not None and rules != self.rules:
            log.info(
                "contract settings changed: periods of %ds (were %ds), window of %d periods, "
                "epochs of %ds",
                rules.period_seconds,
                self.rules.period_seconds,
                rules.window_periods,
                rules.epoch_seconds,
            )
        return rules

    def wait(self, rules: ReportRules) -> float:
        """Until the next period is ready, or the next look at the settings if sooner."""
        poll = max(MIN_POLL_S, rules.epoch_seconds * self.config.poll_fraction)
        until = rules.seconds_until_next_ready(self.clock(), self.config.settle_seconds)
        return max(MIN_POLL_S, min(poll, until))

    # expiry -------------------------------------------------------------------------

    def expire(self, rules: ReportRules) -> None:
        """Move queued reports the contract no longer takes to ``expired/``."""
        oldest = rules.oldest_accepted(self.clock())
        other_length, too_old = [], []
        for report in self.queue.pending():
            if (report.period_seconds or rules.period_seconds) != rules.period_seconds:
                other_length.append(report)
            elif report.period < oldest:
                too_old.append(report)
        if other_length:
            self._set_aside_expired(
                other_length, f"queued for other period lengths, now {rules.period_seconds}s"
            )
        if too_old:
            self._set_aside_expired(
                too_old, f"older than the {rules.window_periods}-period window the contract takes"
            )

    def _set_aside_expired(self, reports: list[PendingReport], why: str) -> None:
        folder = self.queue.directory / "expired"
        for report in reports:
            self.queue.set_aside(report, "expired")
        log.warning(
            "%d queued work report(s) (periods %s) %s; moved to %s, not sent",
            len(reports),
            _periods(reports),
            why,
            folder,
        )

    # queueing -----------------------------------------------------------------------

    def queue_ended(self, rules: ReportRules) -> None:
        """Queue the usage of every period that ended (and settled), inside the window."""
        now = self.clock()
        length = rules.period_seconds
        queued_until = self.queue.queued_until(length)
        if queued_until is None:  # first run: start with the period that just ended
            start = rules.current_period(now) - 1
            queued_until = start * length
            self.queue.set_queued_until(queued_until, start - 1, length)
        first, oldest = rules.first_period(queued_until), rules.oldest_accepted(now)
        if first < oldest:
            log.warning(
                "periods %d to %d ended more than %d periods ago, past the window the "
                "contract takes; their work is not reported",
                first,
                oldest - 1,
                rules.window_periods,
            )
            queued_until = oldest * length
            self.queue.set_queued_until(queued_until, oldest - 1, length)
        spans = rules.ready(queued_until, now, self.config.settle_seconds)
        if not spans:
            return
        try:
            usage = self.usage.by_period(spans)
        except UsageUnavailable as exc:
            if str(exc) != self._source_problem:
                log.warning("metering source unreadable (%s); periods wait for it", exc)
            self._source_problem = str(exc)
            return
        if self._source_problem is not None:
            log.info("metering source readable again")
            self._source_problem = None
        for span in spans:
            if self.stopping.is_set():
                return
            self.queue.add(span.period, length, usage[span.period])
            self.queue.set_queued_until(span.end, span.period, length)
            log.info("work of period %d queued", span.period)

    # sending ------------------------------------------------------------------------

    def send_pending(self, rules: ReportRules) -> None:
        """Send queued reports, oldest first, until one fails in a way that may heal."""
        for report in self.queue.pending():
            if self.stopping.is_set():
                return
            if report.period < rules.oldest_accepted(self.clock()):
                self._set_aside_expired([report], "fell out of the window while waiting")
                continue
            if not self._send(report, rules):
                return

    def _send(self, report: PendingReport, rules: ReportRules) -> bool:
        """Whether the report is settled (acknowledged or set aside)."""
        try:
            result = self.client.report_work(
                self.config.ip_address,
                report.period,
                report.usage,
                worker_key=self.key if self.config.worker_key else None,
            )
        except TxFailed as exc:
            if exc.code == "report_already_filed":
                log.info("work for period %d was already reported", report.period)
                self.queue.done(report)
                return True
            if report.period < rules.oldest_accepted(self.clock()):
                self._set_aside_expired([report], "fell out of the window while sending")
                return True
            if exc.code in FINAL_REFUSALS:
                folder = self.queue.set_aside(report, "refused")
                log.error(
                    "work report for period %d refused for good (%s); kept in %s",
                    report.period,
                    exc,
                    folder,
                )
                return True
            log.error("work report for period %d refused (%s); will retry", report.period, exc)
            return False
        log.info(
            "reported work for period %d: %d lines (height %d)",
            report.period,
            len(report.usage),
            result.height,
        )
        self.queue.done(report)
        return True
