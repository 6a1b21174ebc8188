"""Errors as ``application/problem+json`` (RFC 9457) with a stable ``code``.

Routes never catch contract errors: one handler maps each code to an HTTP
status, so the same refusal always looks the same on the wire.
"""

import json
from http import HTTPStatus
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from worker_manager.contract import ContractError
from worker_manager.failures import ServiceUnavailable
from worker_manager.node.ante import AnteError

PROBLEM_JSON = "application/problem+json"

#: HTTP status per contract error code; anything else is a 400.
STATUS_BY_CODE: dict[str, int] = {
    "unauthorized": HTTPStatus.FORBIDDEN,
    "subscriber_not_allowed": HTTPStatus.FORBIDDEN,
    "invalid_signature": HTTPStatus.UNAUTHORIZED,
    "permit_refused": HTTPStatus.FORBIDDEN,
    "permit_revoked": HTTPStatus.FORBIDDEN,
    "worker_not_found": HTTPStatus.NOT_FOUND,
    "subscriber_not_found": HTTPStatus.NOT_FOUND,
    "worker_exists": HTTPStatus.CONFLICT,
    "worker_key_in_use": HTTPStatus.CONFLICT,
    "too_many_workers": HTTPStatus.CONFLICT,
    "subscriber_exists": HTTPStatus.CONFLICT,
    "paused": HTTPStatus.CONFLICT,
    "not_instantiated": HTTPStatus.SERVICE_UNAVAILABLE,
}


class SafeJSONResponse(JSONResponse):
    """JSON that always encodes: text the node holds from before it refused lone
    surrogates (or that reached it some other way) comes out as the ``\\ud800`` escape
    JSON defines, instead of failing the response with a 500."""

    def render(self, content: Any) -> bytes:
        text = json.dumps(content, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
        return text.encode("utf-8", "backslashreplace")


def problem_body(status: int, code: str, detail: str, **extra: object) -> bytes:
    """An RFC 9457 problem document with our stable ``code``."""
    body = {
        "type": f"urn:worker-manager:error:{code}",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "code": code,
        "detail": detail,
        **extra,
    }
    return json.dumps(body, separators=(",", ":")).encode()


def problem(
    status: int, code: str, detail: str, headers: dict[str, str] | None = None, **extra: object
) -> Response:
    return Response(
        problem_body(status, code, detail, **extra),
        status_code=status,
        media_type=PROBLEM_JSON,
        headers=headers,
    )


#: Stable codes for the HTTP layer's own refusals (no route, wrong method, ...).
CODE_BY_HTTP_STATUS: dict[int, str] = {
    HTTPStatus.NOT_FOUND: "not_found",
    HTTPStatus.METHOD_NOT_ALLOWED: "method_not_allowed",
    HTTPStatus.REQUEST_ENTITY_TOO_LARGE: "request_too_large",
}


async def http_error_handler(request: Request, exc: Exception) -> Response:
    """No route, a wrong method, ...: problem+json like every other answer."""
    assert isinstance(exc, HTTPException)
    status = exc.status_code
    code = CODE_BY_HTTP_STATUS.get(status, "http_error")
    if status == HTTPStatus.NOT_FOUND:
        detail = f"nothing is served at {request.url.path}; see /docs for the routes"
    elif status == HTTPStatus.METHOD_NOT_ALLOWED:
        allowed = (exc.headers or {}).get("Allow", "")
        detail = f"{request.method} is not allowed on {request.url.path}; allowed: {allowed}"
    else:
        detail = str(exc.detail)
    return problem(status, code, detail, headers=dict(exc.headers or {}))


async def contract_error_handler(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ContractError)
    return problem(STATUS_BY_CODE.get(exc.code, HTTPStatus.BAD_REQUEST), exc.code, exc.message)


#: HTTP status per ante refusal; anything else is a 400.
STATUS_BY_ANTE_ERROR: dict[str, int] = {
    "bad_signature": HTTPStatus.UNAUTHORIZED,
    "wrong_chain_id": HTTPStatus.UNAUTHORIZED,
    "wrong_account_number": HTTPStatus.UNAUTHORIZED,
    "invalid_pubkey": HTTPStatus.UNAUTHORIZED,
    "unauthorized": HTTPStatus.UNAUTHORIZED,
    "wrong_sequence": HTTPStatus.CONFLICT,
    "paused": HTTPStatus.CONFLICT,
    "tx_too_large": HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
    "mempool_full": HTTPStatus.SERVICE_UNAVAILABLE,
}


async def ante_error_handler(_request: Request, exc: Exception) -> Response:
    """A refused tx: our stable ``code`` plus the Cosmos ``tx_code``/``codespace``."""
    assert isinstance(exc, AnteError)
    return problem(
        STATUS_BY_ANTE_ERROR.get(exc.error, HTTPStatus.BAD_REQUEST),
        exc.error,
        exc.log,
        tx_code=exc.code,
        codespace=exc.codespace,
    )


#: Where the LCD routes live: their errors keep Secret's ``{code, message, details}``.
NATIVE_PREFIXES = ("/v1/", "/healthz", "/docs", "/openapi.json")
GRPC_UNAVAILABLE = 14


async def unavailable_handler(request: Request, exc: Exception) -> Response:
    """The database (or something else the node needs) cannot answer now: 503, never a
    500, on every route; the client may try again."""
    assert isinstance(exc, ServiceUnavailable)
    node = getattr(request.app.state, "node", None)
    if node is not None:
        node.metrics.database_error("request")
    if request.url.path.startswith(NATIVE_PREFIXES):
        return problem(HTTPStatus.SERVICE_UNAVAILABLE, "node_unavailable", str(exc))
    from worker_manager.lcd.errors import error_body

    return SafeJSONResponse(
        error_body(GRPC_UNAVAILABLE, str(exc)), status_code=HTTPStatus.SERVICE_UNAVAILABLE
    )
