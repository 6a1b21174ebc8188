"""The HTTP application: routes plus one error mapping, nothing else."""

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.requests import Request
from starlette.responses import Response

from worker_manager import __version__
from worker_manager.api.errors import contract_error_handler, problem
from worker_manager.api.routes import router
from worker_manager.contract import ContractError
from worker_manager.node import Node


async def _validation_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    first = exc.errors()[0] if exc.errors() else {"msg": "invalid request"}
    where = ".".join(str(p) for p in first.get("loc", ()))
    return problem(422, "invalid_request", f"{where}: {first['msg']}" if where else first["msg"])


def create_app(node: Node) -> FastAPI:
    """The node's HTTP API. The node is shared by every request."""
    app = FastAPI(
        title="worker-manager",
        version=__version__,
        summary="The Secret AI WorkerManager: confidential GPU workers, their models and URLs.",
    )
    app.state.node = node
    app.add_exception_handler(ContractError, contract_error_handler)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.include_router(router)
    return app
