"""The hot paths, shared by the FastAPI routes and a lean ASGI front door.

``POST /v1/query``, ``POST /v1/txs``, ``GET /v1/models`` and ``GET /v1/urls`` are
the calls a network makes thousands of times a second. Their logic lives here,
as functions from request bytes to an :class:`Reply`; :class:`HotPaths` serves
them straight from ASGI, skipping the framework's per-request machinery, and
hands every other request to the FastAPI app (which also documents these routes
and serves them, through the same functions, if mounted without the front door).
"""

import asyncio
import base64
import binascii
import functools
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from worker_manager.api import hot_secret
from worker_manager.api.errors import (
    PROBLEM_JSON,
    STATUS_BY_ANTE_ERROR,
    STATUS_BY_CODE,
    problem_body,
)
from worker_manager.api.rate_limit import RateLimiter
from worker_manager.api.views import tx_result_json
from worker_manager.contract import ContractError
from worker_manager.contract.json_text import load_json
from worker_manager.failures import ServiceUnavailable
from worker_manager.node import AnteError, Node
from worker_manager.node.isolation import BlockWriteFailed, TxUnwritable
from worker_manager.node.pending import PendingTx

JSON = "application/json"
MAX_QUERY_BYTES = 64 * 1024
#: How long ``mode: commit`` waits for the tx's block before answering 504.
COMMIT_TIMEOUT_S = 30.0


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    body: bytes
    media_type: str = JSON
    headers: tuple[tuple[bytes, bytes], ...] = ()


def problem(status: int, code: str, detail: str, **extra: object) -> Reply:
    return Reply(status, problem_body(status, code, detail, **extra), PROBLEM_JSON)


def contract_problem(err: ContractError) -> Reply:
    return problem(STATUS_BY_CODE.get(err.code, HTTPStatus.BAD_REQUEST), err.code, err.message)


def ante_problem(err: AnteError) -> Reply:
    return problem(
        STATUS_BY_ANTE_ERROR.get(err.error, HTTPStatus.BAD_REQUEST),
        err.error,
        err.log,
        tx_code=err.code,
        codespace=err.codespace,
    )


def rate_limited(limiter: RateLimiter, scope: Scope) -> Reply | None:
    """The 429 for a client over its tx rate (see :mod:`~worker_manager.api.rate_limit`)."""
    client = scope.get("client")
    wait = limiter.allow(client[0] if client else "unknown")
    if wait is None:
        return None
    retry = limiter.retry_after(wait)
    answer = problem(
        429,
        "rate_limited",
        f"this client sent more than {limiter.rate:g} txs a second (bursts of "
        f"{limiter.burst}); retry in {retry}s",
    )
    return Reply(answer.status, answer.body, answer.media_type, ((b"retry-after", retry.encode()),))


def query_message(name: str, **fields: Any) -> bytes:
    """Canonical bytes of a query (so equal GETs share one cache entry)."""
    body = {k: v for k, v in fields.items() if v is not None}
    return json.dumps({name: body}, separators=(",", ":"), sort_keys=True).encode()


async def query(node: Node, body: bytes) -> Reply:
    """The contract's answer to query ``body``, from the cache when it can be."""
    hit = node.cached_query(body)
    if hit is not None:
        return Reply(200, hit)
    if len(body) > MAX_QUERY_BYTES:
        return problem(
            400, "invalid_message", f"query is {len(body)} bytes; the limit is {MAX_QUERY_BYTES}"
        )
    try:
        return Reply(200, await run_in_threadpool(node.query, body))
    except ContractError as err:
        return contract_problem(err)


#: ``GET /v1/urls`` query strings whose parsed form is kept (each at most this long,
#: so the memory they take stays bounded whatever clients send)
KEPT_QUERY_STRINGS = 16_384
MAX_KEPT_QUERY_STRING = 512


def urls_message(query_string: bytes) -> bytes | Reply:
    """The canonical query of ``GET /v1/urls?...``, or the problem with its parameters."""
    if len(query_string) > MAX_KEPT_QUERY_STRING:
        return _urls_message(query_string)
    return _kept_urls_message(query_string)


def _urls_message(query_string: bytes) -> bytes | Reply:
    params = parse_qs(query_string.decode("latin-1"))
    model = params.get("model", [None])[-1]
    subscriber = params.get("subscriber", [None])[-1]
    limit_text = params.get("limit", [None])[-1]
    limit = None
    if limit_text is not None:
        if not (limit_text.isascii() and limit_text.isdigit()) or int(limit_text) < 1:
            return problem(422, "invalid_request", "limit must be a whole number, at least 1")
        limit = int(limit_text)
    return query_message("get_urls", model=model, subscriber=subscriber, limit=limit)


#: a pure function of the query string: subscribers repeat theirs
_kept_urls_message = functools.lru_cache(maxsize=KEPT_QUERY_STRINGS)(_urls_message)


async def urls(node: Node, query_string: bytes) -> Reply:
    message = urls_message(query_string)
    if isinstance(message, Reply):
        return message
    return await query(node, message)


def _tx_request(raw: bytes) -> tuple[bytes, bool] | Reply:
    """(tx bytes, wait) from the body, or the problem to answer."""
    try:
        data = load_json(raw)
    except ContractError as err:
        return problem(422, "invalid_request", f"the body is not acceptable JSON: {err.message}")
    if not isinstance(data, dict) or not set(data) <= {"tx_bytes", "mode"}:
        return problem(422, "invalid_request", 'expected {"tx_bytes": base64, "mode": sync|commit}')
    mode = data.get("mode", "sync")
    if mode not in ("sync", "commit"):
        return problem(422, "invalid_request", f"mode must be sync or commit, not {mode!r}")
    encoded = data.get("tx_bytes")
    if not isinstance(encoded, str):
        return problem(422, "invalid_request", "tx_bytes (base64 text) is required")
    try:
        tx_bytes = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        return problem(400, "tx_decode", "tx_bytes is not valid base64", tx_code=2, codespace="sdk")
    return tx_bytes, mode == "commit"


async def broadcast(node: Node, raw: bytes) -> Reply:
    """Check and queue a signed tx; with ``mode: commit``, wait for its block's result."""
    parsed = _tx_request(raw)
    if isinstance(parsed, Reply):
        return parsed
    tx_bytes, wait = parsed
    pipeline = node.pipeline
    try:
        pending = pipeline.check(tx_bytes)
        if pipeline.needs_examining(pending):  # a quote to check: milliseconds, off the loop
            await run_in_threadpool(pipeline.examine, pending)
        pipeline.admit(pending)
    except AnteError as err:
        return ante_problem(err)
    if not wait:
        return Reply(200, b'{"txhash":"%s","code":0,"status":"queued"}' % pending.hash.encode())
    return await _committed(pending)


async def _committed(pending: PendingTx) -> Reply:
    """The tx's block result, or the problem that kept it out of a block."""
    try:
        result = await asyncio.wait_for(asyncio.wrap_future(pending.future), COMMIT_TIMEOUT_S)
    except BlockWriteFailed as exc:
        return problem(
            503,
            "node_unavailable",
            f"tx {pending.hash} was not committed: {exc}; nothing of it was kept (its "
            "sequence is free), so send it again later",
            txhash=pending.hash,
        )
    except TxUnwritable as exc:
        return problem(422, "tx_unwritable", str(exc), txhash=pending.hash)
    except TimeoutError:
        return problem(
            504,
            "commit_timeout",
            f"tx {pending.hash} is queued but its block did not commit within "
            f"{COMMIT_TIMEOUT_S:.0f}s; look it up later",
            txhash=pending.hash,
        )
    return Reply(200, json.dumps(tx_result_json(result), separators=(",", ":")).encode())


Handler = Callable[[Node, bytes, bytes], Awaitable[Reply]]


async def _answer(handler: Handler, node: Node, body: bytes, scope: Scope) -> Reply:
    try:
        return await handler(node, body, scope.get("query_string", b""))
    except ServiceUnavailable as exc:  # the database cannot answer now: never a 500
        node.metrics.database_error("request")
        return problem(HTTPStatus.SERVICE_UNAVAILABLE, "node_unavailable", str(exc))


async def _query_route(node: Node, body: bytes, _qs: bytes) -> Reply:
    return await query(node, body)


async def _broadcast_route(node: Node, body: bytes, _qs: bytes) -> Reply:
    return await broadcast(node, body)


async def _models_route(node: Node, _body: bytes, _qs: bytes) -> Reply:
    return await query(node, query_message("get_models"))


async def _urls_route(node: Node, _body: bytes, qs: bytes) -> Reply:
    return await urls(node, qs)


#: Routes that write, and so spend the client's tx rate.
WRITE_ROUTES = frozenset({("POST", "/v1/txs")})

ROUTES: dict[tuple[str, str], Handler] = {
    ("POST", "/v1/query"): _query_route,
    ("POST", "/v1/txs"): _broadcast_route,
    ("GET", "/v1/models"): _models_route,
    ("GET", "/v1/urls"): _urls_route,
}


class HotPaths:
    """ASGI front door: serves :data:`ROUTES` itself, passes everything else on."""

    def __init__(self, app: ASGIApp, node: Node, *, max_body: int, tx_limiter: RateLimiter) -> None:
        self.app = app
        self.node = node
        self.max_body = max_body
        self.tx_limiter = tx_limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            route = (scope["method"], scope["path"])
            handler = ROUTES.get(route)
            if handler is not None:
                limited = rate_limited(self.tx_limiter, scope) if route in WRITE_ROUTES else None
                body = None if limited else await self._body(receive)
                if limited is not None:
                    answer = limited
                elif body is None:
                    answer = problem(
                        413, "request_too_large", f"the body is over {self.max_body} bytes"
                    )
                else:
                    answer = await _answer(handler, self.node, body, scope)
                await _send(send, answer)
                return
            if scope["method"] == "GET" and scope["path"].startswith(hot_secret.PATH_PREFIX):
                sealed = await _sealed_answer(self.node, scope)
                if sealed is not None:
                    await _send(send, Reply(200, sealed))
                    return
        await self.app(scope, receive, send)

    async def _body(self, receive: Receive) -> bytes | None:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return b""
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)


async def _sealed_answer(node: Node, scope: Scope) -> bytes | None:
    return await hot_secret.encrypted_query(node, scope["path"], scope.get("query_string", b""))


async def _send(send: Send, answer: Reply) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": answer.status,
            "headers": [
                (b"content-type", answer.media_type.encode()),
                (b"content-length", str(len(answer.body)).encode()),
                *answer.headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": answer.body})
