"""Pinned HTTPS clients against two real HTTPS servers on 127.0.0.1 with self-signed
certificates: the pinned one answers, the other is dropped after the handshake with no
request sent; by key (SPKI) and by certificate, sync and async."""

import asyncio
import dataclasses
import ssl
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse
from starlette.routing import Route

from worker_manager.client import (
    Endpoint,
    NotPinnable,
    Pin,
    PinMismatch,
    WorkerManagerError,
    pinned_async_client,
    pinned_client,
)

from .servers import Tls, endpoint_for, self_signed, serve

BINDINGS = {"spki": "secretvm_tls:spki", "certificate": "secretvm_tls:certificate"}


class Counting:
    """An app that answers its name and counts the requests it got."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.requests = 0

    async def hello(self, request: Request) -> PlainTextResponse:
        self.requests += 1
        return PlainTextResponse(self.name)

    async def downgrade(self, request: Request) -> RedirectResponse:
        return RedirectResponse(f"http://127.0.0.1:{request.url.port}/hello")

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/hello", self.hello), Route("/downgrade", self.downgrade)])


@dataclasses.dataclass
class Server:
    url: str
    tls: Tls
    app: Counting


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Server]]:
    """A and B with their own keys, and A2: A's key in a re-issued certificate."""
    folder: Path = tmp_path_factory.mktemp("tls")
    a = self_signed(folder, "a")
    tls = {"a": a, "b": self_signed(folder, "b"), "a2": self_signed(folder, "a", a.key, serial=2)}
    apps = {name: Counting(name) for name in tls}
    with (
        serve(apps["a"].app(), tls["a"]) as url_a,
        serve(apps["b"].app(), tls["b"]) as url_b,
        serve(apps["a2"].app(), tls["a2"]) as url_a2,
    ):
        urls = {"a": url_a, "b": url_b, "a2": url_a2}
        yield {name: Server(urls[name], tls[name], apps[name]) for name in tls}


def pinned_to_a(servers: dict[str, Server], kind: str) -> Endpoint:
    a = servers["a"]
    return endpoint_for(a.url, a.tls, binding=BINDINGS[kind])


@pytest.mark.parametrize("kind", ["spki", "certificate"])
def test_a_pinned_client_reaches_its_server_and_refuses_another(
    servers: dict[str, Server], kind: str
) -> None:
    endpoint = pinned_to_a(servers, kind)
    assert endpoint.pin is not None
    assert endpoint.pin.kind == kind
    b = servers["b"]
    before = b.app.requests
    with pinned_client(endpoint, timeout=10) as http:
        answer = http.get("/hello")
        assert (answer.status_code, answer.text) == (200, "a")
        with pytest.raises(PinMismatch) as caught:
            http.get(f"{b.url}/hello")
    assert b.app.requests == before, "a request reached the server that was not pinned"
    mismatch = caught.value
    seen = b.tls.spki_sha256 if kind == "spki" else b.tls.certificate_sha256
    assert (mismatch.kind, mismatch.expected, mismatch.seen) == (kind, endpoint.pin.sha256, seen)
    assert isinstance(mismatch, ssl.SSLError)
    assert isinstance(mismatch, WorkerManagerError)
    assert isinstance(mismatch.__cause__, httpx.ConnectError)


@pytest.mark.parametrize("kind", ["spki", "certificate"])
def test_the_async_pinned_client_reaches_its_server_and_refuses_another(
    servers: dict[str, Server], kind: str
) -> None:
    endpoint = pinned_to_a(servers, kind)
    b = servers["b"]
    before = b.app.requests

    async def scenario() -> tuple[str, PinMismatch]:
        async with pinned_async_client(endpoint, timeout=10) as http:
            answer = await http.get("/hello")
            with pytest.raises(PinMismatch) as caught:
                await http.get(f"{b.url}/hello")
            return answer.text, caught.value

    text, mismatch = asyncio.run(scenario())
    assert text == "a"
    assert b.app.requests == before, "a request reached the server that was not pinned"
    assert mismatch.seen == (b.tls.spki_sha256 if kind == "spki" else b.tls.certificate_sha256)


def test_a_key_pin_survives_a_reissued_certificate_a_certificate_pin_does_not(
    servers: dict[str, Server],
) -> None:
    a2 = servers["a2"]
    assert a2.tls.spki_sha256 == servers["a"].tls.spki_sha256
    assert a2.tls.certificate_sha256 != servers["a"].tls.certificate_sha256
    before = a2.app.requests
    with pinned_client(pinned_to_a(servers, "spki"), timeout=10) as http:
        assert http.get(f"{a2.url}/hello").text == "a2"
    with (
        pinned_client(pinned_to_a(servers, "certificate"), timeout=10) as http,
        pytest.raises(PinMismatch),
    ):
        http.get(f"{a2.url}/hello")
    assert a2.app.requests == before + 1


def test_a_pin_may_be_given_alone(servers: dict[str, Server]) -> None:
    a = servers["a"]
    with pinned_client(Pin("spki", a.tls.spki_sha256), base_url=a.url, timeout=10) as http:
        assert http.get("/hello").text == "a"


@pytest.mark.parametrize("async_client", [False, True], ids=["sync", "async"])
def test_an_endpoint_without_a_pin_is_refused_up_front(
    servers: dict[str, Server], async_client: bool
) -> None:
    make = pinned_async_client if async_client else pinned_client
    unbound = dataclasses.replace(
        pinned_to_a(servers, "spki"), tls_binding=None, spki_sha256=None, certificate_sha256=None
    )
    with pytest.raises(NotPinnable, match="binds no TLS certificate"):
        make(unbound)
    unseen = dataclasses.replace(unbound, tls_binding="secretvm_tls:spki")
    with pytest.raises(ValueError, match="not pinnable"):
        make(unseen)


def test_plain_http_redirects_to_it_and_bypassing_arguments_are_refused(
    servers: dict[str, Server],
) -> None:
    endpoint = pinned_to_a(servers, "spki")
    with pinned_client(endpoint) as http, pytest.raises(NotPinnable, match="only https"):
        http.get("http://127.0.0.1:9/hello")
    with (
        pinned_client(endpoint, follow_redirects=True, timeout=10) as http,
        pytest.raises(NotPinnable, match="only https"),
    ):
        http.get("/downgrade")

    async def downgraded() -> None:
        async with pinned_async_client(endpoint, follow_redirects=True, timeout=10) as http:
            await http.get("/downgrade")

    with pytest.raises(NotPinnable, match="only https"):
        asyncio.run(downgraded())
    for bypass in ({"verify": False}, {"transport": httpx.HTTPTransport()}, {"mounts": {}}):
        with pytest.raises(TypeError, match="sets its own TLS checks"):
            pinned_client(endpoint, **bypass)
