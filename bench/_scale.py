"""The scale curve: one node at 100 ... 100,000 workers, on SQLite and on PostgreSQL.

At each size: how long ``serve`` takes to answer, ``GET /v1/urls`` req/s with its
p50 and p99 (1,000 subscribers), the node's resident memory after the run, and the
database's size on disk."""

import contextlib
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench._harness import bench_node, database_mb, rss_mb
from bench._population import populate
from bench._reads import MODEL, SUBSCRIBERS, subscriber
from bench._wrk import wrk
from worker_manager.keys import PrivateKey


@contextlib.contextmanager
def postgres() -> Iterator[Any]:
    """A durable PostgreSQL server of the machine's own (as the tests start one)."""
    from tests.postgres import PostgresServer

    server = PostgresServer(durable=True).start()
    try:
        yield server
    finally:
        server.stop()


def _point(
    workers: int, seconds: float, connections: int, database_url: str | None
) -> dict[str, Any]:
    admin = PrivateKey(b"\x03" * 32).address
    with (
        bench_node(
            admin,
            database_url=database_url,
            prepare=lambda home: populate(home, workers, models=10, with_keys=False),
        ) as node,
        tempfile.TemporaryDirectory() as tmp,
    ):
        gets = Path(tmp) / "gets.txt"
        gets.write_text(
            "".join(
                f"/v1/urls?model={MODEL}&subscriber={subscriber(i)}\n" for i in range(SUBSCRIBERS)
            )
        )
        args = (str(gets), "GET")
        wrk(
            node.url,
            seconds=max(1, seconds / 3),
            connections=connections,
            script="wrk_lines.lua",
            args=args,
        )
        run = wrk(
            node.url, seconds=seconds, connections=connections, script="wrk_lines.lua", args=args
        )
        return {
            "workers": workers,
            "start_s": round(node.start_s, 2),
            "rss_mb": round(rss_mb(node.process.pid), 1),
            "database_mb": round(database_mb(node), 1),
            **run,
        }


def scale_curve(sizes: list[int], seconds: float, connections: int) -> list[dict[str, Any]]:
    points = []
    for size in sizes:
        print(f"  scale: sqlite, {size} workers", flush=True)
        points.append({"engine": "sqlite", **_point(size, seconds, connections, None)})
    with postgres() as server:
        for n, size in enumerate(sizes):
            print(f"  scale: postgresql, {size} workers", flush=True)
            url = server.create_database(f"wm_scale_{n}")
            points.append({"engine": "postgresql", **_point(size, seconds, connections, url)})
            server.drop_database(f"wm_scale_{n}")
    return points
