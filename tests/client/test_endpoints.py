"""``Client.endpoints`` against a real HTTP server serving a fixed ``GET /v1/endpoints``
answer: typed, strictly parsed, and the query string it sends."""

import asyncio
import copy
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from worker_manager.client import (
    AsyncClient,
    Client,
    Endpoint,
    EndpointAttestation,
    EndpointEvidence,
    NodeError,
    Pin,
    UnexpectedAnswer,
    WorkerManagerError,
)

from .servers import serve

CERT = "ab" * 32
SPKI = "cd" * 32
ENVELOPE = '{"tdx_quote":"0400","tls_certificate":"-----BEGIN CERTIFICATE-----\\n..."}'
ANSWER: dict[str, Any] = {
    "endpoints": [
        {
            "url": "https://127.0.0.1:8443",
            "ip_address": "127.0.0.1",
            "worker_type": "llama3",
            "tls_binding": "secretvm_tls:spki",
            "certificate_sha256": CERT,
            "spki_sha256": SPKI,
            "endpoint_checked_at": 1700000000,
            "attestation": {
                "status": "valid",
                "tcb_status": "UpToDate",
                "measurement_label": "prod",
                "binding": "secretvm_tls:spki",
                "verified_at": 1700000000,
                "collateral_sha256": "ee" * 32,
                "policy_sha256": "ff" * 32,
            },
            "evidence": {"attestation_report": ENVELOPE, "collateral_sha256": "ee" * 32},
        },
        {
            "url": "https://10.0.0.2:21434",
            "ip_address": "10.0.0.2",
            "worker_type": "llama3",
            "tls_binding": None,
            "certificate_sha256": None,
            "spki_sha256": None,
            "endpoint_checked_at": None,
            "attestation": {
                "status": "unchecked",
                "tcb_status": None,
                "measurement_label": None,
                "binding": None,
                "verified_at": None,
                "collateral_sha256": None,
                "policy_sha256": None,
            },
            "evidence": None,
        },
    ]
}
FIRST = Endpoint(
    url="https://127.0.0.1:8443",
    ip_address="127.0.0.1",
    worker_type="llama3",
    tls_binding="secretvm_tls:spki",
    certificate_sha256=CERT,
    spki_sha256=SPKI,
    endpoint_checked_at=1700000000,
    attestation=EndpointAttestation(
        status="valid",
        tcb_status="UpToDate",
        measurement_label="prod",
        binding="secretvm_tls:spki",
        verified_at=1700000000,
        collateral_sha256="ee" * 32,
        policy_sha256="ff" * 32,
    ),
    evidence=EndpointEvidence(attestation_report=ENVELOPE, collateral_sha256="ee" * 32),
)


class Fixed:
    """A node stand-in that answers ``GET /v1/endpoints`` with ``answer`` and records
    each query string it was sent."""

    def __init__(self) -> None:
        self.answer: Any = ANSWER
        self.status = 200
        self.queries: list[dict[str, str]] = []

    async def endpoints(self, request: Request) -> JSONResponse:
        self.queries.append(dict(request.query_params))
        return JSONResponse(self.answer, status_code=self.status)

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/v1/endpoints", self.endpoints)])


@pytest.fixture(scope="module")
def node() -> Iterator[tuple[Fixed, str]]:
    fixed = Fixed()
    with serve(fixed.app()) as url:
        yield fixed, url


@pytest.fixture
def fixed(node: tuple[Fixed, str]) -> Fixed:
    node[0].answer, node[0].status, node[0].queries = ANSWER, 200, []
    return node[0]


def test_endpoints_are_typed_in_the_node_order(node: tuple[Fixed, str], fixed: Fixed) -> None:
    with Client(node[1]) as client:
        found = client.endpoints("llama3", subscriber="02" + "11" * 32, evidence=True, limit=5)
        assert found[0] == FIRST
        assert [e.url for e in found] == ["https://127.0.0.1:8443", "https://10.0.0.2:21434"]
        assert found[0].pin == Pin("spki", SPKI)
        second = found[1]
        assert (second.tls_binding, second.pin, second.evidence) == (None, None, None)
        assert second.attestation is not None
        assert second.attestation.status == "unchecked"
        assert client.endpoints() == found
    assert fixed.queries == [
        {"model": "llama3", "subscriber": "02" + "11" * 32, "evidence": "true", "limit": "5"},
        {},
    ]


def test_the_async_client_reads_the_same_endpoints(node: tuple[Fixed, str], fixed: Fixed) -> None:
    async def scenario() -> list[Endpoint]:
        async with AsyncClient(node[1]) as client:
            return await client.endpoints(model="llama3", evidence=False)

    found = asyncio.run(scenario())
    assert found[0] == FIRST
    assert len(found) == 2
    assert fixed.queries == [{"model": "llama3"}]


def test_a_pin_follows_the_quote_binding() -> None:
    """spki is preferred, but a quote binding the whole certificate pins the certificate."""
    by_certificate = Endpoint.from_json(
        {**ANSWER["endpoints"][0], "tls_binding": "secretvm_tls:certificate"}
    )
    assert by_certificate.pin == Pin("certificate", CERT)
    only_certificate = Endpoint.from_json({**ANSWER["endpoints"][0], "spki_sha256": None})
    assert only_certificate.pin == Pin("certificate", CERT)


def _set(path: tuple[Any, ...], value: Any) -> Callable[[Any], Any]:
    def change(answer: Any) -> Any:
        target = answer
        for step in path[:-1]:
            target = target[step]
        target[path[-1]] = value
        return answer

    return change


def _drop(path: tuple[Any, ...]) -> Callable[[Any], Any]:
    def change(answer: Any) -> Any:
        target = answer
        for step in path[:-1]:
            target = target[step]
        del target[path[-1]]
        return answer

    return change


E0 = ("endpoints", 0)
MALFORMED: dict[str, Callable[[Any], Any]] = {
    "not-an-object": lambda _: ["endpoints"],
    "endpoints-not-a-list": _set(("endpoints",), {"a": 1}),
    "unknown-top-level-field": _set(("next_start_after",), None),
    "missing-field": _drop((*E0, "spki_sha256")),
    "unknown-field": _set((*E0, "port"), 8443),
    "url-not-a-string": _set((*E0, "url"), 8443),
    "url-null": _set((*E0, "url"), None),
    "uppercase-fingerprint": _set((*E0, "spki_sha256"), SPKI.upper()),
    "short-fingerprint": _set((*E0, "certificate_sha256"), "ab" * 31),
    "unknown-binding": _set((*E0, "tls_binding"), "worker_key"),
    "time-is-a-bool": _set((*E0, "endpoint_checked_at"), True),
    "time-is-text": _set((*E0, "endpoint_checked_at"), "1700000000"),
    "attestation-not-an-object": _set((*E0, "attestation"), "valid"),
    "attestation-missing-status": _drop((*E0, "attestation", "status")),
    "attestation-collateral-not-hex": _set((*E0, "attestation", "collateral_sha256"), "zz"),
    "evidence-missing-report": _drop((*E0, "evidence", "attestation_report")),
    "evidence-report-not-text": _set((*E0, "evidence", "attestation_report"), {"q": 1}),
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_a_malformed_answer_raises_unexpected_answer(
    node: tuple[Fixed, str], fixed: Fixed, name: str
) -> None:
    fixed.answer = MALFORMED[name](copy.deepcopy(ANSWER))
    with Client(node[1]) as client, pytest.raises(UnexpectedAnswer) as caught:
        client.endpoints()
    assert isinstance(caught.value, WorkerManagerError)


def test_a_node_without_the_route_raises_node_error(node: tuple[Fixed, str], fixed: Fixed) -> None:
    """An older node answers 404 ``not_found`` (problem+json), like any unknown route."""
    fixed.answer = {"code": "not_found", "detail": "Not Found"}
    fixed.status = 404
    with Client(node[1]) as client, pytest.raises(NodeError) as caught:
        client.endpoints()
    assert (caught.value.status, caught.value.code) == (404, "not_found")
