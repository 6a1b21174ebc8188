"""What every request passes first: its request id, and its latency by route.

:class:`Observed` is a pure ASGI middleware around the whole app (the lean front door
of :mod:`~worker_manager.api.hot` and the FastAPI routes behind it):

- it gives each request an id: a sane incoming ``X-Request-Id`` (1-64 characters of
  ``A-Za-z0-9._-``) or a new one; it is set in :data:`worker_manager.logs.REQUEST_ID`
  while the request is handled, so each log line it causes carries it, and is sent back
  in the ``X-Request-Id`` response header;
- it times the request into ``worker_manager_http_request_duration_seconds``, labelled
  with the route's template (``/v1/txs/{tx_hash}``), never the raw path: a label value
  per path a client invents would let anyone grow the node's memory without bound.

``GET /metrics`` (:data:`router`) renders the node's registry in Prometheus' text format.
"""

import itertools
import os
import re
import time
from collections.abc import Callable

from fastapi import APIRouter, Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from worker_manager.api import hot, hot_secret
from worker_manager.logs import REQUEST_ID
from worker_manager.node import Node
from worker_manager.node.metrics import CONTENT_TYPE, UNMATCHED

HEADER = b"x-request-id"
_SANE_ID = re.compile(rb"[A-Za-z0-9._-]{1,64}")
#: The front door's routes are their own templates.
_HOT_TEMPLATES = {(method, path): path for method, path in hot.ROUTES}
#: The LCD's template of the encrypted query the front door may answer itself.
SECRET_QUERY_TEMPLATE = hot_secret.PATH_PREFIX + "{address}"


def _id_source() -> Callable[[], str]:
    """New request ids: a random tag per process and a counter (unique, and cheap)."""
    tag = os.urandom(4).hex()
    counter = itertools.count(1)
    return lambda: f"{tag}-{next(counter):x}"


def route_template(scope: Scope) -> str:
    """The template of the route that answered (after the app ran), or ``unmatched``."""
    route = scope.get("route")
    if route is not None:
        path = getattr(route, "path", None)
        if isinstance(path, str):
            return path
    method, path = scope["method"], scope["path"]
    template = _HOT_TEMPLATES.get((method, path))
    if template is not None:
        return template
    if method == "GET" and path.startswith(hot_secret.PATH_PREFIX):
        return SECRET_QUERY_TEMPLATE  # answered by the front door, so its template
    return UNMATCHED


class Observed:
    """The outermost ASGI layer (see the module docstring). ``timed``: observe latency
    (off when ``[metrics] enabled = false``)."""

    def __init__(self, app: ASGIApp, node: Node, *, timed: bool = True) -> None:
        self.app = app
        self._latency = node.metrics.requests if timed else None
        self._new_id = _id_source()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = None
        for name, value in scope["headers"]:
            if name == HEADER:
                if _SANE_ID.fullmatch(value):
                    request_id = value.decode("ascii")
                break
        if request_id is None:
            request_id = self._new_id()
        header = (HEADER, request_id.encode("ascii"))

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        token = REQUEST_ID.set(request_id)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            REQUEST_ID.reset(token)
            if self._latency is not None:
                self._latency.observe(
                    scope["method"], route_template(scope), time.perf_counter() - started
                )


router = APIRouter()


@router.get(
    "/metrics",
    tags=["node"],
    summary="Prometheus metrics (text format 0.0.4)",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE: {}}}},
)
def metrics(request: Request) -> Response:
    """This node process's metrics in Prometheus' text exposition format (see
    docs/operations.md, Monitoring). Absent (404) when ``[metrics] enabled = false``."""
    node: Node = request.app.state.node
    return Response(node.metrics.render(), media_type=CONTENT_TYPE)
