"""Query handlers. Each returns a typed answer; only the entry point serialises it."""

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

from worker_manager.contract.auth import load_config, load_worker, verify_subscriber
from worker_manager.contract.deps import Env, QueryDeps
from worker_manager.contract.error import InvalidField
from worker_manager.contract.liveliness import live_from_index, missed_epochs, status_of
from worker_manager.contract.msg import (
    DEFAULT_SUBSCRIBERS_LIMIT,
    DEFAULT_URLS_LIMIT,
    DEFAULT_WORKERS_LIMIT,
    MAX_SUBSCRIBERS_LIMIT,
    MAX_URLS_LIMIT,
    MAX_WORKERS_LIMIT,
    ConfigAnswer,
    GetSubscribers,
    GetUrls,
    GetWorker,
    GetWorkers,
    ModelsAnswer,
    PermitGetWorkers,
    SubscriberAnswer,
    SubscribersAnswer,
    UrlsAnswer,
    WorkerAnswer,
    WorkersAnswer,
)
from worker_manager.contract.serving import min_attested_index, not_served_because
from worker_manager.contract.state import Config, LivelinessState, Worker
from worker_manager.contract.validate import (
    canonical_address,
    canonical_worker_address,
    render_url_template,
)

if TYPE_CHECKING:
    from worker_manager.contract.assignment import RankingIndex


def _limit(value: int | None, default: int, maximum: int) -> int:
    if value is None:
        return default
    if value < 1:
        raise InvalidField("limit", f"must be at least 1, got {value}")
    return min(value, maximum)


def worker_url(config: Config, worker: Worker) -> str:
    """The worker's own URL, else the config's template applied to its address."""
    return worker.url or render_url_template(config.url_template, worker.ip_address)


def worker_answer(
    config: Config, state: LivelinessState, worker: Worker, min_attested: int | None
) -> WorkerAnswer:
    reasons = not_served_because(config, state, worker, min_attested)
    return WorkerAnswer(
        ip_address=worker.ip_address,
        payment_wallet=worker.payment_wallet,
        attestation_report=worker.attestation_report,
        worker_type=worker.worker_type,
        url=worker_url(config, worker),
        worker_public_key=worker.worker_public_key,
        capacity=worker.capacity,
        registered_height=worker.registered_height,
        registered_time=worker.registered_time,
        status=status_of(config, state, worker).value,
        last_seen=worker.last_seen_time,
        last_seen_epoch=worker.last_seen_epoch,
        missed_epochs=missed_epochs(state, worker),
        load=worker.load,
        paused=worker.paused,
        served=not reasons,
        not_served_because=reasons,
        attestation_status=worker.attestation_status,  # type: ignore[arg-type]
        attestation_reasons=list(worker.attestation_reasons),
        attestation_verdict=(
            json.loads(worker.attestation_verdict) if worker.attestation_verdict else None
        ),
    )


def query_workers(deps: QueryDeps, env: Env, msg: GetWorkers) -> WorkersAnswer:
    config = load_config(deps.storage)
    verify_subscriber(
        deps.storage,
        config,
        msg.subscriber_public_key,
        msg.signature,
        proof_time=msg.proof_time,
        env=env,
    )
    return workers_page(deps, config, msg)


def workers_page(
    deps: QueryDeps, config: Config, msg: GetWorkers | PermitGetWorkers
) -> WorkersAnswer:
    """A page of ``get_workers`` for a subscriber already checked (by proof or permit)."""
    limit = _limit(msg.limit, DEFAULT_WORKERS_LIMIT, MAX_WORKERS_LIMIT)
    start_after = None
    if msg.start_after:
        start_after = canonical_worker_address(msg.start_after, "start_after")
    owner = canonical_address("address", msg.address) if msg.address else None
    page = deps.storage.list_workers(start_after=start_after, limit=limit, payment_wallet=owner)
    state = deps.storage.load_liveliness()
    min_attested = min_attested_index(deps, state.up_index)
    return WorkersAnswer(
        workers=[worker_answer(config, state, w, min_attested) for w in page.workers],
        next_start_after=page.next_start_after,
    )


def query_worker(deps: QueryDeps, msg: GetWorker) -> WorkerAnswer:
    config = load_config(deps.storage)
    state = deps.storage.load_liveliness()
    min_attested = min_attested_index(deps, state.up_index)
    return worker_answer(config, state, load_worker(deps.storage, msg.ip_address), min_attested)


def query_models(deps: QueryDeps) -> ModelsAnswer:
    config = load_config(deps.storage)
    state = deps.storage.load_liveliness()
    min_attested = min_attested_index(deps, state.up_index)
    return ModelsAnswer(
        models=deps.storage.serving_types(live_from_index(config, state), min_attested)
    )


@dataclass(frozen=True, slots=True)
class UrlsRanking:
    """All a ``get_u_r_ls`` answer needs but the subscriber: the served workers of the
    model, ready to rank, and how to render their URLs. It changes only with the
    contract's ``serving_version``, so a node keeps one per (model, limit) and answers
    every bucket from it without reading the store."""

    live: "RankingIndex"
    url_template: str
    limit: int

    def answer(self, subscriber: str | None) -> UrlsAnswer:
        return UrlsAnswer(urls=list(self.ranked(subscriber)))

    def ranked(self, subscriber: str | None) -> dict[str, str]:
        """Up to ``limit`` distinct URLs in assignment order, each with the address of the
        first worker ranked there."""
        # NumPy ranks; loaded when a node first ranks, not by every tool that parses messages
        from worker_manager.contract.assignment import bucket_of

        bucket = bucket_of(subscriber or "")
        live, limit = self.live, self.limit
        found: dict[str, str] = {}
        for depth in (limit, len(live)):  # workers sharing a URL are rare: look deeper only then
            found = {}
            for worker in live.top(bucket, depth):
                url = worker.url or render_url_template(self.url_template, worker.ip_address)
                if url not in found:
                    found[url] = worker.ip_address
                    if len(found) == limit:
                        return found
        return found


def urls_ranking(deps: QueryDeps, msg: GetUrls) -> UrlsRanking:
    config = load_config(deps.storage)
    state = deps.storage.load_liveliness()
    limit = _limit(msg.limit, DEFAULT_URLS_LIMIT, MAX_URLS_LIMIT)
    live = deps.storage.serving_index(
        msg.model, live_from_index(config, state), min_attested_index(deps, state.up_index)
    )
    return UrlsRanking(live=live, url_template=config.url_template, limit=limit)


def query_urls(deps: QueryDeps, msg: GetUrls) -> UrlsAnswer:
    return urls_ranking(deps, msg).answer(msg.subscriber)


def query_config(deps: QueryDeps) -> ConfigAnswer:
    config = load_config(deps.storage)
    return ConfigAnswer(
        admin=config.admin,
        pending_admin=config.pending_admin,
        paused=config.paused,
        registration_mode=config.registration_mode.value,
        url_template=config.url_template,
        max_attestation_report_bytes=config.max_attestation_report_bytes,
        require_listed_subscribers=config.require_listed_subscribers,
        epoch_seconds=config.epoch_seconds,
        grace_epochs=config.grace_epochs,
        offline_after_epochs=config.offline_after_epochs,
        work_period_seconds=config.work_period_seconds,
        work_report_window_periods=config.work_report_window_periods,
        max_workers_per_owner=config.max_workers_per_owner,
        legacy_proofs=config.legacy_proofs,
        proof_window_seconds=config.proof_window_seconds,
        workers=deps.storage.count_workers(),
    )


def query_subscribers(deps: QueryDeps, msg: GetSubscribers) -> SubscribersAnswer:
    load_config(deps.storage)
    limit = _limit(msg.limit, DEFAULT_SUBSCRIBERS_LIMIT, MAX_SUBSCRIBERS_LIMIT)
    start_after = msg.start_after.lower() if msg.start_after else None
    subscribers = deps.storage.list_subscribers(start_after=start_after, limit=limit)
    return SubscribersAnswer(
        subscribers=[
            SubscriberAnswer(public_key=s.public_key, added_height=s.added_height)
            for s in subscribers
        ]
    )
