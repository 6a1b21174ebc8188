"""A real node on a clock the test moves, served over HTTP on 127.0.0.1, with the
agent's worker registered; small real HTTP servers standing in for a metering proxy."""

import http.server
import random
import socket
import socketserver
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ADMIN, API, CHAIN_ID, GENESIS_NS, WORKER_KEY, make_node, register_msg
from tests.helpers import ex
from tests.server_thread import ServerThread
from worker_manager.agent.backoff import Backoff
from worker_manager.agent.config import AgentConfig
from worker_manager.agent.queue import ReportQueue
from worker_manager.agent.reporting import Reporter
from worker_manager.agent.usage import UsageReader
from worker_manager.client import Client
from worker_manager.node import FixedClock, Node
from worker_manager.store import Store

IP = "10.7.0.9:21434"
#: 2026-01-01T00:00:00Z: a whole number of hours, so of 10 s and 2 s periods too.
GENESIS_S = GENESIS_NS // 1_000_000_000


@dataclass
class ClockedNode:
    node: Node
    clock: FixedClock
    url: str

    def now(self) -> float:
        return self.clock.now_ns() / 1e9

    def set_time(self, seconds: float) -> None:
        self.clock.advance(seconds - self.now())

    def set_config(self, **settings: int) -> None:
        ex(self.node, ADMIN, {"set_config": settings})


@pytest.fixture
def test_node(tmp_path: Path) -> Iterator[ClockedNode]:
    """A node on SQLite whose clock moves only when the test says, the agent's worker
    registered with ``WORKER_KEY`` as its worker key."""
    store = Store(f"sqlite:///{tmp_path / 'node.db'}")
    store.migrate()
    clock = FixedClock(GENESIS_NS)
    Node.genesis(store, chain_id=CHAIN_ID, admin=ADMIN, clock=clock, api=API)
    node = make_node(store, clock)
    ex(node, ADMIN, register_msg(IP, worker_public_key=WORKER_KEY.public_key.hex()))
    with ServerThread(node) as url:
        yield ClockedNode(node, clock, url)
    node.close()
    store.close()


def agent_config(tmp_path: Path, node_url: str, **usage: str) -> AgentConfig:
    """The agent's config, its key file written with mode 0600."""
    key_file = tmp_path / "worker.key"
    key_file.write_text(WORKER_KEY.secret.hex())
    key_file.chmod(0o600)
    return AgentConfig.from_dict(
        {
            "node": node_url,
            "ip_address": IP,
            "state_dir": "state",
            "settle_seconds": 1,
            "key": {"file": "worker.key", "worker_key": True},
            "usage": usage,
        },
        base=tmp_path,
    )


@dataclass
class Reporting:
    """A :class:`Reporter` wired to the test node, stepped by hand."""

    reporter: Reporter
    queue: ReportQueue
    client: Client
    state: Path

    def pending(self) -> list[int]:
        return [r.period for r in self.queue.pending()]

    def aside(self, where: str) -> list[Path]:
        return sorted((self.state / where).glob("*.json"))


@pytest.fixture
def reporting(tmp_path: Path, test_node: ClockedNode) -> Iterator[Callable[..., Reporting]]:
    clients: list[Client] = []

    def make(*, timeout: float = 2.0, **usage: str) -> Reporting:
        config = agent_config(tmp_path, test_node.url, **usage)
        client = Client(test_node.url, key=WORKER_KEY, timeout=5)
        clients.append(client)
        queue = ReportQueue(config.state_dir)
        registered = threading.Event()
        registered.set()
        reporter = Reporter(
            config,
            client,
            WORKER_KEY,
            queue,
            UsageReader(config.usage_file, config.usage_url, timeout=timeout),
            stopping=threading.Event(),
            registered=registered,
            backoff=Backoff(random.Random(1)),
            clock=test_node.now,
        )
        return Reporting(reporter, queue, client, config.state_dir)

    yield make
    for client in clients:
        client.close()


@dataclass
class Metering:
    """A metering endpoint on 127.0.0.1 whose behaviour the test sets: ``ok`` (answer
    ``body``), ``fail`` (HTTP 500), ``hang`` (never answer), ``drip`` (a byte every
    0.1 s, never done) or ``garbage`` (bytes)."""

    url: str
    mode: str = "ok"
    body: str = ""
    asked: list[str] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)


@pytest.fixture
def metering() -> Iterator[Metering]:
    state = Metering(url="")

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.asked.append(self.path)
            if state.mode == "hang":
                state.release.wait(30)
                return
            if state.mode == "drip":
                self.send_response(200)
                self.send_header("Content-Length", "1000000")
                self.end_headers()
                while not state.release.wait(0.1):
                    self.wfile.write(b" ")
                    self.wfile.flush()
                return
            status, body = {
                "ok": (200, state.body.encode()),
                "fail": (500, b"internal error"),
                "garbage": (200, bytes(range(256)) * 4),
            }[state.mode]
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: Any) -> None:
            pass

    class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
        daemon_threads = True

    server = Server(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/usage"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    state.release.set()
    server.shutdown()
    server.server_close()


class SilentServer:
    """Accepts connections on 127.0.0.1 and never answers; counts what it accepted."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.accepted: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:  # closed
                return
            self.accepted.append(conn)

    def close(self) -> None:
        self.listener.close()
        for conn in self.accepted:
            conn.close()
