"""Node routes: health and the coordinates a client needs (chain id, contract, height)."""

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Request

from worker_manager import __version__
from worker_manager.node import Node

router = APIRouter()


def _node(request: Request) -> Node:
    node: Node = request.app.state.node
    return node


@router.get("/healthz", tags=["node"], summary="Liveness probe")
def healthz(request: Request) -> dict[str, Any]:
    """``{"status": "ok"}`` while the node can answer; includes the current height."""
    return {"status": "ok", "height": _node(request).height}


@router.get("/v1/info", tags=["node"], summary="Chain id, contract address, height")
def info(request: Request) -> dict[str, Any]:
    """What a client needs to talk to this node: chain id, contract address, code hash."""
    data = asdict(_node(request).info())
    data["version"] = __version__
    return data
