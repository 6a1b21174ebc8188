"""Every call the agent makes is bounded: a node or metering endpoint that accepts the
connection and never answers holds a job for the agent's 10 s timeout, no longer."""

import random
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.agent.conftest import SilentServer, agent_config
from worker_manager.agent import Agent
from worker_manager.agent.backoff import MIN_BACKOFF_S
from worker_manager.agent.loop import HTTP_TIMEOUT_S
from worker_manager.agent.periods import Span
from worker_manager.agent.usage import UsageUnavailable


@pytest.mark.slow
def test_a_silent_node_or_endpoint_holds_a_job_ten_seconds_at_most(tmp_path: Path) -> None:
    node, metering = SilentServer(), SilentServer()
    agent = Agent(
        agent_config(tmp_path, node.url, url=f"{metering.url}/usage"), rng=random.Random(3)
    )
    took: dict[str, float] = {}
    waits: dict[str, float] = {}

    def timed(name: str, call: Callable[[], float]) -> None:
        started = time.monotonic()
        waits[name] = call()
        took[name] = time.monotonic() - started

    def read_metering() -> float:
        with pytest.raises(UsageUnavailable, match="timed out"):
            agent.reporter.usage.by_period([Span(1, 10, 20)])
        return 0.0

    jobs = [
        threading.Thread(target=timed, args=("liveliness", agent.liveliness.step)),
        threading.Thread(target=timed, args=("reporting", agent.reporter.step)),
        threading.Thread(target=timed, args=("metering", read_metering)),
    ]
    try:
        for job in jobs:
            job.start()
        for job in jobs:
            job.join(30)
    finally:
        agent.client.close()
        node.close()
        metering.close()
    assert HTTP_TIMEOUT_S == 10
    assert sorted(took) == ["liveliness", "metering", "reporting"]
    assert all(HTTP_TIMEOUT_S - 0.5 < t < HTTP_TIMEOUT_S + 2 for t in took.values()), took
    # and the node's silence counts as a failure: the jobs back off
    assert 0 <= waits["liveliness"] <= MIN_BACKOFF_S
    assert 0 <= waits["reporting"] <= MIN_BACKOFF_S
