"""The HTTP application: routes plus one error mapping, nothing else."""

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from worker_manager import __version__
from worker_manager.api import hot, observe, routes_node, routes_query, routes_tx
from worker_manager.api.dashboard import DashboardOptions, install_dashboard
from worker_manager.api.errors import (
    SafeJSONResponse,
    ante_error_handler,
    contract_error_handler,
    http_error_handler,
    problem,
    unavailable_handler,
)
from worker_manager.api.hot import HotPaths
from worker_manager.api.observe import Observed
from worker_manager.api.rate_limit import RateLimiter
from worker_manager.contract import ContractError
from worker_manager.failures import ServiceUnavailable
from worker_manager.lcd import routes as lcd_routes
from worker_manager.node import Node
from worker_manager.node.ante import AnteError


async def _validation_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    first = exc.errors()[0] if exc.errors() else {"msg": "invalid request"}
    where = ".".join(str(p) for p in first.get("loc", ()))
    return problem(422, "invalid_request", f"{where}: {first['msg']}" if where else first["msg"])


def create_api(
    node: Node,
    *,
    tx_limiter: RateLimiter | None = None,
    metrics: bool = True,
    dashboard: DashboardOptions | None = None,
) -> FastAPI:
    """The node's HTTP API as a FastAPI app (documented at ``/openapi.json``).

    ``tx_limiter`` caps each client's tx rate on the write routes (default: the
    defaults of :class:`~worker_manager.api.rate_limit.RateLimiter`); ``metrics``: serve
    ``GET /metrics`` (``[metrics] enabled``); ``dashboard``: serve the dashboard at ``/``
    and ``/dashboard/*`` (None: no dashboard; :mod:`~worker_manager.api.dashboard`)."""
    app = FastAPI(
        title="worker-manager",
        version=__version__,
        summary="The Secret AI WorkerManager: confidential GPU workers, their models and URLs.",
        default_response_class=SafeJSONResponse,
    )
    app.state.node = node
    app.state.tx_limiter = tx_limiter or RateLimiter()
    app.add_exception_handler(ContractError, contract_error_handler)
    app.add_exception_handler(AnteError, ante_error_handler)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, http_error_handler)
    app.add_exception_handler(ServiceUnavailable, unavailable_handler)
    app.include_router(routes_node.router)
    app.include_router(routes_query.router)
    app.include_router(routes_tx.router)
    app.include_router(lcd_routes.router)
    if metrics:
        app.include_router(observe.router)
    if dashboard is not None:
        install_dashboard(app, node, dashboard)
    return app


def create_app(
    node: Node,
    *,
    tx_limiter: RateLimiter | None = None,
    metrics: bool = True,
    dashboard: DashboardOptions | None = None,
) -> Observed:
    """What ``serve`` runs: the API behind the hot-path front door, behind the request
    ids and latency of :mod:`~worker_manager.api.observe`."""
    # room for a base64 tx somewhat over the limit, so it gets the ante check's tx_too_large
    max_body = max(hot.MAX_QUERY_BYTES, node.max_tx_bytes * 2 + 64 * 1024)
    limiter = tx_limiter or RateLimiter()
    api = create_api(node, tx_limiter=limiter, metrics=metrics, dashboard=dashboard)
    return Observed(HotPaths(api, node, max_body=max_body, tx_limiter=limiter), node, timed=metrics)
