"""The worker agent: runs on a GPU worker, keeps it registered, answers each epoch's
liveliness challenge, and reports the work it did each period."""

from worker_manager.agent.config import AgentConfig, AgentConfigError
from worker_manager.agent.loop import Agent

__all__ = ["Agent", "AgentConfig", "AgentConfigError"]
