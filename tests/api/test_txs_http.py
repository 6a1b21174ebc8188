"""POST /v1/txs and the lookups, over real HTTP."""

import base64

import httpx
import pytest

from tests.conftest import ADMIN, ADMIN_KEY, OTHER_KEY, register_msg
from tests.node.test_ante import signed
from worker_manager.node import Node


def post(base_url: str, tx: bytes, mode: str = "commit") -> httpx.Response:
    body = {"tx_bytes": base64.b64encode(tx).decode(), "mode": mode}
    return httpx.post(f"{base_url}/v1/txs", json=body, timeout=30)


def test_commit_mode_answers_with_the_block_result(base_url: str, node: Node) -> None:
    r = post(base_url, signed(node, ADMIN_KEY, register_msg("10.0.0.1")))
    assert r.status_code == 200
    result = r.json()
    assert result["code"] == 0
    assert result["height"] == 2
    assert result["data"] == {
        "ip_address": "10.0.0.1",
        "status": "registered",
        "attestation_status": "unchecked",
    }
    assert {e["type"] for e in result["events"]} == {"message", "wasm"}
    tx = httpx.get(f"{base_url}/v1/txs/{result['txhash'].lower()}").json()
    assert tx["sender"] == ADMIN
    assert tx["messages"][0]["msg"] == register_msg("10.0.0.1")
    assert tx["fee"] == {"amount": [{"denom": "uscrt", "amount": "50000"}], "gas_limit": "200000"}
    assert tx["gas_wanted"] == 200000
    assert tx["kind"] == "signed"
    block = httpx.get(f"{base_url}/v1/blocks/2").json()
    assert [t["txhash"] for t in block["txs"]] == [result["txhash"]]
    assert httpx.get(f"{base_url}/v1/blocks/latest").json()["height"] == 2


def test_sync_mode_queues_and_the_sequence_moves_at_once(base_url: str, node: Node) -> None:
    r = post(base_url, signed(node, ADMIN_KEY, register_msg("10.0.0.1")), mode="sync")
    assert r.status_code == 200
    assert r.json()["status"] == "queued"
    account = httpx.get(f"{base_url}/v1/accounts/{ADMIN}").json()
    assert account["sequence"] == 1


def test_a_contract_refusal_comes_back_in_the_result(base_url: str, node: Node) -> None:
    result = post(base_url, signed(node, OTHER_KEY, register_msg())).json()
    assert (result["code"], result["codespace"], result["error"]) == (3, "compute", "unauthorized")


@pytest.mark.parametrize(
    ("make", "status", "code", "tx_code"),
    [
        (
            lambda n: signed(n, ADMIN_KEY, register_msg(), chain_id="other-1"),
            401,
            "wrong_chain_id",
            28,
        ),
        (lambda n: signed(n, ADMIN_KEY, register_msg(), sequence=3), 409, "wrong_sequence", 32),
        (lambda n: b"nonsense", 400, "tx_decode", 2),
        (lambda n: signed(n, ADMIN_KEY, {"nope": {}}), 400, "unknown_message", 6),
    ],
)
def test_ante_refusals_are_problem_json(
    base_url: str, node: Node, make, status: int, code: str, tx_code: int
) -> None:
    r = post(base_url, make(node))
    assert r.status_code == status
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert (body["code"], body["tx_code"]) == (code, tx_code)
    assert body["detail"]


def test_bad_requests_get_clear_errors(base_url: str) -> None:
    r = httpx.post(f"{base_url}/v1/txs", json={"tx_bytes": "%%%"})
    assert (r.status_code, r.json()["code"]) == (400, "tx_decode")
    r = httpx.post(f"{base_url}/v1/txs", json={"tx_bytes": "AA==", "mode": "block"})
    assert (r.status_code, r.json()["code"]) == (422, "invalid_request")
    r = httpx.post(f"{base_url}/v1/txs", json={"mode": "sync"})
    assert (r.status_code, r.json()["code"]) == (422, "invalid_request")
    r = httpx.get(f"{base_url}/v1/txs/{'AB' * 32}")
    assert (r.status_code, r.json()["code"]) == (404, "tx_not_found")
    r = httpx.get(f"{base_url}/v1/blocks/99")
    assert (r.status_code, r.json()["code"]) == (404, "block_not_found")
    r = httpx.get(f"{base_url}/v1/blocks/x")
    assert (r.status_code, r.json()["code"]) == (400, "invalid_request")
    r = httpx.get(f"{base_url}/v1/accounts/secret1nope")
    assert (r.status_code, r.json()["code"]) == (400, "invalid_address")


def test_read_friendly_routes(base_url: str, node: Node) -> None:
    from tests.conftest import subscriber_proof

    node.execute(ADMIN, register_msg("10.0.0.1"))
    assert httpx.get(f"{base_url}/v1/models").json() == {"models": ["llama3.3:70b"]}
    assert httpx.get(f"{base_url}/v1/urls", params={"model": "llama3.3:70b"}).json() == {
        "urls": ["https://10.0.0.1"]
    }
    assert httpx.get(f"{base_url}/v1/urls", params={"model": "x"}).json() == {"urls": []}
    assert httpx.get(f"{base_url}/v1/workers/10.0.0.1").json()["ip_address"] == "10.0.0.1"
    page = httpx.get(f"{base_url}/v1/workers", params=subscriber_proof()).json()
    assert [w["ip_address"] for w in page["workers"]] == ["10.0.0.1"]
    r = httpx.get(
        f"{base_url}/v1/workers", params={"signature": "00", "subscriber_public_key": "00"}
    )
    assert (r.status_code, r.json()["code"]) == (401, "invalid_signature")
    r = httpx.get(f"{base_url}/v1/workers/10.0.0.2")
    assert (r.status_code, r.json()["code"]) == (404, "worker_not_found")
