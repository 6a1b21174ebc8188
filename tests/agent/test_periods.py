"""Which periods the agent queues: only ended ones, inside the contract's window, never
more than the window's worth, re-based when the period length changes."""

from worker_manager.agent.periods import ReportRules, Span

HOUR = ReportRules(epoch_seconds=60, period_seconds=3600, window_periods=48)
T = 1_767_225_600  # a whole hour


def test_a_period_is_ready_once_it_ended_and_settled() -> None:
    queued_until = T  # period T/3600 is next
    assert HOUR.ready(queued_until, T + 3600.5, settle_seconds=1) == []
    assert HOUR.ready(queued_until, T + 3601, settle_seconds=1) == [Span(T // 3600, T, T + 3600)]


def test_catching_up_stays_inside_the_window() -> None:
    now = T + 1000 * 3600 + 10  # a thousand periods later
    spans = HOUR.ready(T, now, settle_seconds=1)
    assert len(spans) == 48
    assert spans[0].period == HOUR.oldest_accepted(now)
    assert spans[-1].period == HOUR.current_period(now) - 1
    assert all(HOUR.accepts(span.period, now) for span in spans)


def test_a_shorter_period_re_bases_the_queue_instead_of_counting_up_to_it() -> None:
    """Queued up to an hour boundary under 3600 s periods, then periods become 10 s:
    the next period is the 10 s one at that boundary, clamped to the window."""
    ten = ReportRules(epoch_seconds=60, period_seconds=10, window_periods=48)
    queued_until = T + 3600  # the hour T/3600 was queued
    assert ten.first_period(queued_until) == (T + 3600) // 10
    spans = ten.ready(queued_until, T + 3600 + 25, settle_seconds=1)
    assert spans == [
        Span((T + 3600) // 10, T + 3600, T + 3610),
        Span((T + 3610) // 10, T + 3610, T + 3620),
    ]
    # the day after: still one window's worth, never the 8,000 periods in between
    assert len(ten.ready(queued_until, T + 86_405, settle_seconds=1)) == 48


def test_a_longer_period_reports_only_what_was_not_reported_yet() -> None:
    """Queued up to T + 70 under 10 s periods, then periods become an hour: the hour
    that holds T + 70 reports only from T + 70 on (the rest went in 10 s reports)."""
    spans = HOUR.ready(T + 70, T + 3601, settle_seconds=1)
    assert spans == [Span(T // 3600, T + 70, T + 3600)]


def test_the_window_is_the_contracts() -> None:
    now = T + 100 * 3600 + 5
    current = HOUR.current_period(now)
    assert not HOUR.accepts(current, now)  # not ended
    assert HOUR.accepts(current - 1, now)
    assert HOUR.accepts(current - 48, now)
    assert not HOUR.accepts(current - 49, now)


def test_the_wait_is_until_the_next_period_settles() -> None:
    assert HOUR.seconds_until_next_ready(T + 100, settle_seconds=1) == 3501
    assert HOUR.seconds_until_next_ready(T + 0.5, settle_seconds=1) == 0.5
