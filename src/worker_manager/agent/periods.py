"""Which work periods the agent may report, by the contract's numbering. No I/O.

Period ``p`` of a ``period_seconds`` length runs from ``p * period_seconds`` to
``(p+1) * period_seconds``. The contract takes a report for period ``p`` while
``current - window_periods <= p < current`` (``current`` being the period the
block's time falls in): see ``worker_manager.contract.reports.execute_report_work``.

The agent remembers how far it has queued as a *time* (``queued_until``, the end
of the last period it queued), not as a period number, so a change of the period
length re-bases it: the next period queued is the one ``queued_until`` falls in,
in the new numbering, and it reports only the usage from ``queued_until`` on.
"""

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Span:
    """The part of ``period`` the next report covers: ``[start, end)``, Unix seconds."""

    period: int
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class ReportRules:
    """The contract settings the agent follows (re-read from the node every pass)."""

    epoch_seconds: int
    period_seconds: int
    window_periods: int

    def current_period(self, now: float) -> int:
        return int(now // self.period_seconds)

    def oldest_accepted(self, now: float) -> int:
        """The oldest period the contract still takes a report for."""
        return self.current_period(now) - self.window_periods

    def accepts(self, period: int, now: float) -> bool:
        """Whether a report naming ``period`` is inside the window at ``now``."""
        return self.oldest_accepted(now) <= period < self.current_period(now)

    def first_period(self, queued_until: int) -> int:
        """The period ``queued_until`` falls in: the first one not fully queued yet."""
        return queued_until // self.period_seconds

    def ready(self, queued_until: int, now: float, settle_seconds: float) -> list[Span]:
        """The periods to queue now, oldest first: ended at least ``settle_seconds``
        ago, not queued yet, and inside the window. Never more than the window's worth."""
        length = self.period_seconds
        first = max(self.first_period(queued_until), self.oldest_accepted(now))
        last = min(int((now - settle_seconds) // length), self.current_period(now)) - 1
        return [
            Span(period, max(period * length, queued_until), (period + 1) * length)
            for period in range(first, last + 1)
        ]

    def seconds_until_next_ready(self, now: float, settle_seconds: float) -> float:
        """How long until the next period has ended and settled."""
        length = self.period_seconds
        next_end = (int((now - settle_seconds) // length) + 1) * length
        return next_end + settle_seconds - now
