"""The native API over real HTTP: health, info, queries and problem+json errors."""

import httpx
import pytest

from tests.conftest import ADMIN, CHAIN_ID, register_msg, subscriber_proof
from tests.helpers import ex
from worker_manager.node import Node


def test_healthz_reports_ok_and_height(base_url: str) -> None:
    r = httpx.get(f"{base_url}/healthz")
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "height": 1}


def test_info_gives_the_chain_coordinates(base_url: str, node: Node) -> None:
    info = httpx.get(f"{base_url}/v1/info").json()
    assert info["chain_id"] == CHAIN_ID
    assert info["admin"] == ADMIN
    assert info["contract_address"] == node.identity.contract_address
    assert len(info["code_hash"]) == 64
    assert info["workers"] == 0


def test_query_answers_json(base_url: str, node: Node) -> None:
    ex(node, ADMIN, register_msg("10.0.0.1"))
    r = httpx.post(f"{base_url}/v1/query", json={"get_models": {}})
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    assert r.json() == {"models": ["llama3.3:70b"]}
    r = httpx.post(f"{base_url}/v1/query", json={"get_u_r_ls": {"model": "llama3.3:70b"}})
    assert r.json() == {"urls": ["https://10.0.0.1"]}
    r = httpx.post(f"{base_url}/v1/query", json={"get_workers": subscriber_proof()})
    assert [w["ip_address"] for w in r.json()["workers"]] == ["10.0.0.1"]


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b"nope", 400, "invalid_message"),
        (b'{"no_such_query": {}}', 400, "unknown_message"),
        (b'{"get_worker": {"ip_address": "10.0.0.9"}}', 404, "worker_not_found"),
        (b'{"get_worker": {"ip_address": "http://x"}}', 400, "invalid_ip_address"),
        (
            b'{"get_workers": {"signature": "00", "subscriber_public_key": "00"}}',
            401,
            "invalid_signature",
        ),
        (b'{"get_models": {}}' + b" " * 70_000, 400, "invalid_message"),
    ],
)
def test_errors_are_problem_json_with_a_stable_code(
    base_url: str, body: bytes, status: int, code: str
) -> None:
    r = httpx.post(f"{base_url}/v1/query", content=body)
    assert r.status_code == status
    assert r.headers["content-type"] == "application/problem+json"
    problem = r.json()
    assert problem["code"] == code
    assert problem["status"] == status
    assert problem["type"] == f"urn:worker-manager:error:{code}"
    assert problem["detail"]


def test_openapi_documents_the_query_messages(base_url: str) -> None:
    spec = httpx.get(f"{base_url}/openapi.json").json()
    body = spec["paths"]["/v1/query"]["post"]["requestBody"]["content"]["application/json"]
    names = {next(iter(option["required"])) for option in body["schema"]["oneOf"]}
    assert {"get_workers", "get_models", "get_u_r_ls", "get_urls", "get_worker"} <= names
    assert "/healthz" in spec["paths"]


def test_url_query_strings_are_parsed_once_and_long_ones_never_kept(
    base_url: str, node: Node
) -> None:
    from worker_manager.api import hot

    ex(node, ADMIN, register_msg("10.0.0.1", worker_type="llama3"))
    short = "model=llama3&subscriber=02" + "ab" * 32
    long = short + "&pad=" + "x" * hot.MAX_KEPT_QUERY_STRING
    for query in (short, short, long, long, "limit=0", "limit=0", "limit=x"):
        r = httpx.get(f"{base_url}/v1/urls?{query}")
        assert r.status_code == (422 if "limit" in query else 200), query
    assert (
        httpx.get(f"{base_url}/v1/urls?{long}").json()
        == httpx.get(f"{base_url}/v1/urls?{short}").json()
        == {"urls": ["https://10.0.0.1"]}
    )
    kept = hot._kept_urls_message.cache_info()
    assert kept.currsize <= hot.KEPT_QUERY_STRINGS
    assert hot.urls_message(long.encode()) is not hot.urls_message(long.encode())
    assert hot.urls_message(short.encode()) is hot.urls_message(short.encode())
