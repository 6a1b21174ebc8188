"""The liveliness job against a real node on a clock the test moves: one answer per
epoch, and the pace follows the contract's ``epoch_seconds``."""

import random
import threading
from pathlib import Path

from tests.agent.conftest import IP, ClockedNode, agent_config
from tests.conftest import WORKER_KEY
from worker_manager.agent.backoff import Backoff
from worker_manager.agent.liveliness import Liveliness
from worker_manager.client import Client


def test_each_epoch_is_answered_once_at_the_pace_of_the_contracts_epochs(
    test_node: ClockedNode, tmp_path: Path
) -> None:
    config = agent_config(tmp_path, test_node.url)  # poll_fraction 0.25
    with Client(test_node.url, key=WORKER_KEY, timeout=5) as client:
        job = Liveliness(
            config,
            client,
            WORKER_KEY,
            stopping=threading.Event(),
            registered=threading.Event(),
            backoff=Backoff(random.Random(1)),
        )
        assert job.step() == 15  # 60 s epochs
        assert job.registered.is_set()
        answered = client.account().sequence
        assert job.step() == 15
        assert client.account().sequence == answered  # the same epoch: no second answer
        first = job.answered_epoch
        assert first is not None

        test_node.set_config(epoch_seconds=8)
        test_node.set_time((test_node.now() // 8 + 1) * 8)  # a new epoch starts
        assert job.step() == 2  # 8 s epochs: the pace follows
        assert job.answered_epoch != first
        assert client.account().sequence == answered + 1
        assert client.worker(IP).last_seen == int(test_node.now())
