"""Native API routes: health, node info and contract queries.

``POST /v1/query`` is the hot path: it answers from the node's per-height
cache of ready bytes without touching the database or re-serialising, and
goes to a worker thread only on a miss.
"""

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from worker_manager import __version__
from worker_manager.contract.error import InvalidMessage
from worker_manager.contract.msg import QUERY_MESSAGES
from worker_manager.node import Node

JSON = "application/json"
MAX_QUERY_BYTES = 64 * 1024

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


_QUERY_SCHEMA: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            JSON: {
                "schema": {
                    "oneOf": [
                        {
                            "type": "object",
                            "required": [name],
                            "properties": {name: cls.model_json_schema()},
                            "additionalProperties": False,
                        }
                        for name, cls in QUERY_MESSAGES.items()
                    ]
                },
                "example": {"get_models": {}},
            }
        },
    }
}


@router.post(
    "/v1/query",
    tags=["contract"],
    summary="Run any contract query",
    openapi_extra=_QUERY_SCHEMA,
    response_class=Response,
)
async def query(request: Request) -> Response:
    """Send a query message such as ``{"get_models": {}}``; get the contract's JSON answer."""
    node = _node(request)
    body = await request.body()
    hit = node.cached_query(body)
    if hit is None:
        if len(body) > MAX_QUERY_BYTES:
            raise InvalidMessage(f"query is {len(body)} bytes; the limit is {MAX_QUERY_BYTES}")
        hit = await run_in_threadpool(node.query, body)
    return Response(hit, media_type=JSON)
