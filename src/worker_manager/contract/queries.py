"""Query handlers. Each returns a typed answer; only the entry point serialises it."""

from worker_manager.contract.auth import load_config, load_worker, verify_subscriber
from worker_manager.contract.deps import QueryDeps
from worker_manager.contract.error import InvalidField
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
    SubscriberAnswer,
    SubscribersAnswer,
    UrlsAnswer,
    WorkerAnswer,
    WorkersAnswer,
)
from worker_manager.contract.state import Config, Worker
from worker_manager.contract.validate import (
    canonical_address,
    canonical_worker_address,
    render_url_template,
)


def _limit(value: int | None, default: int, maximum: int) -> int:
    if value is None:
        return default
    if value < 1:
        raise InvalidField("limit", f"must be at least 1, got {value}")
    return min(value, maximum)


def worker_url(config: Config, worker: Worker) -> str:
    """The worker's own URL, else the config's template applied to its address."""
    return worker.url or render_url_template(config.url_template, worker.ip_address)


def worker_answer(config: Config, worker: Worker) -> WorkerAnswer:
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
    )


def query_workers(deps: QueryDeps, msg: GetWorkers) -> WorkersAnswer:
    config = load_config(deps.storage)
    verify_subscriber(deps.storage, config, msg.subscriber_public_key, msg.signature)
    limit = _limit(msg.limit, DEFAULT_WORKERS_LIMIT, MAX_WORKERS_LIMIT)
    start_after = None
    if msg.start_after:
        start_after = canonical_worker_address(msg.start_after, "start_after")
    owner = canonical_address("address", msg.address) if msg.address else None
    page = deps.storage.list_workers(start_after=start_after, limit=limit, payment_wallet=owner)
    return WorkersAnswer(
        workers=[worker_answer(config, w) for w in page.workers],
        next_start_after=page.next_start_after,
    )


def query_worker(deps: QueryDeps, msg: GetWorker) -> WorkerAnswer:
    config = load_config(deps.storage)
    return worker_answer(config, load_worker(deps.storage, msg.ip_address))


def query_models(deps: QueryDeps) -> ModelsAnswer:
    load_config(deps.storage)
    return ModelsAnswer(models=deps.storage.worker_types())


def query_urls(deps: QueryDeps, msg: GetUrls) -> UrlsAnswer:
    config = load_config(deps.storage)
    limit = _limit(msg.limit, DEFAULT_URLS_LIMIT, MAX_URLS_LIMIT)
    urls: list[str] = []
    seen: set[str] = set()
    for worker in deps.storage.workers_of_type(msg.model, limit=limit):
        url = worker_url(config, worker)
        if url not in seen:
            seen.add(url)
            urls.append(url)
    return UrlsAnswer(urls=urls)


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
