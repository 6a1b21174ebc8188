"""The Secret-compatible LCD routes that ``secret-sdk`` and ``secret-ai-sdk`` use.

Each handler decodes the request (:mod:`~worker_manager.lcd.requests`), calls
the node, and encodes the answer (:mod:`~worker_manager.lcd.views`,
:mod:`~worker_manager.lcd.txs`). Refusals are grpc-gateway error bodies
(:mod:`~worker_manager.lcd.errors`); a refused broadcast is a ``200`` whose
``tx_response.code`` is not 0, as on a Cosmos chain. ``docs/lcd.md`` lists every
route with its behaviour.
"""

import json
from collections.abc import Callable, Coroutine
from http import HTTPStatus
from typing import Any

from fastapi import APIRouter, Request
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response
from starlette.routing import Match

from worker_manager.api.errors import STATUS_BY_CODE
from worker_manager.api.rate_limit import RateLimiter
from worker_manager.contract import ContractError
from worker_manager.lcd import views
from worker_manager.lcd.errors import (
    GrpcCode,
    LcdError,
    error_body,
    json_response,
    lcd_errors,
)
from worker_manager.lcd.requests import (
    account_address,
    base64_bytes,
    broadcast_request,
    simulate_request,
    tx_hash_param,
)
from worker_manager.lcd.txs import tx_lookup_json
from worker_manager.node import AnteError, Node
from worker_manager.node.pending import gas_estimate
from worker_manager.secret.encryption import (
    EnvelopeError,
    X25519KeyPair,
    encrypt_error,
    encrypt_query_result,
    open_envelope,
)
from worker_manager.tx import TxDecodeError, decode_tx, tx_hash

#: Room for base64 of the largest tx the ante accepts, plus the JSON around it.
_BODY_SLACK = 64 * 1024


class LcdRoute(APIRoute):
    """A route whose :class:`LcdError` refusals become grpc-gateway error bodies.

    (An ``APIRouter`` cannot register exception handlers, and the app's own
    handlers answer in the native API's problem+json shape.)
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def lcd_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except LcdError as err:
                return err.response()

        return lcd_handler


router = APIRouter(route_class=LcdRoute, tags=["secret-lcd"])


def _node(request: Request) -> Node:
    node: Node = request.app.state.node
    return node


def _io_key(node: Node) -> X25519KeyPair:
    if node.io_key is None:
        raise LcdError(
            GrpcCode.UNIMPLEMENTED,
            "this node has no x25519 key, so it cannot serve Secret encrypted messages",
        )
    return node.io_key


def _our_contract(node: Node, address: str) -> str:
    """``address`` in canonical form if it names this node's contract (or an alias)."""
    canonical = account_address(address, "contract address")
    if not node.is_our_contract(canonical):
        raise LcdError(
            GrpcCode.NOT_FOUND,
            f"contract {canonical} not found; this node runs {node.identity.contract_address}",
        )
    return canonical


async def _body(request: Request, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise LcdError(GrpcCode.INVALID_ARGUMENT, f"the request body is over {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _body_limit(node: Node) -> int:
    return node.max_tx_bytes * 4 // 3 + _BODY_SLACK


# --- registration and compute ------------------------------------------------


@router.get(
    "/registration/v1beta1/tx-key",
    summary="The node's x25519 public key (R1)",
    responses=lcd_errors(501),
)
async def tx_key(request: Request) -> Response:
    """The key clients encrypt contract messages to (Secret's consensus IO exchange key)."""
    return json_response(views.tx_key_json(_io_key(_node(request)).public_key))


@router.get(
    "/compute/v1beta1/code_hash/by_contract_address/{address}",
    summary="A contract's code hash (R2)",
    responses=lcd_errors(400, 404),
)
async def code_hash_by_contract(request: Request, address: str) -> Response:
    """64 lower-case hex characters; clients prefix every encrypted message with it."""
    node = _node(request)
    _our_contract(node, address)
    return json_response(views.code_hash_json(node.identity.code_hash))


@router.get(
    "/compute/v1beta1/code_hash/by_code_id/{code_id}",
    summary="A code's hash (O4)",
    responses=lcd_errors(404),
)
async def code_hash_by_code_id(request: Request, code_id: str) -> Response:
    """The contract's code hash, for its code id."""
    identity = _node(request).identity
    if code_id != str(identity.code_id):
        raise LcdError(
            GrpcCode.NOT_FOUND, f"no code with id {code_id}; this node runs code {identity.code_id}"
        )
    return json_response(views.code_hash_json(identity.code_hash))


@router.get(
    "/compute/v1beta1/info/{address}",
    summary="A contract's info (R7)",
    responses=lcd_errors(400, 404),
)
async def contract_info(request: Request, address: str) -> Response:
    """Code id, creator, label and creation height of the contract."""
    node = _node(request)
    return json_response(views.contract_info_json(node.identity, _our_contract(node, address)))


@router.get(
    "/compute/v1beta1/query/{address}",
    summary="An encrypted contract query (R3)",
    # a contract refusal: the status the native API gives its code, the error encrypted
    responses=lcd_errors(400, 401, 403, 404, 409, 501, 503),
)
async def contract_query(request: Request, address: str) -> Response:
    """``query`` is base64 of the encrypted envelope; the answer is encrypted to its key.

    A contract refusal answers the status the native API gives its code (400, 404,
    ...) with grpc code 2 and the encrypted error JSON in the message. Secret's own
    nodes answer 500; its clients accept any non-2xx status and decrypt the message,
    and a client's mistake is never a 5xx here.
    """
    node = _node(request)
    _our_contract(node, address)
    text = request.query_params.get("query")
    if not text:
        raise LcdError(GrpcCode.INVALID_ARGUMENT, "the query parameter is missing")
    try:
        opened = open_envelope(_io_key(node), base64_bytes(text, "query"), node.identity.code_hash)
    except EnvelopeError as exc:
        raise LcdError(
            GrpcCode.INVALID_ARGUMENT, f"cannot open the encrypted query ({exc.kind}): {exc}"
        ) from exc
    answer = node.cached_query(opened.msg_json)
    try:
        if answer is None:
            answer = await run_in_threadpool(node.query, opened.msg_json)
    except ContractError as err:
        error = json.dumps(err.to_json(), separators=(",", ":")).encode()
        sealed = encrypt_error(opened.context, error)
        body = error_body(GrpcCode.UNKNOWN, f"encrypted: {sealed}: query contract failed")
        return json_response(body, STATUS_BY_CODE.get(err.code, HTTPStatus.BAD_REQUEST))
    return json_response({"data": encrypt_query_result(opened.context, answer)})


# --- auth, bank, tendermint --------------------------------------------------


@router.get(
    "/cosmos/auth/v1beta1/accounts/{address}",
    summary="An account (R4)",
    responses=lcd_errors(400),
)
async def account(request: Request, address: str) -> Response:
    """Every valid address has an account: number fixed by the address, sequence from 0."""
    canonical = account_address(address)
    found = await run_in_threadpool(_node(request).get_account, canonical)
    return json_response(views.account_json(found))


@router.get(
    "/cosmos/bank/v1beta1/balances/{address}",
    summary="Balances (O3): always empty",
    responses=lcd_errors(400),
)
async def balances(address: str) -> Response:
    """This node keeps no balances: funds and fees are recorded, never charged."""
    account_address(address)
    return json_response(views.balances_json())


@router.get("/cosmos/base/tendermint/v1beta1/node_info", summary="Node info (O2)")
async def node_info(request: Request) -> Response:
    """``default_node_info.network`` is the chain id."""
    return json_response(views.node_info_json(_node(request).identity.chain_id))


# --- transactions ------------------------------------------------------------


@router.post(
    "/cosmos/tx/v1beta1/txs",
    summary="Broadcast a signed tx (R5)",
    responses=lcd_errors(400, 429),
)
async def broadcast(request: Request) -> Response:
    """Sync and async modes both answer after the ante checks; the sequence moves at once.

    A refusal is a 200 with the Cosmos ``code``, ``codespace`` and ``raw_log``.
    """
    node = _node(request)
    limiter: RateLimiter = request.app.state.tx_limiter
    client = request.client.host if request.client else "unknown"
    wait = limiter.allow(client)
    if wait is not None:
        retry = limiter.retry_after(wait)
        body = LcdError(
            GrpcCode.RESOURCE_EXHAUSTED,
            f"this client sent more than {limiter.rate:g} txs a second; retry in {retry}s",
        ).body()
        return json_response(body, HTTPStatus.TOO_MANY_REQUESTS, {"Retry-After": retry})
    tx_bytes, _mode = broadcast_request(await _body(request, _body_limit(node)))
    try:
        pending = await run_in_threadpool(node.broadcast, tx_bytes)
    except AnteError as err:
        refused = views.broadcast_json(
            tx_hash(tx_bytes), code=err.code, codespace=err.codespace, raw_log=err.log
        )
        return json_response(refused)
    return json_response(views.broadcast_json(pending.hash))


def _lookup(node: Node, txhash: str) -> dict[str, Any]:
    record = node.get_tx(txhash)
    if record is None:
        raise LcdError(GrpcCode.NOT_FOUND, f"tx not found: {txhash}")
    if record.tx_bytes is None:
        raise LcdError(
            GrpcCode.NOT_FOUND,
            f"tx {txhash} is a {record.kind} tx, not a broadcast Cosmos tx, so it has no "
            f"LCD form; see GET /v1/txs/{txhash}",
        )
    return tx_lookup_json(record, record.tx_bytes, node.io_key)


@router.get(
    "/cosmos/tx/v1beta1/txs/{txhash}",
    summary="A committed tx (R6)",
    responses=lcd_errors(400, 404),
)
async def get_tx(request: Request, txhash: str) -> Response:
    """The tx and its result, encrypted for its sender; 404 until its block commits."""
    found = await run_in_threadpool(_lookup, _node(request), tx_hash_param(txhash))
    return json_response(found)


@router.post(
    "/cosmos/tx/v1beta1/simulate",
    summary="Estimate a tx's gas (O1)",
    responses=lcd_errors(400),
)
async def simulate(request: Request) -> Response:
    """Decodes the tx (its signature is not checked) and estimates gas; nothing runs."""
    node = _node(request)
    tx_bytes = simulate_request(await _body(request, _body_limit(node)))
    try:
        decode_tx(tx_bytes, max_tx_bytes=node.max_tx_bytes)
    except TxDecodeError as exc:
        raise LcdError(GrpcCode.INVALID_ARGUMENT, exc.raw_log) from exc
    return json_response(views.simulate_json(gas_estimate(len(tx_bytes))))


# --- everything else under the LCD prefixes ----------------------------------


def _allowed_methods(request: Request) -> list[str]:
    """The methods of the served LCD routes whose path is ``request``'s."""
    allowed: set[str] = set()
    for route in router.routes:
        if isinstance(route, APIRoute) and route.endpoint is not _not_served:
            match, _ = route.matches({**request.scope, "method": "__probe__"})
            if match is not Match.NONE:
                allowed.update(route.methods or ())
    return sorted(allowed)


def _malformed_parameter_of(request: Request) -> str | None:
    """The served route whose path parameter ``request`` fills badly (empty, or holding
    an encoded slash), as ``/cosmos/auth/v1beta1/accounts/a%2Fb`` does."""
    for route in router.routes:
        if (
            isinstance(route, APIRoute)
            and route.endpoint is not _not_served
            and "{" in route.path
            and request.url.path.startswith(route.path[: route.path.index("{")])
        ):
            return route.path
    return None


async def _not_served(request: Request) -> Response:
    allowed = _allowed_methods(request)
    if allowed:
        body = LcdError(
            GrpcCode.UNIMPLEMENTED,
            f"{request.method} is not allowed on {request.url.path}; use {', '.join(allowed)}",
        ).body()
        return json_response(body, HTTPStatus.METHOD_NOT_ALLOWED, {"Allow": ", ".join(allowed)})
    malformed = _malformed_parameter_of(request)
    if malformed is not None:
        raise LcdError(
            GrpcCode.INVALID_ARGUMENT,
            f"{request.url.path} does not fit {malformed}: a path parameter is one non-empty "
            "segment (no slash, encoded or not)",
        )
    raise LcdError(
        GrpcCode.UNIMPLEMENTED,
        f"{request.url.path} is not served by this node; see docs/lcd.md for the routes it serves",
    )


#: Every method, so a wrong one on a served path gets 405 and any on another path 501.
_ANY_METHOD = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]

# Any other route under the LCD prefixes: a clear 501 in the LCD's error shape.
for _prefix in ("/cosmos", "/compute", "/registration"):
    router.add_api_route(
        _prefix + "/{rest:path}",
        _not_served,
        methods=_ANY_METHOD,
        include_in_schema=False,
    )
