"""Running the HTTP app under uvicorn: the port bound before anything else, slow and idle
clients cut off, and a clean exit on SIGTERM and Ctrl-C.

uvicorn closes a kept-alive connection that stays idle after an answer, but waits
forever for a request that never arrives whole: a connection that sends nothing,
half its headers, or less body than its Content-Length holds its socket until the
client goes away (checked against uvicorn 0.54). :class:`_DeadlineProtocol` gives each
request ``request_timeout_s`` to arrive, counted from the connection's start or from
the request's first byte.
"""

import asyncio
import contextlib
import errno
import logging
import resource
import signal
import socket
import threading
from collections.abc import Iterator
from typing import Any

import uvicorn
from starlette.types import ASGIApp
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from worker_manager.settings import Settings

log = logging.getLogger(__name__)

_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
BACKLOG = 2048
_TIMEOUT_TEXT = b"the request did not arrive in time\n"
_REQUEST_TIMEOUT = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain; charset=utf-8\r\n"
    b"content-length: %d\r\nconnection: close\r\n\r\n%s" % (len(_TIMEOUT_TEXT), _TIMEOUT_TEXT)
)
_REASONS = {
    errno.EADDRINUSE: "the port is taken (by another node, or another program)",
    errno.EACCES: "permission denied (ports below 1024 need privileges)",
    errno.EADDRNOTAVAIL: "the host is not an address of this machine",
}


class ListenError(RuntimeError):
    """The node cannot listen on its address; the message says why."""

    def __init__(self, host: str, port: int, reason: str, *, taken: bool = False) -> None:
        super().__init__(f"cannot listen on {host}:{port}: {reason}")
        self.host = host
        self.port = port
        self.taken = taken


def bind_listeners(host: str, port: int) -> list[socket.socket]:
    """Bind and listen on every address ``host`` names (as uvicorn would), so that a taken
    port is found out before the node touches its home. The caller closes them."""
    if not host.strip():
        raise ListenError(host, port, "the host is empty")
    if not 1 <= port <= 65535:
        raise ListenError(host, port, "the port is outside 1-65535")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise ListenError(host, port, f"unknown host ({exc.strerror})") from exc
    listeners: list[socket.socket] = []
    try:
        for family, kind, proto, _name, address in dict.fromkeys(infos):
            sock = socket.socket(family, kind, proto)
            listeners.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind(address)
            sock.listen(BACKLOG)  # now the port is ours: a second bind fails
    except OSError as exc:
        for sock in listeners:
            sock.close()
        reason = _REASONS.get(exc.errno or 0, exc.strerror or str(exc))
        raise ListenError(host, port, reason, taken=exc.errno == errno.EADDRINUSE) from exc
    return listeners


class _Config(uvicorn.Config):
    """uvicorn's config plus the request deadline :class:`_DeadlineProtocol` reads."""

    def __init__(self, app: ASGIApp, *, request_timeout_s: float, **options: Any) -> None:
        super().__init__(app, **options)
        self.request_timeout_s = request_timeout_s


class _DeadlineProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, plus a deadline for each request to arrive whole.

    On expiry a request still in its headers gets a 408 answer; one whose body is
    short is cut off (the app sees the client leave). Either way the socket closes.
    """

    def __init__(
        self,
        config: uvicorn.Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        assert isinstance(config, _Config)
        self._deadline_s = config.request_timeout_s
        self._deadline: asyncio.TimerHandle | None = None
        self._receiving = False  # a request has begun and not fully arrived

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._receiving = True
        if self._deadline is None:  # a kept-alive connection's next request
            self._arm()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._receiving = False
        self._disarm()

    def _arm(self) -> None:
        self._deadline = self.loop.call_later(self._deadline_s, self._expire)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expire(self) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        cycle = self.cycle  # the request's own cycle exists once its headers are in
        if self._receiving and (cycle is None or cycle.response_complete):
            self.transport.write(_REQUEST_TIMEOUT)
        self.transport.close()


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


def _lift_open_files_limit() -> None:
    """Raise the soft limit on open files to the hard one. Each client, idle or not,
    holds a descriptor until it leaves or times out; at a soft limit of 1024 a crowd of
    idle sockets would keep new connections, ``/healthz`` too, from being accepted."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
    if soft == resource.RLIM_INFINITY or soft >= target:
        return
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    except (ValueError, OSError) as exc:
        log.warning("could not raise the open files limit from %d to %d: %s", soft, target, exc)


def run_server(app: ASGIApp, listeners: list[socket.socket], settings: Settings) -> None:
    """Serve ``app`` on ``listeners`` (from :func:`bind_listeners`) until SIGINT or SIGTERM,
    then return after a graceful shutdown."""
    _lift_open_files_limit()
    config = _Config(
        app,
        request_timeout_s=settings.request_timeout_s,
        http=_DeadlineProtocol,
        ws="none",  # no websocket routes (docs/lcd.md): no upgrade escapes the deadline
        timeout_keep_alive=settings.keep_alive_timeout_s,
        backlog=BACKLOG,
        log_level=settings.log_level,
        access_log=settings.log_level == "debug",
        server_header=False,
        log_config=None,
    )
    _Server(config).run(sockets=listeners)
