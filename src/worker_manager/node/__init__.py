"""The node: authenticates messages, runs the contract on the store, serves answers."""

from worker_manager.node.ante import AnteError
from worker_manager.node.clock import Clock, FixedClock, SystemClock
from worker_manager.node.identity import ChainIdentity
from worker_manager.node.node import ExecuteOutcome, Node, NodeInfo, NodeNotInitialised

__all__ = [
    "AnteError",
    "ChainIdentity",
    "Clock",
    "ExecuteOutcome",
    "FixedClock",
    "Node",
    "NodeInfo",
    "NodeNotInitialised",
    "SystemClock",
]
