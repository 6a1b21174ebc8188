"""The records the contract keeps. Plain data: the rules live in the handlers."""

from dataclasses import asdict, dataclass, field, fields, replace
from enum import StrEnum
from typing import Any, Literal, Self

#: Attestation reports are capped so one registration cannot bloat every query.
DEFAULT_MAX_ATTESTATION_REPORT_BYTES = 64 * 1024
#: Where a worker's URL comes from when it registered none.
DEFAULT_URL_TEMPLATE = "https://{address}"
#: Liveliness: one challenge per epoch; live while at most ``grace`` up epochs
#: were missed, stale until ``offline_after``, then offline.
DEFAULT_EPOCH_SECONDS = 60
DEFAULT_GRACE_EPOCHS = 3
DEFAULT_OFFLINE_AFTER_EPOCHS = 10
DEFAULT_PROOF_WINDOW_SECONDS = 300
#: Work is reported per period (an hour by default), for up to two days after it ends.
DEFAULT_WORK_PERIOD_SECONDS = 3600
DEFAULT_WORK_REPORT_WINDOW_PERIODS = 48
#: Workers one payment wallet may come to own by anyone's message but the admin's: an
#: abuse limit for open registration (the admin may raise it, up to a million).
DEFAULT_MAX_WORKERS_PER_OWNER = 1000


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
    epoch_seconds: int = DEFAULT_EPOCH_SECONDS
    grace_epochs: int = DEFAULT_GRACE_EPOCHS
    offline_after_epochs: int = DEFAULT_OFFLINE_AFTER_EPOCHS
    work_period_seconds: int = DEFAULT_WORK_PERIOD_SECONDS
    work_report_window_periods: int = DEFAULT_WORK_REPORT_WINDOW_PERIODS
    max_workers_per_owner: int = DEFAULT_MAX_WORKERS_PER_OWNER
    #: Accept the original's replayable get_workers proof (sha256 of the public key).
    legacy_proofs: bool = True
    #: How far a time-bound proof's ``proof_time`` may be from the block time.
    proof_window_seconds: int = DEFAULT_PROOF_WINDOW_SECONDS

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
    #: The up-epoch index of its last liveliness answer (set to the index at
    #: registration, so a new worker is served for one grace period).
    last_seen_index: int | None = None
    #: The epoch and block time of its last liveliness answer (None: never answered).
    last_seen_epoch: int | None = None
    last_seen_time: int | None = None
    #: The load (0-100 %) it reported with its last answer.
    load: int = 0
    #: Its owner took it out of service (maintenance); it stays registered.
    paused: bool = False
    #: The attestation verdict: "unchecked" (no policy), "valid", "rejected", "unverified",
    #: or "not_attested" (registered with an empty report).
    attestation_status: str = "unchecked"
    attestation_reasons: tuple[str, ...] = ()
    #: The up-epoch index when it was last verified (for re-attestation).
    attested_index: int | None = None
    #: The full verdict (JSON), shown by get_worker.
    attestation_verdict: str | None = None
    #: The node's last check of its TLS endpoint against the certificate bound into its
    #: quote: None (never checked, or nothing bound), "ok", "mismatch" or "unreachable";
    #: only None and "ok" are served. ``endpoint_check`` is that check's canonical JSON.
    endpoint_status: str | None = None
    endpoint_check: str | None = None

    def with_changes(self, **changes: Any) -> Self:
        return replace(self, **changes)


PolicyMode = Literal["reject", "mark"]


@dataclass(frozen=True, slots=True)
class StoredPolicy:
    """The admin's attestation policy as the contract keeps it: the canonical JSON the host
    judges with, and the two settings the contract itself reads (typed once, when set)."""

    json: str
    registration_mode: PolicyMode = "reject"
    reattest_every_epochs: int | None = None


@dataclass(frozen=True, slots=True)
class ServingWorker:
    """What assignment needs of a live worker (no attestation report: they are large)."""

    ip_address: str
    worker_type: str
    url: str | None
    capacity: int
    load: int


@dataclass(frozen=True, slots=True)
class LivelinessState:
    """The registry's own clock: epochs in which it was up, counted.

    ``up_index`` counts up epochs (an epoch is up when the node ticks it or a worker
    answers in it). Workers are judged on up epochs missed, so time
    the registry was down never counts against them; ``resume_index`` is the first
    up epoch after such a gap, from which every worker gets a full grace period.
    ``serving_version`` changes whenever what ``get_models``/``get_u_r_ls`` answer
    may change, so those answers can be cached across blocks.
    """

    up_index: int = 0
    last_up_epoch: int | None = None
    resume_index: int = 0
    serving_version: int = 0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Self:
        """Load stored state; the names earlier versions stored are read too."""
        renamed = {_EARLIER_LIVELINESS_NAMES.get(k, k): v for k, v in data.items()}
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in renamed.items() if k in known})

    def with_changes(self, **changes: Any) -> Self:
        return replace(self, **changes)


#: Up epochs were called served epochs until version 0.1 (stored state keeps the names).
_EARLIER_LIVELINESS_NAMES = {"served_index": "up_index", "last_served_epoch": "last_up_epoch"}


@dataclass(frozen=True, slots=True)
class UsageLine:
    """One subscriber's use of one worker in one period."""

    subscriber: str
    requests: int
    input_tokens: int
    output_tokens: int


@dataclass(frozen=True, slots=True)
class WorkReport:
    """A worker's report for one period; at most one per (worker, period)."""

    ip_address: str
    period: int
    payment_wallet: str
    usage: tuple[UsageLine, ...]
    reported_height: int
    reported_time: int


@dataclass(frozen=True, slots=True)
class WorkTotal:
    """Summed usage for one key (a worker, a subscriber, a period or a wallet)."""

    key: str
    #: usage lines summed (one per subscriber per worker per period)
    lines: int
    requests: int
    input_tokens: int
    output_tokens: int


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
