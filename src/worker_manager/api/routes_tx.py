"""Transactions, blocks and accounts: ``POST /v1/txs`` and the lookups."""

import re
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from worker_manager.api import hot
from worker_manager.api.errors import SafeJSONResponse, problem
from worker_manager.api.openapi_docs import problems
from worker_manager.api.views import account_json, block_json, tx_record_json
from worker_manager.node import Node

router = APIRouter()

#: Heights are signed 64-bit in the database; anything larger is a client's mistake.
MAX_HEIGHT = 2**63 - 1
MAX_HEIGHT_DIGITS = len(str(MAX_HEIGHT))
_TX_HASH = re.compile(r"[0-9A-Fa-f]{64}")


def _node(request: Request) -> Node:
    node: Node = request.app.state.node
    return node


class BroadcastRequest(BaseModel):
    """A signed tx: base64 ``TxRaw`` bytes, and whether to wait for its block."""

    model_config = ConfigDict(extra="forbid")

    tx_bytes: str = Field(description="Base64 of the signed Cosmos TxRaw.")
    mode: Literal["sync", "commit"] = Field(
        "sync", description="sync: checked and queued; commit: wait for the block's result."
    )


_BROADCAST_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": BroadcastRequest.model_json_schema()}},
    }
}


@router.post(
    "/v1/txs",
    tags=["transactions"],
    summary="Broadcast a signed transaction",
    openapi_extra=_BROADCAST_BODY,
    response_class=Response,
    responses={
        200: {"description": "Queued (sync) or included in a block (commit)"},
        # refused by the ante checks (400, 401, 409, 413), a body that is not the
        # envelope (422), too many txs from this client (429, see Retry-After), the
        # node cannot write blocks (503), the block did not commit in time (504)
        **problems(400, 401, 409, 413, 422, 429, 503, 504),
    },
)
async def broadcast(request: Request) -> Response:
    """Check a signed tx (signature, chain id, account number, sequence, size, message)
    and queue it. ``sync`` answers at once with the hash; ``commit`` waits for its block
    and answers with the result, where a contract refusal shows as a non-zero ``code``."""
    result = hot.rate_limited(request.app.state.tx_limiter, request.scope)
    if result is None:
        result = await hot.broadcast(_node(request), await request.body())
    return Response(
        result.body,
        status_code=result.status,
        media_type=result.media_type,
        headers={k.decode(): v.decode() for k, v in result.headers},
    )


@router.get(
    "/v1/txs/{txhash}",
    tags=["transactions"],
    summary="Look a transaction up",
    responses=problems(400, 404),
)
async def get_tx(
    request: Request, txhash: Annotated[str, Path(description="Upper- or lower-case hex.")]
) -> Response:
    """The tx as committed: sender, messages, result or error, events, gas, time."""
    if not _TX_HASH.fullmatch(txhash):
        return problem(
            400, "invalid_request", f"tx hash {txhash[:80]!r} is not 64 hexadecimal characters"
        )
    record = await run_in_threadpool(_node(request).get_tx, txhash)
    if record is None:
        return problem(404, "tx_not_found", f"no committed tx has hash {txhash.upper()}")
    return SafeJSONResponse(tx_record_json(record))


@router.get(
    "/v1/blocks/{height}",
    tags=["transactions"],
    summary="A block and its txs",
    responses=problems(400, 404),
)
async def get_block(
    request: Request, height: Annotated[str, Path(description="or latest")]
) -> Response:
    """A committed block: time, hash and the txs it holds (``latest`` for the newest)."""
    node = _node(request)
    if height == "latest":
        number = node.height
    elif height.isascii() and height.isdigit() and len(height) <= MAX_HEIGHT_DIGITS:
        number = int(height)
    else:
        return problem(
            400,
            "invalid_request",
            f"height {height[:40]!r} is not latest or a whole number up to {MAX_HEIGHT}",
        )
    if number > MAX_HEIGHT:
        return problem(400, "invalid_request", f"height {number} is over {MAX_HEIGHT}")
    found = await run_in_threadpool(node.get_block, number)
    if found is None:
        return problem(
            404, "block_not_found", f"no block at height {number}; the latest is {node.height}"
        )
    return SafeJSONResponse(block_json(*found))


@router.get(
    "/v1/accounts/{address}",
    tags=["transactions"],
    summary="An account's sequence",
    responses=problems(400),
)
async def get_account(request: Request, address: str) -> dict[str, Any]:
    """Account number and next sequence (counting txs already accepted but not committed)."""
    account = await run_in_threadpool(_node(request).get_account, address)
    return account_json(account)
