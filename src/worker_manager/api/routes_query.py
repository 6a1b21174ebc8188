"""Contract queries: ``POST /v1/query`` for any message, and read-friendly GET routes.

Each answers from the node's per-height cache of ready bytes, through
:mod:`worker_manager.api.hot` (whose front door serves the hottest of these
without the framework; these routes document them and serve the rest).
"""

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from starlette.responses import Response

from worker_manager.api import hot
from worker_manager.api.hot import JSON, query_message
from worker_manager.api.openapi_docs import QUERY_PROBLEMS, inline_defs
from worker_manager.contract.msg import QUERY_MESSAGES
from worker_manager.node import Node

router = APIRouter()


def _node(request: Request) -> Node:
    node: Node = request.app.state.node
    return node


async def answer(node: Node, body: bytes) -> Response:
    """The contract's answer to query ``body`` (see :func:`worker_manager.api.hot.query`)."""
    result = await hot.query(node, body)
    return Response(result.body, status_code=result.status, media_type=result.media_type)


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
                            "properties": {name: inline_defs(cls.model_json_schema())},
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
    responses=QUERY_PROBLEMS,
)
async def query(request: Request) -> Response:
    """Send a query message such as ``{"get_models": {}}``; get the contract's JSON answer."""
    return await answer(_node(request), await request.body())


@router.get(
    "/v1/models",
    tags=["contract"],
    summary="Models served (get_models)",
    response_class=Response,
    responses=QUERY_PROBLEMS,
)
async def models(request: Request) -> Response:
    """``{"models": [...]}``: worker types served by at least one worker, sorted."""
    return await answer(_node(request), query_message("get_models"))


@router.get(
    "/v1/urls",
    tags=["contract"],
    summary="URLs serving a model (get_u_r_ls)",
    response_class=Response,
    responses=QUERY_PROBLEMS,
)
async def urls(
    request: Request,
    model: Annotated[str | None, Query(description="Model (worker type); all if omitted.")] = None,
    subscriber: Annotated[
        str | None, Query(description="Order for this subscriber (its public key, hex).")
    ] = None,
    limit: Annotated[int | None, Query(ge=1, description="At most this many URLs.")] = None,
) -> Response:
    """``{"urls": [...]}``: URLs of the live workers serving ``model``, in assignment order."""
    message = query_message("get_urls", model=model, subscriber=subscriber, limit=limit)
    return await answer(_node(request), message)


@router.get(
    "/v1/endpoints",
    tags=["contract"],
    summary="Endpoints to pin for a model (get_endpoints)",
    response_class=Response,
    responses=QUERY_PROBLEMS,
)
async def endpoints(
    request: Request,
    model: Annotated[str | None, Query(description="Model (worker type); all if omitted.")] = None,
    subscriber: Annotated[
        str | None, Query(description="Order for this subscriber (its public key, hex).")
    ] = None,
    evidence: Annotated[
        bool, Query(description="Also each worker's attestation report, to verify it yourself.")
    ] = False,
    limit: Annotated[int | None, Query(ge=1, description="At most this many endpoints.")] = None,
) -> Response:
    """``{"endpoints": [...]}``: the served workers in ``get_u_r_ls``'s order, each URL with
    the SHA-256 of the TLS certificate (and key) it serves, checked against its quote,
    and its attestation summary."""
    message = query_message(
        "get_endpoints", model=model, subscriber=subscriber, evidence=evidence, limit=limit
    )
    return await answer(_node(request), message)


@router.get(
    "/v1/liveliness/challenge",
    tags=["contract"],
    summary="This epoch's liveliness challenge",
    response_class=Response,
    responses=QUERY_PROBLEMS,
)
async def liveliness_challenge(request: Request) -> Response:
    """``{"challenge", "epoch", "expires_at", "epoch_seconds"}``: what workers answer now."""
    return await answer(_node(request), query_message("get_liveliness_challenge"))


@router.get(
    "/v1/workers",
    tags=["contract"],
    summary="Every worker (get_workers)",
    response_class=Response,
    responses=QUERY_PROBLEMS,
)
async def workers(
    request: Request,
    signature: Annotated[str, Query(description="Subscriber proof: hex compact signature.")],
    subscriber_public_key: Annotated[str, Query(description="Subscriber key, hex, 33 bytes.")],
    address: Annotated[str | None, Query(description="Only workers this wallet owns.")] = None,
    start_after: Annotated[str | None, Query(description="Page after this address.")] = None,
    limit: Annotated[int | None, Query(ge=1, description="Page size (max 500).")] = None,
) -> Response:
    """A page of workers for a subscriber that signs ``sha256(its public key)``."""
    body = query_message(
        "get_workers",
        signature=signature,
        subscriber_public_key=subscriber_public_key,
        address=address,
        start_after=start_after,
        limit=limit,
    )
    return await answer(_node(request), body)


@router.get(
    "/v1/workers/{ip_address}",
    tags=["contract"],
    summary="One worker (get_worker)",
    response_class=Response,
    responses=QUERY_PROBLEMS,
)
async def worker(
    request: Request,
    ip_address: Annotated[str, Path(description="The worker's address (host[:port]).")],
) -> Response:
    """One worker by its address, in any spelling."""
    return await answer(_node(request), query_message("get_worker", ip_address=ip_address))
