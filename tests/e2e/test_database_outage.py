"""The database goes away under a served node, and comes back (PostgreSQL, real
server stopped as a crash would stop it): the node says so with 503s, never a 500,
loses nothing acknowledged, and carries on by itself once the database is back."""

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import ADMIN, ADMIN_KEY, OWNER_KEY
from tests.e2e.conftest import cli, free_port, start_serve, stop
from tests.postgres import PostgresServer, start_server
from worker_manager.client import Client, NodeError

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


@pytest.fixture
def own_server() -> Iterator[PostgresServer]:
    """A server of this test's own (it is stopped and started again)."""
    server = start_server(durable=True)
    try:
        yield server
    finally:
        server.stop()


def test_a_node_reports_a_lost_database_and_recovers_when_it_returns(
    own_server: PostgresServer, tmp_path: Path
) -> None:
    url = own_server.create_database("wm_outage")
    home, port = tmp_path / "home", free_port()
    cli("init", "--home", str(home), "--chain-id", "wm-outage-1", "--admin", ADMIN,
        "--port", str(port), "--database-url", url)  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    process = start_serve(["--home", str(home)], os.environ.copy(), tmp_path / "s.log", base)
    try:
        with Client(base, key=ADMIN_KEY, timeout=60) as admin:
            kept = admin.register_worker("10.0.0.1", OWNER_KEY.address, "quote", "m").txhash
            own_server.halt()
            with pytest.raises(NodeError) as refused:
                admin.register_worker("10.0.0.2", OWNER_KEY.address, "quote", "m")
            assert (refused.value.status, refused.value.code) == (503, "node_unavailable")
            deadline = time.monotonic() + 5  # within the staleness bound (1 s), and then some
            while (health := httpx.get(f"{base}/healthz")).status_code == 200:
                assert time.monotonic() < deadline
                time.sleep(0.05)
            assert health.status_code == 503
            assert health.json()["status"] == "unavailable"
            refused_query = httpx.post(
                f"{base}/v1/query", json={"get_worker": {"ip_address": "10.0.0.9"}}
            )
            assert refused_query.status_code == 503
            assert refused_query.json()["code"] == "node_unavailable"
            lcd = httpx.get(f"{base}/cosmos/auth/v1beta1/accounts/{OWNER_KEY.address}")
            assert lcd.status_code == 503
            assert lcd.json()["code"] == 14  # gRPC unavailable, in Secret's error body
            own_server.resume()
            deadline = time.monotonic() + 30
            while True:  # the sequence was not taken: the same registration goes through
                try:
                    admin.register_worker("10.0.0.2", OWNER_KEY.address, "quote", "m")
                    break
                except NodeError as exc:
                    status = exc.status
                assert status == 503
                assert time.monotonic() < deadline
                time.sleep(0.5)
            assert httpx.get(f"{base}/healthz").json()["status"] == "ok"
            assert httpx.get(f"{base}/v1/txs/{kept}").json()["code"] == 0
            assert httpx.get(f"{base}/v1/info").json()["workers"] == 2
    finally:
        assert stop(process) == 0
    assert "Traceback" not in (tmp_path / "s.log").read_text()
    report = json.loads(cli("verify", "--home", str(home), "--json").stdout)
    assert report["ok"] is True
