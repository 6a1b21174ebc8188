"""A bare Starlette app returning constant bytes: the yardstick for the hot read paths."""

import os
import sys

from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route

BODY = b"x" * int(os.environ.get("BARE_BODY_BYTES", "100"))


async def constant(_request: object) -> Response:
    return Response(BODY, media_type="application/json")


app = Starlette(routes=[Route("/v1/urls", constant)])

if __name__ == "__main__":
    import uvicorn

    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
