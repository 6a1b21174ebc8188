"""The dashboard's pages through the whole app (front door included): who sees what,
escaping, the filters and keyset paging, one worker's page, read-only, turned off."""

import json
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import update

from tests.conftest import ADMIN, OWNER, register_msg
from tests.helpers import ex
from worker_manager.api import create_app
from worker_manager.api.dashboard import COOKIE, CSP, DashboardOptions
from worker_manager.node import FixedClock, Node
from worker_manager.store.tables import workers

TOKEN = "operator-token-for-tests"


@contextmanager
def served(app: Any) -> Iterator[httpx.Client]:
    """``app`` under uvicorn on a free port, and a client of it that keeps cookies."""
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline
        assert thread.is_alive(), "server did not start"
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
            yield client
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def client(node: Node) -> Iterator[httpx.Client]:
    with served(create_app(node, dashboard=DashboardOptions(token=TOKEN, refresh_s=7))) as c:
        yield c


@pytest.fixture
def operator(client: httpx.Client) -> httpx.Client:
    """The client once it opened a page with the token (it holds the cookie)."""
    answer = client.get(f"/?token={TOKEN}", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/"
    assert f"{COOKIE}={TOKEN}" in answer.headers["set-cookie"]
    assert "httponly" in answer.headers["set-cookie"].lower()
    assert "samesite=strict" in answer.headers["set-cookie"].lower()
    return client


def _epochs(node: Node, clock: FixedClock, n: int) -> None:
    """``n`` more up epochs (the node ticks each)."""
    for _ in range(n):
        clock.advance(node.chain.head.config.epoch_seconds)
        node.tick()


def _answer(node: Node, ip: str) -> None:
    challenge = json.loads(node.query({"get_liveliness_challenge": {}}))["challenge"]
    ex(node, OWNER, {"report_liveliness": {"ip_address": ip, "challenge": challenge}})


def test_the_summary_is_public_and_shows_aggregates_only(client: httpx.Client, node: Node) -> None:
    ex(node, ADMIN, register_msg("10.0.0.1"))
    ex(node, ADMIN, register_msg("10.0.0.2", worker_type="mistral"))
    page = client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    text = page.text
    assert 'id="count-live">2<' in text
    assert "llama3.3:70b" in text
    assert "mistral" in text
    assert 'data-refresh="7"' in text
    assert 'id="countdown" data-expires-at="' in text
    # no owner, no address, no report: aggregates only
    assert OWNER not in text
    assert "10.0.0.1" not in text
    assert "quote:" not in text


def test_every_page_sends_a_strict_content_security_policy(operator: httpx.Client) -> None:
    for path in ("/", "/dashboard/workers", "/dashboard/blocks", "/dashboard/config"):
        answer = operator.get(path)
        assert answer.status_code == 200, path
        assert answer.headers["content-security-policy"] == CSP
        assert "script-src 'self'" in CSP
        assert "unsafe-inline" not in CSP
        assert answer.headers["x-frame-options"] == "DENY"
        assert answer.headers["cache-control"] == "no-store"
        assert "<script>" not in answer.text  # nothing inline: the CSP would refuse it


@pytest.mark.parametrize(
    "path",
    [
        "/dashboard/workers",
        "/dashboard/workers/10.0.0.1",
        "/dashboard/blocks",
        "/dashboard/config",
    ],
)
def test_the_operator_pages_need_the_token(client: httpx.Client, node: Node, path: str) -> None:
    ex(node, ADMIN, register_msg("10.0.0.1"))
    locked = client.get(path)
    assert locked.status_code == 401
    assert "Operator token needed" in locked.text
    assert OWNER not in locked.text
    assert "10.0.0.1" not in locked.text
    wrong = client.get(f"{path}?token=nope")
    assert wrong.status_code == 401
    assert "not this node" in wrong.text
    assert client.get(path, headers={"cookie": f"{COOKIE}=nope"}).status_code == 401
    opened = client.get(f"{path}?token={TOKEN}", follow_redirects=False)
    assert opened.status_code == 303
    assert opened.headers["location"] == path  # the token leaves the address bar
    assert client.get(path).status_code == 200


def test_a_script_in_a_worker_type_or_url_renders_inert(operator: httpx.Client, node: Node) -> None:
    # the contract refuses such a type or URL; a row written by anything else is still
    # shown inert (the pages escape whatever the database holds)
    hostile = "<script>alert(1)</script>"
    ex(node, ADMIN, register_msg("10.0.0.1"))
    with node.store.write() as session:
        session.connection.execute(
            update(workers).values(worker_type=hostile, url='https://x/"><script>u</script>')
        )
    for path in ("/", "/dashboard/workers", "/dashboard/workers/10.0.0.1"):
        text = operator.get(path).text
        assert hostile not in text, path
        assert "<script>u" not in text, path
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text, path
    text = operator.get("/dashboard/workers", params={"q": '"><script>x</script>'}).text
    assert "<script>x" not in text
    assert "&#34;&gt;&lt;script&gt;x" in text


def test_the_pages_are_read_only(operator: httpx.Client) -> None:
    for path in ("/", "/dashboard/workers", "/dashboard/config"):
        assert operator.post(path).status_code == 405
        assert operator.delete(path).status_code == 405


def test_status_filter_and_search_match_each_workers_status(
    operator: httpx.Client, node: Node, clock: FixedClock
) -> None:
    for i in range(1, 4):
        ex(node, ADMIN, register_msg(f"10.0.0.{i}"))
    _epochs(node, clock, 4)  # all three miss 4 up epochs: stale
    _answer(node, "10.0.0.1")  # live again
    _epochs(node, clock, 7)
    _answer(node, "10.0.0.1")
    ex(node, ADMIN, register_msg("10.0.1.9", worker_type="mistral"))  # new: live
    # 10.0.0.2 and 10.0.0.3 missed 11 up epochs: offline

    def shown(**params: str) -> list[str]:
        text = operator.get("/dashboard/workers", params=params).text
        return re.findall(r'data-address="([^"]+)"', text)

    assert shown() == ["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.1.9"]
    assert shown(status="live") == ["10.0.0.1", "10.0.1.9"]
    assert shown(status="offline") == ["10.0.0.2", "10.0.0.3"]
    assert shown(status="stale") == []
    assert shown(type="mistral") == ["10.0.1.9"]
    assert shown(q="10.0.0.") == ["10.0.0.1", "10.0.0.2", "10.0.0.3"]
    assert shown(q="10.0.1") == ["10.0.1.9"]
    assert shown(attestation="unchecked") == shown()
    assert shown(attestation="rejected") == []
    # each row's status is the contract's own (get_worker)
    for ip in shown():
        expected = json.loads(node.query({"get_worker": {"ip_address": ip}}))["status"]
        assert ip in shown(status=expected)


def test_paging_is_by_key_and_keeps_the_filters(operator: httpx.Client, node: Node) -> None:
    for i in range(1, 8):
        ex(node, ADMIN, register_msg(f"10.0.0.{i}"))
    ex(node, ADMIN, register_msg("10.9.0.1", worker_type="other"))
    seen: list[str] = []
    url: str | None = "/dashboard/workers?limit=3&type=llama3.3%3A70b"
    while url is not None:
        text = operator.get(url).text
        seen += re.findall(r'data-address="([^"]+)"', text)
        found = re.search(r'href="([^"]+)" id="next-page"', text)
        url = found.group(1).replace("&amp;", "&") if found else None
        if url is not None:
            assert "type=llama3.3%3A70b" in url
            assert "limit=3" in url
            assert "after=" in url
    assert seen == [f"10.0.0.{i}" for i in range(1, 8)]


def test_one_workers_page_shows_its_txs_liveliness_and_work_but_no_report(
    operator: httpx.Client, node: Node, clock: FixedClock
) -> None:
    ex(node, ADMIN, register_msg("10.0.0.1"))
    ex(node, ADMIN, register_msg("10.0.0.2"))
    _epochs(node, clock, 1)
    _answer(node, "10.0.0.1")
    text = operator.get("/dashboard/workers/10.0.0.1").text
    assert 'id="worker-address">10.0.0.1<' in text
    assert 'id="worker-status">live' in text
    assert OWNER in text
    assert "quote:10.0.0.1" not in text  # the report is never shown
    assert "report of 14 bytes, not shown" in text
    txs = text.split('id="worker-txs"')[1]
    assert "report_liveliness" in txs
    assert "register_worker" not in txs  # sent by the admin, not the owner or worker key
    assert 'class="yes"' in text.split('id="liveliness"')[1].split("</svg>")[0]
    assert "No work reported" in text
    missing = operator.get("/dashboard/workers/10.0.0.99")
    assert missing.status_code == 404
    assert "No worker is registered" in missing.text


def test_blocks_and_config_pages(operator: httpx.Client, node: Node) -> None:
    ex(node, ADMIN, register_msg("10.0.0.1"))
    blocks = operator.get("/dashboard/blocks").text
    assert "register_worker" in blocks
    assert "quote:" not in blocks  # message names only, never their fields
    config = operator.get("/dashboard/config").text
    assert ADMIN in config
    assert "epoch_seconds" in config
    assert "No policy is set" in config
    assert 'id="collateral">unknown' in config  # a test node has no collateral directory


def test_the_static_files_are_served_with_their_type(client: httpx.Client) -> None:
    script = client.get("/dashboard/static/dashboard.js")
    assert script.status_code == 200
    assert script.headers["content-type"].startswith("text/javascript")
    assert "fetch(window.location.href" in script.text
    assert client.get("/dashboard/static/dashboard.css").status_code == 200
    assert client.get("/dashboard/static/../app.py").status_code == 404
    assert client.get("/dashboard/static/nope.js").status_code == 404


def test_without_the_dashboard_the_routes_do_not_exist(node: Node) -> None:
    with served(create_app(node)) as plain:
        for path in ("/", "/dashboard/workers", "/dashboard/static/dashboard.js"):
            answer = plain.get(path)
            assert answer.status_code == 404, path
            assert answer.headers["content-type"] == "application/problem+json"


def test_the_dashboard_is_not_in_the_openapi_document(client: httpx.Client) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert not [p for p in paths if p == "/" or p.startswith("/dashboard")]
