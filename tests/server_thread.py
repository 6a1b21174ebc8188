"""A real uvicorn server on 127.0.0.1 (a free port), in a thread, around a test node."""

import threading
import time
from typing import Any

import uvicorn

from worker_manager.api import create_app
from worker_manager.api.app import create_api
from worker_manager.api.rate_limit import RateLimiter
from worker_manager.node import Node


class ServerThread:
    def __init__(
        self,
        node: Node,
        *,
        front_door: bool = True,
        tx_limiter: RateLimiter | None = None,
        metrics: bool = True,
    ) -> None:
        if front_door:
            app: Any = create_app(node, tx_limiter=tx_limiter, metrics=metrics)
        else:
            app = create_api(node, tx_limiter=tx_limiter, metrics=metrics)
        config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("test server did not start")
            time.sleep(0.01)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
