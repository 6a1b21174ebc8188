"""A bare Starlette app answering constant bytes to any GET or POST (reading the body):
the yardstick each node path is measured beside, with the same requests."""

import os
import sys

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

BODY = b"x" * int(os.environ.get("BARE_BODY_BYTES", "100"))


async def constant(request: Request) -> Response:
    await request.body()
    return Response(BODY, media_type="application/json")


app = Starlette(routes=[Route("/{path:path}", constant, methods=["GET", "POST"])])

if __name__ == "__main__":
    import uvicorn

    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
