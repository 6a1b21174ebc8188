"""``GET /metrics`` after a scripted run over real HTTP: the counters say exactly what
was done, the latency histogram is labelled by route templates only, and the request
id comes back on every answer."""

import base64
import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import ADMIN_KEY, OTHER_KEY, OWNER_KEY, register_msg
from tests.db_faults import disk_full
from tests.node.test_ante import signed
from tests.server_thread import ServerThread
from worker_manager.node import FixedClock, Node
from worker_manager.node.metrics import STATE_TTL_S

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(url: str) -> Samples:
    r = httpx.get(f"{url}/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain; version=0.0.4")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(r.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, frozenset(labels.items())))


def post_tx(url: str, tx: bytes, **headers: str) -> httpx.Response:
    body = {"tx_bytes": base64.b64encode(tx).decode(), "mode": "commit"}
    return httpx.post(f"{url}/v1/txs", json=body, headers=headers, timeout=30)


@pytest.fixture
def served(node: Node) -> Iterator[str]:
    with ServerThread(node) as url:
        yield url


def _liveliness(node: Node, url: str, ip: str) -> None:
    challenge = httpx.get(f"{url}/v1/liveliness/challenge").json()["challenge"]
    answer = {"report_liveliness": {"ip_address": ip, "challenge": challenge}}
    result = post_tx(url, signed(node, OWNER_KEY, answer)).json()
    assert result["code"] == 0, result


def test_a_scrape_counts_exactly_what_a_scripted_run_did(
    served: str, node: Node, clock: FixedClock
) -> None:
    url = served
    for ip, model in [("10.0.0.1", "llama"), ("10.0.0.2", "llama"), ("10.0.0.3", "qwen")]:
        r = post_tx(url, signed(node, ADMIN_KEY, register_msg(ip, worker_type=model)))
        assert r.json()["code"] == 0
    last = post_tx(url, signed(node, OTHER_KEY, register_msg("10.0.0.9")))  # not the admin
    assert last.json()["error"] == "unauthorized"
    _liveliness(node, url, "10.0.0.1")
    _liveliness(node, url, "10.0.0.3")
    refused = post_tx(url, signed(node, ADMIN_KEY, register_msg("10.0.0.4"), chain_id="other-1"))
    assert refused.status_code == 401
    # reads through the front door and through the framework's routes
    assert httpx.get(f"{url}/v1/urls", params={"model": "llama"}).status_code == 200
    assert httpx.post(f"{url}/v1/query", json={"get_models": {}}).json() == {
        "models": ["llama", "qwen"]
    }
    assert httpx.get(f"{url}/v1/models").status_code == 200
    assert httpx.get(f"{url}/v1/txs/{last.json()['txhash']}").status_code == 200
    assert httpx.get(f"{url}/v1/txs/{'AB' * 32}").status_code == 404
    assert httpx.get(f"{url}/v1/info").status_code == 200
    for junk in ("/no/such/path", "/v1/txs/x/y/z", "/%00%ff"):
        assert httpx.get(f"{url}{junk}").status_code == 404
    assert httpx.delete(f"{url}/v1/info").status_code == 405

    samples = scrape(url)
    txs = {
        (dict(labels)["message"], dict(labels)["result"]): n
        for (name, labels), n in samples.items()
        if name == "worker_manager_txs_total"
    }
    assert txs == {
        ("register_worker", "ok"): 3,
        ("register_worker", "unauthorized"): 1,
        ("report_liveliness", "ok"): 2,
    }
    assert value(samples, "worker_manager_ante_refusals_total", reason="wrong_chain_id") == 1
    assert value(samples, "worker_manager_block_txs_count") == 6  # each commit its own block
    assert value(samples, "worker_manager_block_txs_sum") == 6
    assert value(samples, "worker_manager_block_commit_seconds_count") == 6
    assert value(samples, "worker_manager_height") == node.height == 7
    assert value(samples, "worker_manager_queue_depth") == 0
    assert value(samples, "worker_manager_workers", status="live", type="llama") == 2
    assert value(samples, "worker_manager_workers", status="live", type="qwen") == 1
    for status in ("stale", "offline"):
        for model in ("llama", "qwen"):
            assert value(samples, "worker_manager_workers", status=status, type=model) == 0
    assert value(samples, "worker_manager_served_workers", model="llama") == 2
    assert value(samples, "worker_manager_served_workers", model="qwen") == 1
    assert not any(name == "worker_manager_database_errors_total" for name, _ in samples)

    latency = "worker_manager_http_request_duration_seconds_count"
    routes: dict[tuple[str, str], float] = {}
    for (name, labels), n in samples.items():
        if name == latency:
            routes[(dict(labels)["method"], dict(labels)["route"])] = n
            assert {key for key, _ in labels} == {"method", "route"}
    assert routes == {
        ("POST", "/v1/txs"): 7,
        ("GET", "/v1/liveliness/challenge"): 2,
        ("GET", "/v1/urls"): 1,
        ("POST", "/v1/query"): 1,
        ("GET", "/v1/models"): 1,
        ("GET", "/v1/txs/{txhash}"): 2,
        ("GET", "/v1/info"): 1,
        ("GET", "unmatched"): 3,
        ("DELETE", "/v1/info"): 1,
    }
    # the scrape itself is timed too, and a second scrape sees it
    again = scrape(url)
    assert value(again, latency, method="GET", route="/metrics") == 1

    # epochs pass with no answers: every worker turns stale (read again after a second)
    config = httpx.post(f"{url}/v1/query", json={"get_config": {}}).json()
    for _ in range(config["grace_epochs"] + 1):
        clock.advance(config["epoch_seconds"])
        assert node.tick().ok
    time.sleep(STATE_TTL_S + 0.1)
    later = scrape(url)
    assert value(later, "worker_manager_workers", status="stale", type="llama") == 2
    assert value(later, "worker_manager_workers", status="stale", type="qwen") == 1
    assert value(later, "worker_manager_workers", status="live", type="llama") == 0
    assert value(later, "worker_manager_served_workers", model="llama") == 0
    assert value(later, "worker_manager_txs_total", message="epoch_tick", result="ok") == (
        config["grace_epochs"] + 1
    )
    statuses = [
        httpx.post(f"{url}/v1/query", json={"get_worker": {"ip_address": ip}}).json()["status"]
        for ip in ("10.0.0.1", "10.0.0.2", "10.0.0.3")
    ]
    assert statuses == ["stale", "stale", "stale"]  # as the contract itself says


def test_the_encrypted_query_answered_by_the_front_door_has_its_template(
    served: str, node: Node
) -> None:
    # a query the front door cannot answer goes to the LCD route: same template either way
    assert httpx.get(f"{served}/compute/v1beta1/query/{node.identity.contract_address}").is_error
    assert httpx.get(f"{served}/compute/v1beta1/query/secret1nothere").is_error
    samples = scrape(served)
    routes = {
        dict(labels)["route"]
        for (name, labels), _n in samples.items()
        if name == "worker_manager_http_request_duration_seconds_count"
    }
    assert routes == {"/compute/v1beta1/query/{address}"}


def test_every_answer_carries_a_request_id(served: str) -> None:
    first = httpx.get(f"{served}/v1/info").headers["x-request-id"]
    second = httpx.post(f"{served}/v1/query", json={"get_models": {}}).headers["x-request-id"]
    assert first != second
    assert len(first) <= 64
    kept = httpx.get(f"{served}/v1/models", headers={"X-Request-Id": "lb-7f3a.9_x"})
    assert kept.headers["x-request-id"] == "lb-7f3a.9_x"
    for bad in ("a" * 65, "two words", "semi;colon", ""):
        r = httpx.get(f"{served}/healthz", headers={"X-Request-Id": bad})
        assert r.headers["x-request-id"] not in (bad, "")


def test_metrics_can_be_turned_off(node: Node) -> None:
    with ServerThread(node, metrics=False) as url:
        r = httpx.get(f"{url}/metrics")
        assert r.status_code == 404
        assert r.headers["x-request-id"]  # request ids do not depend on metrics
    assert node.metrics.requests.collect  # the node still counts; only the route is gone
    families = {f.name for f in text_string_to_metric_families(node.metrics.render().decode())}
    assert "worker_manager_http_request_duration_seconds" in families


def test_a_block_the_database_refuses_is_counted(served: str, node: Node) -> None:
    disk_full(node.store, True)
    try:
        big = register_msg("10.0.0.1", attestation_report="x" * 60_000)  # past the free pages
        r = post_tx(served, signed(node, ADMIN_KEY, big))
        assert r.status_code == 503
        assert r.json()["code"] == "node_unavailable"
    finally:
        disk_full(node.store, False)
    samples = scrape(served)
    assert value(samples, "worker_manager_database_errors_total", where="block") == 1
    assert not any(name == "worker_manager_txs_total" for name, _ in samples)


def test_the_block_line_is_structured(node: Node, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO", logger="worker_manager.node.pipeline")
    assert node.execute(ADMIN_KEY.address, register_msg("10.0.0.1"))
    (record,) = [r for r in caplog.records if r.getMessage().startswith("block ")]
    fields = {k: getattr(record, k) for k in ("height", "txs", "failed", "commit_ms")}
    assert fields["height"] == 2
    assert (fields["txs"], fields["failed"]) == (1, 0)
    assert fields["commit_ms"] >= 0
    json.dumps(fields)


def test_the_metrics_setting_is_read_and_strict(tmp_path: Path) -> None:
    from tests.test_settings import CHAIN, _home, _refusal
    from worker_manager.settings import Settings

    assert Settings.load(_home(tmp_path, CHAIN), {}).metrics_enabled is True
    home = _home(tmp_path, f"{CHAIN}[metrics]\nenabled = false\n")
    assert Settings.load(home, {}).metrics_enabled is False
    home = _home(tmp_path, f'{CHAIN}[metrics]\nenabled = "no"\n')
    assert _refusal(home) == (
        f'{home / "config.toml"}: [metrics] enabled must be true or false (got "no")'
    )
