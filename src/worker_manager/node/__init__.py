"""The node: authenticates messages, runs the contract on the store, serves answers."""

from worker_manager.node.ante import AnteError
from worker_manager.node.chain import NodeNotInitialised
from worker_manager.node.clock import Clock, FixedClock, SystemClock
from worker_manager.node.examiner import Examiner
from worker_manager.node.identity import ChainIdentity
from worker_manager.node.node import ExecuteFailed, ExecuteOutcome, Node
from worker_manager.node.queries import AccountInfo, ChainInfo

__all__ = [
    "AccountInfo",
    "AnteError",
    "ChainIdentity",
    "ChainInfo",
    "Clock",
    "Examiner",
    "ExecuteFailed",
    "ExecuteOutcome",
    "FixedClock",
    "Node",
    "NodeNotInitialised",
    "SystemClock",
]
