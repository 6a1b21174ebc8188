"""The node's Prometheus metrics, in a registry of its own (``GET /metrics``).

Each :class:`~worker_manager.node.Node` has one :class:`NodeMetrics`: several nodes in
one process (tests, tools) never share counters. What is counted as it happens (txs
by message and result, ante refusals, blocks, database errors, request latency) is
kept in memory; what describes the state (workers by status and type, served workers
per model, height, queue depth, collateral) is read when scraped, with two grouped
queries at most once a second whatever the number of workers.

With ``serve --workers N`` each process has its own numbers: a scrape sees the process
the kernel gave the connection to (its ``pid`` is in ``worker_manager_process_info``).
"""

import bisect
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from worker_manager.contract import Api
from worker_manager.contract.deps import QueryDeps
from worker_manager.contract.liveliness import Status, live_from_index
from worker_manager.contract.serving import ANY_AGE, min_attested_index
from worker_manager.contract.state import Config, LivelinessState
from worker_manager.store import Store

#: ``Content-Type`` of the text exposition format.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
PREFIX = "worker_manager_"
#: How long a scrape's reading of the workers is reused (the store is read at most
#: this often, however many scrapers there are).
STATE_TTL_S = 1.0
#: Request latency buckets, seconds (the front door answers in well under a millisecond).
LATENCY_BUCKETS = (
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
)
BLOCK_TXS_BUCKETS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)
COMMIT_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
#: The methods kept as label values; any other is counted as ``other``.
METHODS = frozenset({"GET", "POST", "HEAD", "OPTIONS", "PUT", "DELETE", "PATCH"})
#: The route label of a request no route matched (never the raw path: unbounded).
UNMATCHED = "unmatched"


class RouteLatency(Collector):
    """``worker_manager_http_request_duration_seconds{method, route}``: a histogram per
    route template, lean enough for the front door (a bisect and two additions per
    request, no lock: requests are observed on the server's event loop thread)."""

    name = PREFIX + "http_request_duration_seconds"

    def __init__(self, buckets: tuple[float, ...] = LATENCY_BUCKETS) -> None:
        self._bounds = buckets
        #: (method, route) -> [count per bucket..., +Inf count, sum]
        self._series: dict[tuple[str, str], list[float]] = {}

    def observe(self, method: str, route: str, seconds: float) -> None:
        series = self._series.get((method, route))
        if series is None:
            if method not in METHODS:
                method = "other"
            series = self._series.setdefault((method, route), [0.0] * (len(self._bounds) + 2))
        series[bisect.bisect_left(self._bounds, seconds)] += 1
        series[-1] += seconds

    def collect(self) -> Iterator[Metric]:
        family = HistogramMetricFamily(
            self.name,
            "Time to answer an HTTP request, by route template",
            labels=["method", "route"],
        )
        for (method, route), series in sorted(self._series.items()):
            counts = list(series[:-1])
            cumulative, running = [], 0.0
            for bound, count in zip((*self._bounds, float("inf")), counts, strict=True):
                running += count
                cumulative.append((_bound(bound), running))
            family.add_metric([method, route], cumulative, series[-1])
        yield family


def _bound(value: float) -> str:
    return "+Inf" if value == float("inf") else repr(float(value))


@dataclass(frozen=True, slots=True)
class WorkerCounts:
    """Workers by (type, status) and served workers by type, at one height."""

    by_status: dict[tuple[str, str], int]
    served: dict[str, int]


def status_floors(config: Config, state: LivelinessState) -> tuple[int, int]:
    """The least ``last_seen_index`` of a live worker and of a stale one (as
    :func:`~worker_manager.contract.liveliness.status_of` judges, resumes included)."""
    live_from = live_from_index(config, state)
    stale_from = state.up_index - config.offline_after_epochs
    if state.resume_index and state.resume_index - 1 >= stale_from:
        stale_from = ANY_AGE
    return live_from, stale_from


def read_worker_counts(store: Store, api: Api) -> WorkerCounts:
    """Workers by type and status, and served workers per model: two grouped queries in
    one read transaction, whatever the number of workers."""
    with store.read() as session:
        storage = session.contract
        config = storage.load_config()
        if config is None:
            return WorkerCounts({}, {})
        state = storage.load_liveliness()
        live_from, stale_from = status_floors(config, state)
        min_attested = min_attested_index(QueryDeps(storage, api), state.up_index)
        return WorkerCounts(
            by_status=storage.count_workers_by_status(live_from, stale_from),
            served=storage.count_serving_by_type(live_from, min_attested),
        )


@dataclass(slots=True)
class NodeState:
    """What the state collector reads: the callables the node hands it."""

    height: Callable[[], int]
    queue_depth: Callable[[], int]
    worker_counts: Callable[[], WorkerCounts]
    #: :meth:`Node.collateral_health`'s answer (``oldest_age_s``, ``next_update_in_s``,
    #: ``last_refresh_ok``; None: no collateral directory)
    collateral: Callable[[], Any] | None = None


class _StateCollector(Collector):
    def __init__(self, state: NodeState, ttl_s: float) -> None:
        self._state = state
        self._ttl = ttl_s
        self._lock = threading.Lock()
        self._read_at = -1e18
        self._counts = WorkerCounts({}, {})

    def _worker_counts(self) -> WorkerCounts:
        with self._lock:  # one reading at a time; scrapers within the second share it
            now = time.monotonic()
            if now - self._read_at >= self._ttl:
                self._counts = self._state.worker_counts()
                self._read_at = time.monotonic()
            return self._counts

    def collect(self) -> Iterable[Metric]:
        info = GaugeMetricFamily(
            PREFIX + "process_info", "This node process (its pid)", labels=["pid"]
        )
        info.add_metric([str(os.getpid())], 1)
        yield info
        yield GaugeMetricFamily(
            PREFIX + "height", "The height of the last block this node knows", self._state.height()
        )
        yield GaugeMetricFamily(
            PREFIX + "queue_depth",
            "Txs accepted by this node and waiting for a block",
            self._state.queue_depth(),
        )
        counts = self._worker_counts()
        workers = GaugeMetricFamily(
            PREFIX + "workers", "Registered workers by status and type", labels=["status", "type"]
        )
        types = sorted({worker_type for worker_type, _status in counts.by_status})
        for worker_type in types:
            for status in Status:
                workers.add_metric(
                    [status.value, worker_type], counts.by_status.get((worker_type, status), 0)
                )
        yield workers
        served = GaugeMetricFamily(
            PREFIX + "served_workers",
            "Workers given to subscribers (live, attested, endpoint not failing) per model",
            labels=["model"],
        )
        for model in sorted(set(types) | set(counts.served)):
            served.add_metric([model], counts.served.get(model, 0))
        yield served
        health = self._state.collateral() if self._state.collateral is not None else None
        if health is not None:
            yield from _collateral_gauges(health)


def _collateral_gauges(health: Any) -> Iterator[Metric]:
    """The gauges of a :class:`~worker_manager.node.collateral_refresh.CollateralHealth`
    (each only when known)."""
    if health.oldest_age_s is not None:
        yield GaugeMetricFamily(
            PREFIX + "collateral_age_seconds",
            "Age of the oldest Intel collateral bundle in use (since its issue date)",
            health.oldest_age_s,
        )
    if health.next_update_in_s is not None:
        yield GaugeMetricFamily(
            PREFIX + "collateral_next_update_seconds",
            "Seconds until a platform's newest collateral passes its nextUpdate (negative: past)",
            health.next_update_in_s,
        )
    if health.last_refresh_ok is not None:
        yield GaugeMetricFamily(
            PREFIX + "collateral_last_refresh_ok",
            "1 when the last collateral refresh got every bundle due, else 0",
            1 if health.last_refresh_ok else 0,
        )


class NodeMetrics:
    """One node's metrics. Counting is cheap and always on; ``GET /metrics`` renders
    them (see :mod:`worker_manager.api.observe`)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        registry = self.registry
        self.txs = Counter(
            PREFIX + "txs",
            "Txs run in a committed block, by their first message and result (ok or the error)",
            ["message", "result"],
            registry=registry,
        )
        self.ante_refusals = Counter(
            PREFIX + "ante_refusals",
            "Txs refused before a block (the ante checks, a full mempool), by reason",
            ["reason"],
            registry=registry,
        )
        self.database_errors = Counter(
            PREFIX + "database_errors",
            "Times the database could not answer: a request answered 503, a block refused",
            ["where"],
            registry=registry,
        )
        self.block_txs = Histogram(
            PREFIX + "block_txs",
            "Txs per committed block",
            buckets=BLOCK_TXS_BUCKETS,
            registry=registry,
        )
        self.block_commit_seconds = Histogram(
            PREFIX + "block_commit_seconds",
            "Time to write and commit a block (the block lock's wait included)",
            buckets=COMMIT_BUCKETS,
            registry=registry,
        )
        self.requests = RouteLatency()
        registry.register(self.requests)
        self._txs_children: dict[tuple[str, str], Any] = {}

    def watch(self, state: NodeState, *, ttl_s: float = STATE_TTL_S) -> None:
        """Read the node's state at each scrape (once)."""
        self.registry.register(_StateCollector(state, ttl_s))

    def tx_done(self, message: str, result: str) -> None:
        child = self._txs_children.get((message, result))
        if child is None:
            child = self._txs_children.setdefault(
                (message, result), self.txs.labels(message=message, result=result)
            )
        child.inc()

    def refused(self, reason: str) -> None:
        self.ante_refusals.labels(reason=reason).inc()

    def database_error(self, where: str) -> None:
        self.database_errors.labels(where=where).inc()

    def block_committed(self, txs: int, seconds: float) -> None:
        self.block_txs.observe(txs)
        self.block_commit_seconds.observe(seconds)

    def render(self) -> bytes:
        """The text exposition of every metric."""
        return generate_latest(self.registry)
