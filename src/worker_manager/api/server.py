"""Running the HTTP app under uvicorn, with a clean exit on SIGTERM and Ctrl-C."""

import contextlib
import signal
import threading
from collections.abc import Iterator

import uvicorn
from starlette.types import ASGIApp

_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class _Server(uvicorn.Server):
    """uvicorn's server, but a stop signal ends in a normal return (exit code 0) instead of
    being re-raised after shutdown, so the caller can close the store and log that it stopped."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in _STOP_SIGNALS}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def run_server(app: ASGIApp, *, host: str, port: int, log_level: str) -> None:
    """Serve ``app`` until SIGINT or SIGTERM, then return after a graceful shutdown."""
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        access_log=log_level == "debug",
        server_header=False,
        log_config=None,
    )
    _Server(config).run()
