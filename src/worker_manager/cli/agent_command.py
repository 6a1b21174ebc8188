"""``worker-manager agent``: run the worker agent on a GPU worker."""

import logging
import random
import signal
import threading
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer

from worker_manager.cli.common import EXIT_USAGE, fail
from worker_manager.settings import LOG_LEVELS


def agent(
    config: Annotated[Path, typer.Option("--config", help="The agent's TOML config file.")],
    log_level: Annotated[str, typer.Option(help=f"One of {', '.join(LOG_LEVELS)}.")] = "info",
) -> None:
    """Run the worker agent: registration, liveliness answers and work reports.

    It registers (or checks) the worker, answers every epoch's liveliness challenge
    and reports each period's work (see docs/agent.md).

    It retries with backoff while the node is down, keeps unsent work reports on
    disk across restarts, and stops cleanly on SIGTERM or Ctrl-C.

    Example:

      worker-manager agent --config /etc/worker-manager/agent.toml
    """
    from worker_manager.agent import Agent, AgentConfig, AgentConfigError

    if log_level.lower() not in LOG_LEVELS:
        fail(f"--log-level must be one of {', '.join(LOG_LEVELS)}", EXIT_USAGE)
    from worker_manager.logs import setup_logging

    setup_logging(log_level, quiet=("httpx",))
    stopping = threading.Event()

    def stop(signum: int, _frame: FrameType | None) -> None:
        logging.getLogger("worker_manager.agent").info(
            "%s received; stopping", signal.Signals(signum).name
        )
        stopping.set()

    # before anything slow, so a stop request is heard at any point
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        runner = Agent(AgentConfig.load(config), rng=random.Random(), stopping=stopping)  # noqa: S311
    except AgentConfigError as exc:
        fail(str(exc), EXIT_USAGE)
    code = runner.run()
    if code:
        raise typer.Exit(code)
