"""The dashboard's pages at 100,000 workers: each page's median and p99, one request at a
time (the time a page takes to answer, not a throughput), on SQLite and PostgreSQL.

The workers are written straight into the database (:mod:`bench._population`); a third
of them are made stale and a third offline (by their ``last_seen_index``), so the status
filters select real fractions, and one type in ten is filtered on."""

import statistics
import time
from typing import Any

import httpx
from sqlalchemy import update

from bench._harness import bench_node
from bench._population import populate, worker_address
from bench._scale import postgres
from worker_manager.contract.state import LivelinessState
from worker_manager.keys import PrivateKey
from worker_manager.settings import Settings, environment
from worker_manager.store import Store
from worker_manager.store.tables import workers

TOKEN = "bench-dashboard-token"
#: Every page must answer within this (issue 15).
TARGET_MS = 100.0


def _pages(count: int) -> dict[str, str]:
    middle = worker_address(count // 2)
    return {
        "summary": "/",
        "workers": "/dashboard/workers",
        "workers?status=stale": "/dashboard/workers?status=stale",
        "workers?status=offline&type": "/dashboard/workers?status=offline&type=model-3",
        "workers?q=prefix": f"/dashboard/workers?q={middle.rsplit('.', 1)[0]}.",
        "workers?after (a late page)": f"/dashboard/workers?after={middle}",
        "workers?attestation=rejected": "/dashboard/workers?attestation=rejected",
        "worker": f"/dashboard/workers/{middle}",
        "blocks": "/dashboard/blocks",
        "config": "/dashboard/config",
    }


def _prepare(home: Any, count: int) -> None:
    populate(home, count, models=10, with_keys=False)
    with (home / "config.toml").open("a") as config:
        config.write(f'\n[dashboard]\ntoken = "{TOKEN}"\n')
    store = Store(Settings.load(home, environment()).database_url)
    with store.write() as session:
        # up_index 20: last_seen_index 20 is live, 12 stale, 0 offline (grace 3, offline 10)
        session.contract.save_liveliness(LivelinessState(up_index=20))
        for status_index, remainder in ((20, 0), (12, 1)):
            session.connection.execute(
                update(workers)
                .where(workers.c.capacity % 3 == remainder)
                .values(last_seen_index=status_index)
            )
    store.close()


def _measure(client: httpx.Client, path: str, requests: int) -> dict[str, Any]:
    for _ in range(3):  # warm: first answers fill caches
        client.get(path).raise_for_status()
    times = []
    size = 0
    for _ in range(requests):
        started = time.perf_counter()
        answer = client.get(path)
        times.append((time.perf_counter() - started) * 1000)
        answer.raise_for_status()
        size = len(answer.content)
    times.sort()
    return {
        "median_ms": round(statistics.median(times), 2),
        "p99_ms": round(times[min(len(times) - 1, int(len(times) * 0.99))], 2),
        "max_ms": round(times[-1], 2),
        "requests": requests,
        "bytes": size,
    }


def _engine(count: int, requests: int, database_url: str | None) -> dict[str, Any]:
    admin = PrivateKey(b"\x03" * 32).address
    with (
        bench_node(
            admin, database_url=database_url, prepare=lambda home: _prepare(home, count)
        ) as node,
        httpx.Client(base_url=node.url, timeout=30) as client,
    ):
        client.get(f"/?token={TOKEN}")  # the operator's cookie
        pages = {name: _measure(client, path, requests) for name, path in _pages(count).items()}
        shown = client.get("/").text
    assert f'id="workers-total">{count:,}<' in shown, "the summary did not count every worker"
    return {"workers": count, "pages": pages}


def dashboard(count: int, requests: int) -> dict[str, Any]:
    """Each page's median and p99 (ms) at ``count`` workers, per engine."""
    print(f"  dashboard: sqlite, {count:,} workers", flush=True)
    results = {"sqlite": _engine(count, requests, None)}
    with postgres() as server:
        print(f"  dashboard: postgresql, {count:,} workers", flush=True)
        url = server.create_database("wm_dashboard")
        results["postgresql"] = _engine(count, requests, url)
        server.drop_database("wm_dashboard")
    return results
