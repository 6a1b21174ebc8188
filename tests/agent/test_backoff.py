"""Backoff with full jitter: waits spread over [0, cap], the cap doubling to 60 s."""

import random
import socket
import statistics
from pathlib import Path

from tests.agent.conftest import agent_config
from worker_manager.agent import Agent
from worker_manager.agent.backoff import MAX_BACKOFF_S, MIN_BACKOFF_S, Backoff


def test_the_cap_doubles_from_the_least_to_the_most() -> None:
    backoff = Backoff(random.Random(0))
    caps = []
    for _ in range(12):
        caps.append(backoff.cap)
        backoff.next()
    assert caps[:4] == [MIN_BACKOFF_S, 2 * MIN_BACKOFF_S, 4 * MIN_BACKOFF_S, 8 * MIN_BACKOFF_S]
    assert caps[-1] == MAX_BACKOFF_S == 60.0
    backoff.reset()
    assert backoff.cap == MIN_BACKOFF_S


def test_a_thousand_waits_at_the_cap_spread_over_all_of_it() -> None:
    """As if 1,000 agents came back after a long outage: no lockstep, never above 60 s."""
    rng = random.Random(2026)
    waits = []
    for _ in range(1000):
        backoff = Backoff(rng)
        for _ in range(20):  # long past the cap
            wait = backoff.next()
        waits.append(wait)
    assert all(0 <= w <= MAX_BACKOFF_S for w in waits)
    buckets = [0] * 10  # 6 s each
    for w in waits:
        buckets[min(9, int(w // 6))] += 1
    assert min(buckets) > 60  # about 100 each: spread evenly, not bunched
    assert 25 < statistics.mean(waits) < 35
    assert len({round(w, 3) for w in waits}) > 990


def test_early_waits_stay_under_their_cap() -> None:
    rng = random.Random(7)
    for _ in range(1000):
        backoff = Backoff(rng)
        assert 0 <= backoff.next() <= MIN_BACKOFF_S
        assert 0 <= backoff.next() <= 2 * MIN_BACKOFF_S


def test_the_agent_draws_its_waits_from_the_random_it_is_given(tmp_path: Path) -> None:
    """Two agents facing the same dead node wait differently; the same seed, the same."""
    with socket.socket() as s:  # a port nothing listens on: connection refused
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"

    def waits(seed: int) -> list[float]:
        agent = Agent(agent_config(tmp_path, dead), rng=random.Random(seed))
        try:
            return [agent.liveliness.step() for _ in range(6)]
        finally:
            agent.client.close()

    first, same, other = waits(1), waits(1), waits(2)
    assert first == same
    assert first != other
    caps = [MIN_BACKOFF_S * 2**n for n in range(6)]
    assert all(0 <= w <= cap for w, cap in zip(first + other, caps + caps, strict=True))
