"""Slow and idle HTTP clients against a real ``serve`` process, over raw sockets.

A connection that sends nothing, half its headers or less body than it announced is
closed after ``[server] request_timeout_s``; an idle kept-alive one after
``keep_alive_timeout_s``; and a crowd of idle sockets never keeps ``/healthz`` from
answering a new client.
"""

import os
import socket
import time
import tomllib
from collections.abc import Iterator
from io import BufferedReader
from pathlib import Path

import httpx
import pytest
import tomli_w

from tests.conftest import ADMIN
from tests.e2e.conftest import cli, free_port, start_serve, stop

REQUEST_TIMEOUT_S = 1
KEEP_ALIVE_TIMEOUT_S = 2
#: How long past a timeout the server may take to close (a loaded CI machine).
SLACK_S = 4
HEALTHZ = b"GET /healthz HTTP/1.1\r\nHost: node\r\n\r\n"
BAD_QUERY = b"POST /v1/query HTTP/1.1\r\nHost: node\r\nContent-Length: 1\r\n\r\n{"


def _home(tmp: Path, **server: int) -> tuple[Path, int]:
    """An initialised home on a free port, with ``server`` settings in its config.toml."""
    home, port = tmp / "home", free_port()
    cli(
        "init",
        "--home",
        str(home),
        "--chain-id",
        "wm-slow-1",
        "--admin",
        ADMIN,
        "--port",
        str(port),
    )
    config = tomllib.loads((home / "config.toml").read_text())
    config["server"].update(server)
    (home / "config.toml").write_text(tomli_w.dumps(config))
    return home, port


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Path]]:
    """A node with a 1 s request deadline and a 2 s keep-alive; yields (port, log)."""
    tmp = tmp_path_factory.mktemp("slow-clients")
    home, port = _home(
        tmp, request_timeout_s=REQUEST_TIMEOUT_S, keep_alive_timeout_s=KEEP_ALIVE_TIMEOUT_S
    )
    log_path = tmp / "serve.log"
    url = f"http://127.0.0.1:{port}"
    process = start_serve(["--home", str(home)], os.environ.copy(), log_path, url)
    try:
        yield port, log_path
    finally:
        stop(process)
    assert "Traceback" not in log_path.read_text()


def _connect(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=REQUEST_TIMEOUT_S + SLACK_S * 2)


def _until_closed(sock: socket.socket) -> tuple[bytes, float]:
    """Everything the server sends until it closes, and how long that took."""
    start = time.monotonic()
    received = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        received += chunk
    return received, time.monotonic() - start


def _read_answer(stream: BufferedReader) -> tuple[int, bytes]:
    """One HTTP/1.1 answer (status line, headers, Content-Length body) from ``stream``."""
    status_line = stream.readline()
    status = int(status_line.split()[1])
    length = 0
    while (line := stream.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        if name.strip().lower() == "content-length":
            length = int(value)
    return status, stream.read(length)


def test_a_connection_that_sends_nothing_is_closed_after_the_timeout(
    node: tuple[int, Path],
) -> None:
    with _connect(node[0]) as sock:
        received, waited = _until_closed(sock)
    assert received == b""
    assert REQUEST_TIMEOUT_S * 0.9 <= waited <= REQUEST_TIMEOUT_S + SLACK_S


def test_half_a_request_head_gets_408_and_is_closed(node: tuple[int, Path]) -> None:
    with _connect(node[0]) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: node\r\n")
        received, waited = _until_closed(sock)
    assert received.startswith(b"HTTP/1.1 408 ")
    assert b"connection: close" in received
    assert REQUEST_TIMEOUT_S * 0.9 <= waited <= REQUEST_TIMEOUT_S + SLACK_S


def test_a_body_shorter_than_its_content_length_is_cut_off(node: tuple[int, Path]) -> None:
    head = b"POST /v1/query HTTP/1.1\r\nHost: node\r\nContent-Type: application/json\r\n"
    with _connect(node[0]) as sock:
        sock.sendall(head + b"Content-Length: 100\r\n\r\n" + b'{"get_model')
        received, waited = _until_closed(sock)
    assert b" 200 " not in received
    assert REQUEST_TIMEOUT_S * 0.9 <= waited <= REQUEST_TIMEOUT_S + SLACK_S


def test_a_request_that_trickles_in_within_the_timeout_is_answered(
    node: tuple[int, Path],
) -> None:
    with _connect(node[0]) as sock, sock.makefile("rb") as stream:
        for piece in (b"GET /healthz HTTP/1.1\r\n", b"Host: node\r\n", b"\r\n"):
            sock.sendall(piece)
            time.sleep(REQUEST_TIMEOUT_S / 4)  # the pace is the point of this test
        status, body = _read_answer(stream)
    assert status == 200
    assert b'"ok"' in body


def test_a_kept_alive_connection_serves_after_a_4xx_then_idles_out(
    node: tuple[int, Path],
) -> None:
    with _connect(node[0]) as sock, sock.makefile("rb") as stream:
        sock.sendall(BAD_QUERY + HEALTHZ)  # both requests at once, on one connection
        first, _ = _read_answer(stream)
        second, body = _read_answer(stream)
        assert (first, second) == (400, 200)
        assert b'"ok"' in body
        sock.sendall(HEALTHZ)
        assert _read_answer(stream)[0] == 200  # the request deadline re-armed and was met
        received, waited = _until_closed(sock)
    assert received == b""
    # uvicorn's own default is 5 s: the bound tells our setting from it
    assert KEEP_ALIVE_TIMEOUT_S * 0.9 <= waited < 5


def test_the_next_request_on_a_kept_alive_connection_has_a_deadline_too(
    node: tuple[int, Path],
) -> None:
    with _connect(node[0]) as sock, sock.makefile("rb") as stream:
        sock.sendall(HEALTHZ)
        assert _read_answer(stream)[0] == 200
        sock.sendall(b"GET /healthz HTTP/1.1\r\n")
        status, _ = _read_answer(stream)
    assert status == 408


#: Start ``worker-manager`` with a soft limit of 256 open files, below the crowd of
#: idle sockets the test opens; the hard limit stays.
_LOW_FILE_LIMIT = (
    "import resource, runpy, sys\n"
    "_soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)\n"
    "resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))\n"
    "sys.argv[0] = 'worker-manager'\n"
    "runpy.run_module('worker_manager', run_name='__main__')\n"
)
IDLE_SOCKETS = 500


@pytest.mark.slow
def test_five_hundred_idle_sockets_never_keep_healthz_from_answering(tmp_path: Path) -> None:
    home, port = _home(tmp_path)  # default deadlines: the crowd stays for 10 s
    url = f"http://127.0.0.1:{port}"
    process = start_serve(
        ["--home", str(home)],
        os.environ.copy(),
        tmp_path / "serve.log",
        url,
        python=("-c", _LOW_FILE_LIMIT),
    )
    crowd: list[socket.socket] = []
    try:
        for i in range(IDLE_SOCKETS):
            sock = socket.create_connection(("127.0.0.1", port), timeout=5)
            if i % 2:
                sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: node\r\n")  # half a head
            crowd.append(sock)
        started = time.monotonic()
        answer = httpx.get(f"{url}/healthz", timeout=1)
        assert answer.status_code == 200
        assert time.monotonic() - started < 1
    finally:
        for sock in crowd:
            sock.close()
        stop(process)
    assert "Traceback" not in (tmp_path / "serve.log").read_text()


def test_a_bad_server_timeout_in_the_config_is_named(tmp_path: Path) -> None:
    home, _ = _home(tmp_path, request_timeout_s=0)
    result = cli("serve", "--home", str(home), check=False, env=os.environ.copy())
    assert result.returncode == 2
    assert "[server] request_timeout_s must be a whole number in 1-3600" in result.stderr
