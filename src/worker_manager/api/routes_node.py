"""Node routes: health, the coordinates a client needs (chain id, contract, height), and
the state hash operators compare between nodes and databases."""

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from worker_manager import __version__
from worker_manager.api.errors import SafeJSONResponse
from worker_manager.failures import ServiceUnavailable
from worker_manager.node import Node

router = APIRouter()


def _node(request: Request) -> Node:
    node: Node = request.app.state.node
    return node


@router.get(
    "/healthz",
    tags=["node"],
    summary="Liveness probe",
    responses={503: {"description": "The node cannot write blocks now (disk full, ...)"}},
)
def healthz(request: Request) -> Response:
    """``{"status": "ok", "height": h}`` while the node can answer and write blocks;
    ``503`` with ``"status": "unavailable"`` and the reason while its database refuses
    blocks (disk full) or cannot be reached, until it works again. The database is read
    only when it failed lately or the node has not heard from it within its staleness
    bound."""
    node = _node(request)
    error = node.block_error
    if error is None:
        try:  # a cheap read: only when the database failed lately, or was not heard from
            if node.follower.error is not None:
                node.follower.refresh()
            else:
                node.follower.ensure_fresh()
        except ServiceUnavailable as exc:
            error = str(exc)
    if error is not None:
        body = {"status": "unavailable", "height": node.height, "error": error}
        return SafeJSONResponse(body, status_code=503)
    return SafeJSONResponse({"status": "ok", "height": node.height})


@router.get("/v1/info", tags=["node"], summary="Chain id, contract address, height")
def info(request: Request) -> dict[str, Any]:
    """What a client needs to talk to this node: chain id, contract address, code hash."""
    data = asdict(_node(request).info())
    data["version"] = __version__
    return data


@router.get("/v1/state", tags=["node"], summary="Height and state hash (reads the whole state)")
def state(request: Request) -> dict[str, Any]:
    """``{"height": h, "state_hash": "…"}``: the sha256 of the contract state and the
    accounts at height ``h``, read in one transaction. Nodes or databases with the same
    hash at the same height hold the same state (``worker-manager verify`` prints it
    too). It reads the whole state, so it is computed at most once a second and once
    per height, one computation at a time, whoever asks."""
    summary = _node(request).state_summaries.get()
    return {"height": summary.height, "state_hash": summary.state_hash}
