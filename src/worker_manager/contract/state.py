"""The records the contract keeps. Plain data: the rules live in the handlers."""

from dataclasses import asdict, dataclass, field, fields, replace
from enum import StrEnum
from typing import Any, Self

#: Attestation reports are capped so one registration cannot bloat every query.
DEFAULT_MAX_ATTESTATION_REPORT_BYTES = 64 * 1024
#: Where a worker's URL comes from when it registered none.
DEFAULT_URL_TEMPLATE = "https://{address}"


class RegistrationMode(StrEnum):
    """Who may send ``register_worker``."""

    ADMIN = "admin"
    """Only the admin registers workers (the original contract's rule)."""
    OPEN = "open"
    """Any sender may register a worker (it becomes the worker's record; the
    payment wallet owns it). Meant for networks that check attestation."""


@dataclass(frozen=True, slots=True)
class Config:
    """Contract-wide settings, changed only by the admin."""

    admin: str
    pending_admin: str | None = None
    paused: bool = False
    registration_mode: RegistrationMode = RegistrationMode.ADMIN
    url_template: str = DEFAULT_URL_TEMPLATE
    max_attestation_report_bytes: int = DEFAULT_MAX_ATTESTATION_REPORT_BYTES
    require_listed_subscribers: bool = False

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Self:
        """Load stored config; fields added by later versions take their defaults."""
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        if "registration_mode" in values:
            values["registration_mode"] = RegistrationMode(values["registration_mode"])
        return cls(**values)

    def with_changes(self, **changes: Any) -> Self:
        return replace(self, **changes)


@dataclass(frozen=True, slots=True)
class Worker:
    """One registered worker, keyed by its canonical ``ip_address``."""

    ip_address: str
    payment_wallet: str
    attestation_report: str
    worker_type: str
    url: str | None = None
    worker_public_key: str | None = None
    capacity: int = 1
    registered_height: int = 0
    registered_time: int = 0
    updated_height: int = 0

    def with_changes(self, **changes: Any) -> Self:
        return replace(self, **changes)


@dataclass(frozen=True, slots=True)
class Subscriber:
    """A subscriber public key (hex, compressed) the admin put on the list."""

    public_key: str
    added_height: int = 0


@dataclass(frozen=True, slots=True)
class WorkerPage:
    """One page of workers in key order; ``next_start_after`` is None on the last page."""

    workers: list[Worker] = field(default_factory=list)
    next_start_after: str | None = None
