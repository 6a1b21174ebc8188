"""What the contract is handed: storage, block/tx environment, and the sender.

These mirror CosmWasm's ``Deps``, ``Env`` and ``MessageInfo``. The contract
never reads the clock, the network or random numbers: the node puts time and
height into :class:`Env` and the verified sender into :class:`MessageInfo`.
:class:`Storage` is the only door to state; ``store/`` implements it over SQL
and the node runs each execute inside one store transaction.
"""

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from worker_manager.contract.state import (
    Config,
    LivelinessState,
    StoredPolicy,
    Subscriber,
    Worker,
    WorkerPage,
    WorkReport,
    WorkTotal,
)

if TYPE_CHECKING:
    from worker_manager.contract.assignment import RankingIndex

NANOS_PER_SECOND = 1_000_000_000


@dataclass(frozen=True, slots=True)
class Coin:
    """An amount of one denomination (recorded, never charged: there is no bank here)."""

    denom: str
    amount: str


@dataclass(frozen=True, slots=True)
class BlockInfo:
    """The block a message runs in. ``time_ns`` is Unix time in nanoseconds, as in CosmWasm."""

    height: int
    time_ns: int
    chain_id: str

    @property
    def time(self) -> int:
        """Block time in whole Unix seconds."""
        return self.time_ns // NANOS_PER_SECOND


@dataclass(frozen=True, slots=True)
class ContractInfo:
    address: str


@dataclass(frozen=True, slots=True)
class TransactionInfo:
    index: int


@dataclass(frozen=True, slots=True)
class Env:
    block: BlockInfo
    contract: ContractInfo
    transaction: TransactionInfo | None = None


@dataclass(frozen=True, slots=True)
class MessageInfo:
    """Who sent the message (already authenticated by the node), what funds came with it,
    and the evidence the node examined for its attestation reports before the block.

    ``evidence`` pairs an evidence key (:func:`~worker_manager.contract.attestation.
    evidence_key` of a report) with the host's evidence JSON, opaque to the contract: it
    hands it back to :meth:`Api.judge_attestation`. Like the sender, it is an input
    the node vouches for and records with the tx, so a replay judges the same evidence.
    """

    sender: str
    funds: tuple[Coin, ...] = field(default_factory=tuple)
    evidence: tuple[tuple[str, str], ...] = ()

    def evidence_for(self, key: str) -> str | None:
        """The evidence filed under ``key``, if the node examined that report."""
        return next((text for k, text in self.evidence if k == key), None)


class Storage(Protocol):
    """Point reads and writes of contract state: all an execute may use.

    The node runs executes on a write buffer (see ``store/buffered.py``) that
    implements exactly this, so executes never scan tables. Implementations join
    the caller's transaction.
    """

    def load_config(self) -> Config | None: ...

    def save_config(self, config: Config) -> None: ...

    def get_worker(self, ip_address: str) -> Worker | None: ...

    def get_worker_by_key(self, worker_public_key: str) -> Worker | None: ...

    def insert_worker(self, worker: Worker) -> None: ...

    def update_worker(self, old_ip_address: str, worker: Worker) -> None:
        """Replace the record at ``old_ip_address`` (the key itself may change)."""
        ...

    def delete_worker(self, ip_address: str) -> None: ...

    def count_workers_owned_by(self, payment_wallet: str) -> int:
        """How many workers ``payment_wallet`` owns (an index read, never a scan)."""
        ...

    def get_subscriber(self, public_key: str) -> Subscriber | None: ...

    def add_subscriber(self, subscriber: Subscriber) -> None: ...

    def remove_subscriber(self, public_key: str) -> None: ...

    def load_liveliness(self) -> LivelinessState: ...

    def save_liveliness(self, state: LivelinessState) -> None: ...

    def load_attestation_policy(self) -> StoredPolicy | None: ...

    def save_attestation_policy(self, policy: StoredPolicy | None) -> None: ...

    def has_work_report(self, ip_address: str, period: int) -> bool: ...

    def insert_work_report(self, report: WorkReport) -> None: ...

    def is_permit_revoked(self, account: str, permit_name: str) -> bool:
        """Whether ``account`` revoked its SNIP-24 permits named ``permit_name``."""
        ...

    def revoke_permit(self, account: str, permit_name: str, height: int) -> None:
        """Record the revocation at ``height`` (the caller checks it is not recorded yet)."""
        ...


class QueryStorage(Storage, Protocol):
    """Point access plus the ordered and aggregate reads that queries need."""

    def list_workers(
        self, *, start_after: str | None, limit: int, payment_wallet: str | None = None
    ) -> WorkerPage: ...

    def count_workers(self) -> int: ...

    def list_subscribers(self, *, start_after: str | None, limit: int) -> list[Subscriber]: ...

    def serving_types(self, min_index: int, min_attested_index: int | None) -> list[str]:
        """Distinct types of the workers served to subscribers now, sorted: unpaused, seen
        since ``min_index``, attestation valid or unchecked (and at least
        ``min_attested_index``)."""
        ...

    def serving_index(
        self, worker_type: str | None, min_index: int, min_attested_index: int | None
    ) -> "RankingIndex":
        """The workers served now (of one type, or all), ready to rank (hosts may keep it
        while it is current)."""
        ...

    def list_worker_addresses(self, *, start_after: str | None, limit: int) -> list[str]:
        """Worker addresses in key order (for re-verifying them page by page)."""
        ...

    def work_reports(
        self,
        *,
        ip_address: str | None,
        period: int | None,
        start_after: tuple[int, str] | None,
        limit: int,
    ) -> list[WorkReport]:
        """Reports in (period, ip_address) order after ``start_after``."""
        ...

    def work_totals(
        self,
        *,
        by: str,
        from_period: int | None,
        to_period: int | None,
        ip_address: str | None,
        subscriber: str | None,
        start_after: str | int | None = None,
        limit: int | None = None,
    ) -> list[WorkTotal]:
        """Usage summed per ``by`` ("worker", "subscriber", "period" or "wallet"), exactly
        (no sum may overflow), in key order after ``start_after``, at most ``limit`` groups."""
        ...


@dataclass(frozen=True, slots=True)
class AttestationOutcome:
    """The host's verdict on an attestation report (the contract keeps it as given)."""

    status: str  # "valid", "rejected" or "unverified"
    reasons: tuple[str, ...]
    message: str
    verdict_json: str


class Api(Protocol):
    """What the host provides beyond storage (CosmWasm's ``Api``): deterministic
    functions of inputs the contract must not hold itself (secrets, trust roots)."""

    def liveliness_challenge(self, epoch: int) -> bytes:
        """The 32-byte challenge of ``epoch``: the same on every node of the network,
        and not computable ahead of time without the node's secret seed."""
        ...

    def check_attestation_policy(self, policy_json: str) -> StoredPolicy:
        """The policy in canonical JSON with its two contract settings, or ``ValueError``
        saying what is wrong."""
        ...

    def judge_attestation(
        self,
        *,
        evidence: str | None,
        worker_type: str,
        policy: StoredPolicy,
        now: int,
        chain_id: str,
        payment_wallet: str,
        worker_public_key: str | None,
        fresh_challenges: tuple[bytes, ...],
        tls_key_sha256: str | None = None,
    ) -> AttestationOutcome:
        """The verdict on a report from the ``evidence`` the node examined before the
        block (``None``: it examined none, the verdict says so) under ``policy`` at block
        time ``now``. Pure: no collateral is read and no signature checked here, so a
        replay of the log judges the recorded evidence the same way. ``tls_key_sha256``
        (of the report's envelope certificate) lets a ``worker_key`` quote bind it too."""
        ...

    def tls_key_sha256(self, report: str) -> str | None:
        """Hex sha256 of the SubjectPublicKeyInfo of the TLS certificate in ``report``'s
        envelope, or None (no envelope, no certificate, unreadable)."""
        ...


@dataclass(frozen=True, slots=True)
class Deps:
    """What an execute gets: point access to state, and the host's functions."""

    storage: Storage
    api: Api


@dataclass(frozen=True, slots=True)
class QueryDeps:
    """What a query gets: point and ordered access to committed state."""

    storage: QueryStorage
    api: Api
