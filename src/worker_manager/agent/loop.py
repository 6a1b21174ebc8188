"""The agent: two jobs on their own threads, and a main thread that waits for a stop.

- :class:`~worker_manager.agent.liveliness.Liveliness` keeps the worker registered
  and answers every epoch's challenge;
- :class:`~worker_manager.agent.reporting.Reporter` queues and sends work reports.

So a slow metering source, failing reports or a backlog never delay a challenge
answer. Both talk to the node only through one
:class:`worker_manager.client.Client` (it keeps the key's sequence for both).
A stop request (SIGTERM, Ctrl-C: :meth:`Agent.stop`) ends :meth:`Agent.run` within
a second wherever the jobs are, even inside a slow HTTP call: the jobs run on
daemon threads that are given 0.3 s to finish their step, then left
behind. What they leave on disk is always whole (every write is atomic).
"""

import logging
import random
import threading
import time
from collections.abc import Callable

from worker_manager.agent.backoff import Backoff
from worker_manager.agent.config import AgentConfig, AgentConfigError
from worker_manager.agent.liveliness import Liveliness
from worker_manager.agent.queue import ReportQueue
from worker_manager.agent.reporting import Reporter
from worker_manager.agent.usage import UsageReader
from worker_manager.client import Client

log = logging.getLogger(__name__)

#: The longest the agent waits on the node or the metering source in one call.
HTTP_TIMEOUT_S = 10.0
#: How long a stop waits for the jobs to finish their step.
STOP_GRACE_S = 0.3
#: How often the main thread checks that both jobs are still running.
SUPERVISE_S = 0.5


class Agent:
    """Example::

    agent = Agent(AgentConfig.load(path), rng=random.Random())
    signal.signal(signal.SIGTERM, lambda *_: agent.stop())
    exit_code = agent.run()

    ``rng`` spreads the retries (jitter); ``clock`` (Unix seconds) decides which
    work periods have ended; ``stopping`` may be shared with signal handlers set
    up before the agent is built.
    """

    def __init__(
        self,
        config: AgentConfig,
        *,
        rng: random.Random,
        clock: Callable[[], float] = time.time,
        stopping: threading.Event | None = None,
    ) -> None:
        self.config = config
        self.key = config.private_key()
        try:
            self.queue = ReportQueue(config.state_dir)
        except OSError as exc:
            raise AgentConfigError(f"cannot use state_dir {config.state_dir}: {exc}") from exc
        self.client = Client(config.node, key=self.key, timeout=HTTP_TIMEOUT_S)
        self.stopping = stopping or threading.Event()
        registered = threading.Event()
        self.liveliness = Liveliness(
            config,
            self.client,
            self.key,
            stopping=self.stopping,
            registered=registered,
            backoff=Backoff(rng),
        )
        self.reporter = Reporter(
            config,
            self.client,
            self.key,
            self.queue,
            UsageReader(config.usage_file, config.usage_url, timeout=HTTP_TIMEOUT_S),
            stopping=self.stopping,
            registered=registered,
            backoff=Backoff(rng),
            clock=clock,
        )

    def stop(self) -> None:
        self.stopping.set()

    def run(self) -> int:
        """Run until stopped: 0 after a stop request, 1 if a job died of a bug."""
        log.info(
            "agent for worker %s (key %s) talking to %s",
            self.config.ip_address,
            self.key.address,
            self.config.node,
        )
        jobs = [
            threading.Thread(target=self.liveliness.run, name="liveliness", daemon=True),
            threading.Thread(target=self.reporter.run, name="reporting", daemon=True),
        ]
        for job in jobs:
            job.start()
        code = 0
        while not self.stopping.wait(SUPERVISE_S):
            dead = [job.name for job in jobs if not job.is_alive()]
            if dead:  # its traceback was printed by threading.excepthook
                log.error("the %s job ended on an unexpected error; stopping", dead[0])
                code = 1
                self.stopping.set()
        deadline = time.monotonic() + STOP_GRACE_S
        for job in jobs:
            job.join(max(0.0, deadline - time.monotonic()))
        if not any(job.is_alive() for job in jobs):
            self.client.close()
        log.info("agent stopped")
        return code
