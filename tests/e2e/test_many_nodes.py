"""Several node processes on one database, each with its own home (``join``), as an
operator runs them: the acceptance check of "many nodes, one network".

Three ``serve`` processes on one PostgreSQL take conflicting registrations at once
(one winner per address), one account's txs through two of them (no sequence used
twice), and a ``kill -9`` of one under load (every tx acknowledged in commit mode is
kept; the three answer the same ``get_workers`` and state hash once it is back).
"""

import base64
import contextlib
import json
import os
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import (
    ADMIN,
    ADMIN_KEY,
    SUBSCRIBER_KEY,
    key,
    postgres_database,
    subscriber_proof,
)
from tests.e2e.conftest import cli, free_port, start_serve, stop
from tests.postgres import PostgresServer
from worker_manager.client import Client
from worker_manager.keys import PrivateKey
from worker_manager.node.deliver import account_number_for
from worker_manager.tx import build_execute_tx

pytestmark = pytest.mark.slow


class Fleet:
    """Homes a (``init``), b and c (``join``) on one database, each served on its port."""

    def __init__(self, tmp: Path, database: list[str]) -> None:
        self.tmp = tmp
        self.homes = [tmp / name for name in "abc"]
        self.processes: list[Any] = [None, None, None]
        self.urls: list[str] = []
        ports = [free_port() for _ in self.homes]
        cli("init", "--home", str(self.homes[0]), "--chain-id", "wm-fleet-1", "--admin", ADMIN,
            "--port", str(ports[0]), "--registration-mode", "open",
            "--epoch-seconds", "86400", *database)  # fmt: skip
        url = database[1] if database else f"sqlite:///{self.homes[0] / 'worker-manager.db'}"
        seed = self.homes[0] / "secrets" / "node.seed"
        for home, port in zip(self.homes[1:], ports[1:], strict=True):
            cli("join", "--home", str(home), "--database-url", url,
                "--node-seed-file", str(seed), "--port", str(port))  # fmt: skip
        self.urls = [f"http://127.0.0.1:{port}" for port in ports]

    def start(self, index: int) -> None:
        log = self.tmp / f"serve-{'abc'[index]}-{time.monotonic_ns()}.log"
        args = ["--home", str(self.homes[index])]
        self.processes[index] = start_serve(args, os.environ.copy(), log, self.urls[index])

    def stop_all(self) -> None:
        for process in self.processes:
            if process is not None and process.poll() is None:
                stop(process)


@contextlib.contextmanager
def fleet_on(tmp: Path, database: list[str]) -> Iterator[Fleet]:
    fleet = Fleet(tmp, database)
    try:
        for index in range(3):
            fleet.start(index)
        yield fleet
    finally:
        fleet.stop_all()


def signed(url_info: dict[str, Any], signer: PrivateKey, msg: dict[str, Any], seq: int) -> str:
    tx = build_execute_tx(
        signer,
        str(url_info["contract_address"]),
        json.dumps(msg).encode(),
        chain_id=str(url_info["chain_id"]),
        account_number=account_number_for(signer.address),
        sequence=seq,
    )
    return base64.b64encode(tx).decode()


def registration(ip: str, signer: PrivateKey) -> dict[str, Any]:
    return {
        "register_worker": {
            "ip_address": ip,
            "payment_wallet": signer.address,
            "attestation_report": "quote",
            "worker_type": "llama3.3:70b",
        }
    }


def post(client: httpx.Client, url: str, tx_bytes: str) -> httpx.Response:
    return client.post(f"{url}/v1/txs", json={"tx_bytes": tx_bytes, "mode": "commit"})


def answers(url: str) -> tuple[list[Any], Any]:
    """Every worker (``get_workers``, page by page) and the state hash, through ``url``."""
    workers: list[Any] = []
    while True:
        query = subscriber_proof() | {"limit": 500}
        if workers:
            query["start_after"] = workers[-1]["ip_address"]
        page = httpx.post(f"{url}/v1/query", json={"get_workers": query}).json()["workers"]
        workers += page
        if len(page) < 500:
            return workers, httpx.get(f"{url}/v1/state").json()


@pytest.fixture
def pg_url(postgres: PostgresServer) -> Iterator[str]:
    with postgres_database(postgres, migrated=False) as url:
        yield url


@pytest.mark.postgres
def test_three_nodes_on_one_postgresql(tmp_path: Path, pg_url: str) -> None:
    with fleet_on(tmp_path, ["--database-url", pg_url]) as fleet:
        info = httpx.get(f"{fleet.urls[0]}/v1/info").json()
        with Client(fleet.urls[0], key=ADMIN_KEY) as admin:
            admin.add_subscriber(SUBSCRIBER_KEY.public_key.hex())

        # 600 registrations of the same 100 addresses, 200 per node, all at once
        jobs = [
            (fleet.urls[node], f"10.7.0.{i % 100}", key(f"racer-{node}-{i}"))
            for node in range(3)
            for i in range(200)
        ]
        bodies = [(url, ip, signer, signed(info, signer, registration(ip, signer), 0))
                  for url, ip, signer in jobs]  # fmt: skip
        limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
        with httpx.Client(timeout=60, limits=limits) as shared:  # thread-safe, closed after

            def send(job: tuple[str, str, PrivateKey, str]) -> tuple[str, PrivateKey, Any]:
                url, ip, signer, tx_bytes = job
                return ip, signer, post(shared, url, tx_bytes)

            with ThreadPoolExecutor(48) as pool:
                results = list(pool.map(send, bodies))
        assert {r.status_code for _, _, r in results} == {200}
        winners: dict[str, str] = {}
        for ip, signer, response in results:
            body = response.json()
            if body["code"] == 0:
                assert ip not in winners, f"{ip} registered twice"
                winners[ip] = signer.address
            else:
                assert body["error"] == "worker_exists", body
                assert "already registered" in body["log"]
        assert len(winners) == 100
        for url in fleet.urls:
            workers, _ = answers(url)
            assert {w["ip_address"]: w["payment_wallet"] for w in workers} == winners

        # one account through two nodes at once, the same sequence each time: one of the
        # two commits, the other is refused; no sequence is used twice
        walker = key("walker")
        with httpx.Client(timeout=60) as client_a, httpx.Client(timeout=60) as client_b:
            for seq in range(15):
                txs = [
                    signed(info, walker, registration(f"10.8.{n}.{seq}", walker), seq)
                    for n in range(2)
                ]
                with ThreadPoolExecutor(2) as pool:
                    a, b = pool.map(post, (client_a, client_b), fleet.urls[:2], txs)
                outcomes = sorted(
                    "ok" if r.status_code == 200 and r.json()["code"] == 0 else
                    (r.json().get("error") if r.status_code == 200 else r.json()["code"])
                    for r in (a, b)
                )  # fmt: skip
                assert outcomes == ["ok", "wrong_sequence"], (a.text, b.text)
        for url in fleet.urls:
            account = httpx.get(f"{url}/v1/accounts/{walker.address}").json()
            assert int(account["sequence"]) == 15

        # kill -9 of node c under load from all three
        acked: list[str] = []
        in_flight: list[str] = []
        lock = threading.Lock()

        def load(node: int, sender: int) -> None:
            signer = key(f"loader-{node}-{sender}")
            with httpx.Client(timeout=60) as client:
                for seq in range(40):
                    ip = f"10.9.{node * 10 + sender}.{seq}"
                    tx_bytes = signed(info, signer, registration(ip, signer), seq)
                    txhash = _hash(tx_bytes)
                    try:
                        response = post(client, fleet.urls[node], tx_bytes)
                    except httpx.TransportError:
                        with lock:
                            in_flight.append(txhash)
                        return
                    if response.status_code == 200:
                        assert response.json()["code"] == 0, response.text
                        with lock:
                            acked.append(txhash)

        threads = [threading.Thread(target=load, args=(n, s)) for n in range(3) for s in range(6)]
        for thread in threads:
            thread.start()
        time.sleep(1.0)
        fleet.processes[2].kill()
        fleet.processes[2].wait()
        for thread in threads:
            thread.join(120)
        assert len(acked) > 240  # a and b finished their 480; c some before the kill
        fleet.start(2)  # c catches up from the log as it starts
        for url in fleet.urls:
            with httpx.Client() as client:
                for txhash in acked:
                    assert client.get(f"{url}/v1/txs/{txhash}").json()["code"] == 0
                for txhash in in_flight:  # committed once, or cleanly absent
                    assert client.get(f"{url}/v1/txs/{txhash}").status_code in (200, 404)
        first = answers(fleet.urls[0])
        assert all(answers(url) == first for url in fleet.urls[1:])
        registered = {w["ip_address"] for w in first[0]}
        assert len(registered) == 100 + 15 + len(
            [h for h in acked + in_flight if _committed(fleet.urls[0], h)]
        )
    report = json.loads(cli("verify", "--home", str(fleet.homes[1]), "--json").stdout)
    assert report["ok"] is True


def _hash(tx_bytes: str) -> str:
    import hashlib

    return hashlib.sha256(base64.b64decode(tx_bytes)).hexdigest().upper()


def _committed(url: str, txhash: str) -> bool:
    return httpx.get(f"{url}/v1/txs/{txhash}").status_code == 200


def test_join_refuses_a_database_without_a_chain_and_a_foreign_seed(
    tmp_path: Path, home_database: list[str]
) -> None:
    """(On each engine.) Nothing is left behind by a refused join."""
    database = home_database or ["--database-url", f"sqlite:///{tmp_path / 'shared.db'}"]
    empty = tmp_path / "empty.db"
    refused = cli("join", "--home", str(tmp_path / "x"), "--database-url", f"sqlite:///{empty}",
                  "--node-seed-file", str(tmp_path / "nothing"), check=False)  # fmt: skip
    assert refused.returncode == 2
    assert "--node-seed-file" in refused.stderr
    cli("init", "--home", str(tmp_path / "a"), "--chain-id", "wm-join-1", "--admin", ADMIN,
        *database)  # fmt: skip
    foreign = tmp_path / "other" / "secrets" / "node.seed"
    cli("init", "--home", str(tmp_path / "other"), "--chain-id", "wm-join-2", "--admin", ADMIN)
    wrong = cli("join", "--home", str(tmp_path / "b"), *database,
                "--node-seed-file", str(foreign), check=False)  # fmt: skip
    assert wrong.returncode == 1
    assert "another node seed" in wrong.stderr
    assert not (tmp_path / "b").exists()
    seed = tmp_path / "a" / "secrets" / "node.seed"
    no_database = cli("join", "--home", str(tmp_path / "c"), "--database-url",
                      f"sqlite:///{empty}", "--node-seed-file", str(seed), check=False)  # fmt: skip
    assert no_database.returncode == 2
    assert "there is no SQLite database" in no_database.stderr
    assert not empty.exists()  # nothing created, not even an empty database file
    empty.touch()  # an empty file is an empty database: no chain in it
    no_chain = cli("join", "--home", str(tmp_path / "c"), "--database-url", f"sqlite:///{empty}",
                   "--node-seed-file", str(seed), check=False)  # fmt: skip
    assert no_chain.returncode == 1
    assert "run worker-manager init" in no_chain.stderr
    assert not (tmp_path / "c").exists()
    joined = cli("join", "--home", str(tmp_path / "b"), *database,
                 "--node-seed-file", str(seed), "--json")  # fmt: skip
    assert json.loads(joined.stdout)["chain_id"] == "wm-join-1"


def test_a_tx_through_one_node_is_seen_through_another(
    tmp_path: Path, home_database: list[str]
) -> None:
    """(On each engine: SQLite homes of one machine may share one file.) A query through
    b right after a commit through a sees it, within b's staleness bound."""
    database = home_database or ["--database-url", f"sqlite:///{tmp_path / 'shared.db'}"]
    with fleet_on(tmp_path, database) as fleet:
        with Client(fleet.urls[0], key=ADMIN_KEY) as a:
            a.register_worker("10.0.0.1", ADMIN, "quote", "llama3.3:70b")
        deadline = time.monotonic() + 1.0  # max_staleness_ms defaults to 1000
        while httpx.get(f"{fleet.urls[1]}/v1/info").json()["workers"] != 1:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        with Client(fleet.urls[1], key=ADMIN_KEY) as b:  # the sender moves to b
            b.register_worker("10.0.0.2", ADMIN, "quote", "llama3.3:70b")
        assert httpx.get(f"{fleet.urls[2]}/v1/info").json()["workers"] == 2
