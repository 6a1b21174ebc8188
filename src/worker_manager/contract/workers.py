"""Execute handlers for worker records: register, change, move, remove.

Every handler validates all of its input before it writes anything, and the
node runs it inside one store transaction, so a refusal never leaves a
partial change behind.
"""

from worker_manager.contract.attestation import with_verdict
from worker_manager.contract.auth import (
    load_worker,
    require_admin,
    require_owner,
    require_owner_or_admin,
)
from worker_manager.contract.deps import Deps, Env, MessageInfo
from worker_manager.contract.error import (
    InvalidField,
    TooManyWorkers,
    WorkerExists,
    WorkerKeyInUse,
)
from worker_manager.contract.msg import (
    RegisterWorker,
    RemoveWorker,
    SetWorkerAddress,
    SetWorkerPaused,
    SetWorkerType,
    SetWorkerUrl,
    SetWorkerWallet,
)
from worker_manager.contract.response import Response
from worker_manager.contract.serving import ENDPOINT_UNCHECKED, serving_changed
from worker_manager.contract.state import Config, RegistrationMode, Worker
from worker_manager.contract.validate import (
    attestation_report_text,
    canonical_address,
    canonical_worker_address,
    http_url,
    public_key_hex,
    worker_type,
)

MAX_CAPACITY = 1_000_000


def _capacity(value: int | None) -> int:
    if value is None:
        return 1
    if not 1 <= value <= MAX_CAPACITY:
        raise InvalidField("capacity", f"must be between 1 and {MAX_CAPACITY}, got {value}")
    return value


def _check_owner_limit(deps: Deps, config: Config, sender: str, wallet: str) -> None:
    """Refuse a worker coming to ``wallet`` past the config's limit, unless the admin sends."""
    if sender == config.admin:
        return
    if deps.storage.count_workers_owned_by(wallet) >= config.max_workers_per_owner:
        raise TooManyWorkers(wallet, config.max_workers_per_owner)


def execute_register_worker(
    deps: Deps, env: Env, info: MessageInfo, config: Config, msg: RegisterWorker
) -> Response:
    if config.registration_mode is RegistrationMode.ADMIN:
        require_admin(config, info.sender)
    ip_address = canonical_worker_address(msg.ip_address)
    wallet = canonical_address("payment_wallet", msg.payment_wallet)
    kind = worker_type(msg.worker_type)
    report = attestation_report_text(config, msg.attestation_report)
    url = http_url(msg.url) if msg.url is not None else None
    capacity = _capacity(msg.capacity)
    worker_key = None
    if msg.worker_public_key is not None:
        worker_key = public_key_hex(msg.worker_public_key, "worker_public_key").hex()

    if deps.storage.get_worker(ip_address) is not None:
        raise WorkerExists(ip_address)
    _check_owner_limit(deps, config, info.sender, wallet)
    if worker_key is not None:
        holder = deps.storage.get_worker_by_key(worker_key)
        if holder is not None:
            raise WorkerKeyInUse(worker_key, holder.ip_address)

    up_index = deps.storage.load_liveliness().up_index
    worker = with_verdict(
        deps,
        env,
        info,
        config,
        Worker(
            ip_address=ip_address,
            payment_wallet=wallet,
            attestation_report=report,
            worker_type=kind,
            url=url,
            worker_public_key=worker_key,
            capacity=capacity,
            registered_height=env.block.height,
            registered_time=env.block.time,
            updated_height=env.block.height,
            # served for one grace period, until its agent starts answering
            last_seen_index=up_index,
        ),
        may_refuse=True,
    )
    deps.storage.insert_worker(worker)
    serving_changed(deps)
    return Response.of(
        "register_worker",
        {
            "ip_address": ip_address,
            "status": "registered",
            "attestation_status": worker.attestation_status,
        },
        ip_address=ip_address,
        payment_wallet=wallet,
        worker_type=kind,
    )


def execute_set_worker_wallet(
    deps: Deps, env: Env, info: MessageInfo, config: Config, msg: SetWorkerWallet
) -> Response:
    worker = load_worker(deps.storage, msg.ip_address)
    require_owner(worker, info.sender)
    wallet = canonical_address("payment_wallet", msg.payment_wallet)
    if wallet != worker.payment_wallet:
        _check_owner_limit(deps, config, info.sender, wallet)
        deps.storage.update_worker(
            worker.ip_address,
            worker.with_changes(payment_wallet=wallet, updated_height=env.block.height),
        )
    return Response.of(
        "set_worker_wallet",
        {"ip_address": worker.ip_address, "payment_wallet": wallet},
        ip_address=worker.ip_address,
        old_payment_wallet=worker.payment_wallet,
        payment_wallet=wallet,
    )


def execute_set_worker_address(
    deps: Deps, env: Env, info: MessageInfo, msg: SetWorkerAddress
) -> Response:
    worker = load_worker(deps.storage, msg.old_ip_address, "old_ip_address")
    require_owner(worker, info.sender)
    new_address = canonical_worker_address(msg.new_ip_address, "new_ip_address")
    if new_address != worker.ip_address:
        if deps.storage.get_worker(new_address) is not None:
            raise WorkerExists(new_address)
        deps.storage.update_worker(
            worker.ip_address,
            worker.with_changes(
                ip_address=new_address,
                updated_height=env.block.height,
                **ENDPOINT_UNCHECKED,  # its URL may have moved with the address
            ),
        )
        serving_changed(deps)
    return Response.of(
        "set_worker_address",
        {"ip_address": new_address, "old_ip_address": worker.ip_address},
        old_ip_address=worker.ip_address,
        ip_address=new_address,
    )


def execute_set_worker_type(
    deps: Deps, env: Env, info: MessageInfo, msg: SetWorkerType
) -> Response:
    worker = load_worker(deps.storage, msg.ip_address)
    require_owner(worker, info.sender)
    kind = worker_type(msg.worker_type)
    if kind != worker.worker_type:  # a repeat changes nothing, not even the query caches
        deps.storage.update_worker(
            worker.ip_address,
            worker.with_changes(worker_type=kind, updated_height=env.block.height),
        )
        serving_changed(deps)
    return Response.of(
        "set_worker_type",
        {"ip_address": worker.ip_address, "worker_type": kind},
        ip_address=worker.ip_address,
        worker_type=kind,
    )


def execute_set_worker_url(deps: Deps, env: Env, info: MessageInfo, msg: SetWorkerUrl) -> Response:
    worker = load_worker(deps.storage, msg.ip_address)
    require_owner(worker, info.sender)
    url = http_url(msg.url) if msg.url is not None else None
    if url != worker.url:  # a repeat changes nothing, not even the query caches
        deps.storage.update_worker(
            worker.ip_address,
            worker.with_changes(url=url, updated_height=env.block.height, **ENDPOINT_UNCHECKED),
        )
        serving_changed(deps)
    return Response.of(
        "set_worker_url",
        {"ip_address": worker.ip_address, "url": url},
        ip_address=worker.ip_address,
        url=url or "",
    )


def execute_remove_worker(
    deps: Deps, info: MessageInfo, config: Config, msg: RemoveWorker
) -> Response:
    worker = load_worker(deps.storage, msg.ip_address)
    require_owner_or_admin(worker, config, info.sender)
    deps.storage.delete_worker(worker.ip_address)
    serving_changed(deps)
    return Response.of(
        "remove_worker",
        {"ip_address": worker.ip_address, "status": "removed"},
        ip_address=worker.ip_address,
    )


def execute_set_worker_paused(
    deps: Deps, env: Env, info: MessageInfo, msg: SetWorkerPaused
) -> Response:
    worker = load_worker(deps.storage, msg.ip_address)
    require_owner(worker, info.sender)
    if worker.paused != msg.paused:
        deps.storage.update_worker(
            worker.ip_address,
            worker.with_changes(paused=msg.paused, updated_height=env.block.height),
        )
        serving_changed(deps)
    return Response.of(
        "set_worker_paused",
        {"ip_address": worker.ip_address, "paused": msg.paused},
        ip_address=worker.ip_address,
        paused=str(msg.paused).lower(),
    )
