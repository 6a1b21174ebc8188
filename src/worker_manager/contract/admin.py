"""Execute handlers for the admin: hand-over, subscribers, config, pause."""

from typing import Any

from worker_manager.contract.auth import require_admin
from worker_manager.contract.deps import Deps, Env, MessageInfo
from worker_manager.contract.error import (
    InvalidConfig,
    InvalidMessage,
    NoPendingAdmin,
    SubscriberExists,
    SubscriberNotFound,
    Unauthorized,
)
from worker_manager.contract.msg import (
    AcceptAdmin,
    AddSubscriber,
    CancelAdminProposal,
    ProposeAdmin,
    RemoveSubscriber,
    SetConfig,
)
from worker_manager.contract.response import Response
from worker_manager.contract.serving import serving_changed
from worker_manager.contract.state import Config, RegistrationMode, Subscriber
from worker_manager.contract.validate import canonical_address, public_key_hex, url_template

MIN_ATTESTATION_REPORT_BYTES = 1024
MAX_ATTESTATION_REPORT_BYTES = 1024 * 1024


def execute_propose_admin(
    deps: Deps, info: MessageInfo, config: Config, msg: ProposeAdmin
) -> Response:
    require_admin(config, info.sender)
    new_admin = canonical_address("new_admin", msg.new_admin)
    deps.storage.save_config(config.with_changes(pending_admin=new_admin))
    return Response.of(
        "propose_admin", {"pending_admin": new_admin}, admin=config.admin, pending_admin=new_admin
    )


def execute_accept_admin(
    deps: Deps, info: MessageInfo, config: Config, _msg: AcceptAdmin
) -> Response:
    if config.pending_admin is None:
        raise NoPendingAdmin()
    if info.sender != config.pending_admin:
        raise Unauthorized(info.sender, "the proposed admin")
    deps.storage.save_config(config.with_changes(admin=info.sender, pending_admin=None))
    return Response.of(
        "accept_admin", {"admin": info.sender}, old_admin=config.admin, admin=info.sender
    )


def execute_cancel_admin_proposal(
    deps: Deps, info: MessageInfo, config: Config, _msg: CancelAdminProposal
) -> Response:
    require_admin(config, info.sender)
    if config.pending_admin is None:
        raise NoPendingAdmin()
    deps.storage.save_config(config.with_changes(pending_admin=None))
    return Response.of(
        "cancel_admin_proposal", {"pending_admin": None}, cancelled=config.pending_admin
    )


def execute_add_subscriber(
    deps: Deps, env: Env, info: MessageInfo, config: Config, msg: AddSubscriber
) -> Response:
    require_admin(config, info.sender)
    key = public_key_hex(msg.public_key, "public_key").hex()
    if deps.storage.get_subscriber(key) is not None:
        raise SubscriberExists(key)
    deps.storage.add_subscriber(Subscriber(public_key=key, added_height=env.block.height))
    return Response.of("add_subscriber", {"public_key": key}, public_key=key)


def execute_remove_subscriber(
    deps: Deps, info: MessageInfo, config: Config, msg: RemoveSubscriber
) -> Response:
    require_admin(config, info.sender)
    key = public_key_hex(msg.public_key, "public_key").hex()
    if deps.storage.get_subscriber(key) is None:
        raise SubscriberNotFound(key)
    deps.storage.remove_subscriber(key)
    return Response.of("remove_subscriber", {"public_key": key}, public_key=key)


#: (least, most) of each whole-number setting. Seconds-long epochs and periods
#: are allowed for tests and demos; production wants a minute or more.
NUMBER_RANGES: dict[str, tuple[int, int]] = {
    "epoch_seconds": (1, 86_400),
    "grace_epochs": (1, 10_000),
    "offline_after_epochs": (1, 100_000),
    "work_period_seconds": (1, 30 * 86_400),
    "work_report_window_periods": (1, 100_000),
    "max_workers_per_owner": (1, 1_000_000),
    "proof_window_seconds": (1, 86_400),
}


def _numbers(values: dict[str, int | None], current: Config) -> dict[str, int]:
    changes: dict[str, int] = {}
    for name, value in values.items():
        if value is None:
            continue
        low, high = NUMBER_RANGES[name]
        if not low <= value <= high:
            raise InvalidConfig(name, f"must be between {low} and {high}, got {value}")
        changes[name] = value
    grace = changes.get("grace_epochs", current.grace_epochs)
    offline = changes.get("offline_after_epochs", current.offline_after_epochs)
    if offline <= grace:
        raise InvalidConfig(
            "offline_after_epochs",
            f"must be more than grace_epochs ({grace}): a worker is stale in between",
        )
    return changes


def config_changes(
    *,
    registration_mode: str | None,
    url_template_value: str | None,
    max_attestation_report_bytes: int | None,
    require_listed_subscribers: bool | None,
    legacy_proofs: bool | None = None,
    numbers: dict[str, int | None] | None = None,
    current: Config | None = None,
) -> dict[str, Any]:
    """Validate optional config fields (shared by instantiate and set_config)."""
    changes: dict[str, Any] = {}
    if numbers:
        changes.update(_numbers(numbers, current or Config(admin="")))
    if registration_mode is not None:
        changes["registration_mode"] = RegistrationMode(registration_mode)
    if url_template_value is not None:
        changes["url_template"] = url_template(url_template_value)
    if max_attestation_report_bytes is not None:
        if not (
            MIN_ATTESTATION_REPORT_BYTES
            <= max_attestation_report_bytes
            <= MAX_ATTESTATION_REPORT_BYTES
        ):
            raise InvalidConfig(
                "max_attestation_report_bytes",
                f"must be between {MIN_ATTESTATION_REPORT_BYTES} and "
                f"{MAX_ATTESTATION_REPORT_BYTES}, got {max_attestation_report_bytes}",
            )
        changes["max_attestation_report_bytes"] = max_attestation_report_bytes
    if require_listed_subscribers is not None:
        changes["require_listed_subscribers"] = require_listed_subscribers
    if legacy_proofs is not None:
        changes["legacy_proofs"] = legacy_proofs
    return changes


def execute_set_config(deps: Deps, info: MessageInfo, config: Config, msg: SetConfig) -> Response:
    require_admin(config, info.sender)
    changes = config_changes(
        registration_mode=msg.registration_mode,
        url_template_value=msg.url_template,
        max_attestation_report_bytes=msg.max_attestation_report_bytes,
        require_listed_subscribers=msg.require_listed_subscribers,
        legacy_proofs=msg.legacy_proofs,
        numbers={name: getattr(msg, name) for name in NUMBER_RANGES},
        current=config,
    )
    if not changes:
        raise InvalidMessage("set_config: give at least one setting to change")
    updated = config.with_changes(**changes)
    if updated != config:  # a repeat changes nothing, not even the query caches
        deps.storage.save_config(updated)
        serving_changed(deps)
    return Response.of(
        "set_config",
        {"changed": sorted(changes)},
        **{key: _attribute(value) for key, value in sorted(changes.items())},
    )


def _attribute(value: object) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def execute_pause(deps: Deps, info: MessageInfo, config: Config, *, paused: bool) -> Response:
    """Pause or unpause; repeating either is harmless."""
    require_admin(config, info.sender)
    if config.paused != paused:
        deps.storage.save_config(config.with_changes(paused=paused))
    action = "pause" if paused else "unpause"
    return Response.of(action, {"paused": paused}, paused=str(paused).lower())
