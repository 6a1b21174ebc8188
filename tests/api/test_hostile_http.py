"""Every route, native and Secret-compatible, under hostile input: no answer is a 5xx,
every error has the route family's error shape, and the connection stays usable.

The cases are generated from the app's own route table, so a new route is covered
the day it is added: hostile path segments (raw surrogate bytes, invalid UTF-8,
integers past 64 bits, encoded slashes, NULs, 5,000 characters), hostile query
values, hostile bodies (10,000 levels of nesting, lone surrogates escaped and raw,
huge numbers) and every wrong method.
"""

import json
import re
import socket
from collections.abc import Iterator
from typing import Any

import h11
import httpx
import pytest
from fastapi.routing import APIRoute

from tests.conftest import ADMIN, register_msg
from tests.helpers import ex
from worker_manager.api.app import create_api
from worker_manager.node import Node
from worker_manager.tx.records import TxRecord

LCD_PREFIXES = ("/cosmos", "/compute", "/registration")
METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH")

HOSTILE_SEGMENTS = (
    "%ED%A0%80",  # a lone surrogate as raw (CESU-8) bytes
    "%F0%28%8C%28",  # invalid UTF-8
    "%00",
    "99999999999999999999",
    "-1",
    "1e999",
    "%2F",
    "a%2Fb",
    "%2E%2E",
    "x" * 5000,
    "%25",
    "%C0%AF",
)
HOSTILE_QUERY_VALUES = (*HOSTILE_SEGMENTS, "", "0", "18446744073709551616")
HOSTILE_BODIES = (
    b'{"get_models":' + b"[" * 10_000 + b"]" * 10_000 + b"}",
    b"[" * 10_000 + b"]" * 10_000,
    b'{"get_worker":{"ip_address":"\\ud800"}}',
    b'{"get_worker":{"ip_address":"\xed\xa0\x80"}}',
    b'{"get_u_r_ls":{"limit":' + b"9" * 5000 + b"}}",
    b'{"get_u_r_ls":{"limit":1e999}}',
    b'{"get_u_r_ls":{"limit":NaN}}',
    b'{"tx_bytes":"\\ud800","mode":"commit"}',
    b'{"tx_bytes":"AAAA","mode":"\\udfff"}',
    b'{"tx_bytes":' + b"[" * 10_000 + b"]" * 10_000 + b"}",
    b"\xff" * 64,
    b"",
    b"null",
)


def _flatten(routes: list[Any]) -> Iterator[Any]:
    for route in routes:
        included = getattr(route, "original_router", None)  # FastAPI's included routers
        yield from _flatten(included.routes) if included is not None else (route,)


def _routes() -> list[APIRoute]:
    """The app's served routes (built over no node: only the table is read). The LCD's
    catch-all for Cosmos routes this node does not serve answers 501 by design."""
    app = create_api(None)  # type: ignore[arg-type]
    return [
        r
        for r in _flatten(app.routes)
        if isinstance(r, APIRoute) and not r.path.endswith("{rest:path}")
    ]


def _is_lcd(path: str) -> bool:
    return path.startswith(LCD_PREFIXES)


def _fill(path: str, value: str) -> str:
    return re.sub(r"\{[^}]+\}", value, path)


def _hostile_urls() -> Iterator[tuple[str, str]]:
    seen: set[tuple[str, str]] = set()
    for route in _routes():
        query_names = [p.alias for p in route.dependant.query_params] or ["query", "limit"]
        for method in sorted(route.methods or ()):
            targets = [_fill(route.path, v) for v in HOSTILE_SEGMENTS] if "{" in route.path else []
            plain = _fill(route.path, "10.0.0.1")
            targets += [f"{plain}?{name}={v}" for name in query_names for v in HOSTILE_QUERY_VALUES]
            for target in targets:
                if (method, target) not in seen:
                    seen.add((method, target))
                    yield method, target


def _check_error_shape(r: httpx.Response, path: str) -> None:
    if r.status_code < 400:
        return
    body = r.json()
    if _is_lcd(path):
        assert set(body) == {"code", "message", "details"}, r.text
    else:
        assert r.headers["content-type"] == "application/problem+json", r.text
        assert body["status"] == r.status_code
        assert re.fullmatch(r"[a-z_]+", body["code"]), body


@pytest.fixture
def served(base_url: str, node: Node) -> str:
    """The test node (built as ``serve`` builds it) with a worker."""
    ex(node, ADMIN, register_msg("10.0.0.1", worker_type="llama3.3:70b"))
    return base_url


def test_hostile_paths_and_query_strings_get_4xx_never_5xx(served: str) -> None:
    failures = []
    count = 0
    with httpx.Client(base_url=served, timeout=30) as client:
        for method, target in _hostile_urls():
            r = client.request(method, target)
            count += 1
            if r.status_code >= 500:
                failures.append(f"{method} {target[:120]} -> {r.status_code} {r.text[:200]}")
            else:
                _check_error_shape(r, target)
    assert not failures, "\n".join(failures)
    assert count > 400


def test_hostile_bodies_get_4xx_never_5xx(served: str) -> None:
    failures = []
    with httpx.Client(base_url=served, timeout=30) as client:
        for route in _routes():
            if "POST" not in (route.methods or ()) or "{" in route.path:
                continue
            for body in HOSTILE_BODIES:
                r = client.post(route.path, content=body)
                if r.status_code >= 500:
                    failures.append(f"POST {route.path} {body[:60]!r} -> {r.status_code} {r.text}")
                else:
                    assert r.status_code >= 400, (route.path, body[:60], r.text)
                    _check_error_shape(r, route.path)
    assert not failures, "\n".join(failures)


def _wrong_methods() -> Iterator[tuple[str, str, set[str]]]:
    by_path: dict[str, set[str]] = {}
    for route in _routes():
        if "{rest" in route.path:
            continue  # the LCD's catch-all for routes it does not serve
        by_path.setdefault(route.path, set()).update(route.methods or ())
    for path, allowed in sorted(by_path.items()):
        for method in METHODS:
            if method not in allowed:
                yield method, _fill(path, "AB" * 32), allowed


def test_a_wrong_method_on_a_served_route_is_405(base_url: str) -> None:
    cases = list(_wrong_methods())
    assert len(cases) > 60
    with httpx.Client(base_url=base_url, timeout=30) as client:
        for method, path, allowed in cases:
            r = client.request(method, path)
            assert r.status_code == 405, (method, path, r.text)
            assert set(r.headers["allow"].replace(" ", "").split(",")) >= allowed, (method, path)
            _check_error_shape(r, path)


@pytest.mark.parametrize("path", ["/nope", "/v1/nope", "/v1/workers/a/b/c", "/%ED%A0%80"])
def test_unknown_routes_are_problem_json_404(base_url: str, path: str) -> None:
    r = httpx.get(f"{base_url}{path}")
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["code"] == "not_found"


@pytest.mark.parametrize(
    "path",
    [
        "/v1/blocks/99999999999999999999",
        "/v1/blocks/9223372036854775808",
        "/v1/blocks/%C2%B2",  # a superscript two: a digit to str.isdigit, not to int()
        "/v1/txs/%ED%A0%80",
    ],
)
def test_numbers_and_hashes_past_their_range_are_400(base_url: str, path: str) -> None:
    r = httpx.get(f"{base_url}{path}")
    assert r.status_code == 400, r.text
    assert r.json()["code"] == "invalid_request"


def test_a_committed_tx_holding_odd_text_is_always_retrievable(base_url: str, node: Node) -> None:
    """Text that reached the log before the ante refused it (or valid text that JSON
    must escape) still reads back as JSON."""
    odd = {"msg": {"set_worker_url": {"ip_address": "10.0.0.1", "url": "https://\ud800é😀"}}}
    record = TxRecord(
        hash="AB" * 32,
        height=1,
        tx_index=1,
        kind="internal",
        sender=ADMIN,
        sequence=None,
        tx_bytes=None,
        messages=json.dumps([odd]),
        code=3,
        codespace="compute",
        error="invalid_url",
        log="url https://\\ud800 is not valid",
        data=b"",
        events="[]",
        gas_wanted=0,
        gas_used=0,
        fee="{}",
        memo="",
        time_ns=node.block_time_ns,
        failed_msg_index=0,
    )
    with node.store.write() as session:
        session.ledger.insert_txs([record])
    r = httpx.get(f"{base_url}/v1/txs/{'ab' * 32}")
    assert r.status_code == 200, r.text
    assert r.json()["messages"] == [odd]
    r = httpx.get(f"{base_url}/v1/blocks/1")
    assert r.status_code == 200, r.text


def _exchange(sock: socket.socket, requests: list[h11.Request | tuple[h11.Request, bytes]]) -> Any:
    """Send requests one after another on one connection; return (status, body) of each."""
    conn = h11.Connection(our_role=h11.CLIENT)
    answers = []
    for item in requests:
        request, body = item if isinstance(item, tuple) else (item, b"")
        sock.sendall(conn.send(request))
        sock.sendall(conn.send(h11.Data(data=body)) if body else b"")
        sock.sendall(conn.send(h11.EndOfMessage()))
        status, chunks = 0, []
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                conn.receive_data(sock.recv(65536))
            elif isinstance(event, h11.Response):
                status = event.status_code
            elif isinstance(event, h11.Data):
                chunks.append(bytes(event.data))
            elif isinstance(event, h11.EndOfMessage):
                break
        answers.append((status, b"".join(chunks)))
        conn.start_next_cycle()
    return answers


def test_the_connection_stays_usable_after_hostile_requests(base_url: str) -> None:
    host, port = base_url.removeprefix("http://").split(":")
    deep = b'{"get_models":' + b"[" * 10_000 + b"]" * 10_000 + b"}"
    headers = [("Host", host), ("Content-Type", "application/json")]

    def post(path: str, body: bytes) -> tuple[h11.Request, bytes]:
        length = [("Content-Length", str(len(body)))]
        return h11.Request(method="POST", target=path, headers=headers + length), body

    def get(path: str) -> h11.Request:
        return h11.Request(method="GET", target=path, headers=headers)

    with socket.create_connection((host, int(port)), timeout=10) as sock:
        answers = _exchange(
            sock,
            [
                post("/v1/query", deep),
                get("/v1/blocks/99999999999999999999"),
                post("/v1/query", b'{"get_worker":{"ip_address":"\xed\xa0\x80"}}'),
                h11.Request(method="DELETE", target="/v1/txs", headers=headers),
                get("/healthz"),
            ],
        )
    assert [status for status, _ in answers] == [400, 400, 400, 405, 200]
    assert json.loads(answers[-1][1])["status"] == "ok"
