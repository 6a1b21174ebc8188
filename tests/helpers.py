"""Small helpers for driving a node from tests."""

import json
from typing import Any

from worker_manager.node import ExecuteOutcome, Node


def q(node: Node, msg: dict[str, Any]) -> Any:
    """Run a query and decode its JSON answer."""
    return json.loads(node.query(json.dumps(msg).encode()))


def ex(node: Node, sender: str, msg: dict[str, Any]) -> ExecuteOutcome:
    return node.execute(sender, msg)


def data(outcome: ExecuteOutcome) -> Any:
    return json.loads(outcome.data)
