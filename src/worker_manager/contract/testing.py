"""Storage in memory, for testing the contract's handlers directly (CosmWasm's mock storage).

:class:`MemoryStorage` implements :class:`~worker_manager.contract.deps.QueryStorage`
with dicts, exactly as the SQL store answers (the storage conformance suite in
``tests/store`` holds both to the same behaviour), so a handler test runs in
microseconds: no database, no node, no block. :meth:`MemoryStorage.snapshot` and
:meth:`MemoryStorage.restore` give a test the all-or-nothing of a store transaction.
"""

import copy
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from worker_manager.contract.assignment import RankingIndex
from worker_manager.contract.serving import attested_floor, endpoint_served, served_statuses
from worker_manager.contract.state import (
    Config,
    LivelinessState,
    ServingWorker,
    StoredPolicy,
    Subscriber,
    UsageLine,
    Worker,
    WorkerPage,
    WorkReport,
    WorkTotal,
)


def _total_key(by: str, report: WorkReport, line: UsageLine) -> Any:
    """The key ``work_totals`` sums a usage line of a report under."""
    if by == "worker":
        return report.ip_address
    if by == "subscriber":
        return line.subscriber
    if by == "period":
        return report.period
    return report.payment_wallet


@dataclass
class _State:
    config: Config | None = None
    liveliness: LivelinessState = field(default_factory=LivelinessState)
    policy: StoredPolicy | None = None
    workers: dict[str, Worker] = field(default_factory=dict)
    subscribers: dict[str, Subscriber] = field(default_factory=dict)
    reports: dict[tuple[str, int], WorkReport] = field(default_factory=dict)
    #: (account, permit name) -> the height it was revoked at
    revoked_permits: dict[tuple[str, str], int] = field(default_factory=dict)


class MemoryStorage:
    """The contract's whole state in dicts (see the module docstring)."""

    def __init__(self) -> None:
        self._state = _State()

    def snapshot(self) -> object:
        """A copy of the whole state, for :meth:`restore`."""
        return copy.deepcopy(self._state)

    def restore(self, snapshot: object) -> None:
        """Put back the state :meth:`snapshot` copied (a rolled-back transaction)."""
        assert isinstance(snapshot, _State)
        self._state = copy.deepcopy(snapshot)

    # singletons ---------------------------------------------------------------

    def load_config(self) -> Config | None:
        return self._state.config

    def save_config(self, config: Config) -> None:
        self._state.config = config

    def load_liveliness(self) -> LivelinessState:
        return self._state.liveliness

    def save_liveliness(self, state: LivelinessState) -> None:
        self._state.liveliness = state

    def load_attestation_policy(self) -> StoredPolicy | None:
        return self._state.policy

    def save_attestation_policy(self, policy: StoredPolicy | None) -> None:
        self._state.policy = policy

    # workers --------------------------------------------------------------------

    def get_worker(self, ip_address: str) -> Worker | None:
        return self._state.workers.get(ip_address)

    def get_worker_by_key(self, worker_public_key: str) -> Worker | None:
        return next(
            (w for w in self._state.workers.values() if w.worker_public_key == worker_public_key),
            None,
        )

    def insert_worker(self, worker: Worker) -> None:
        if worker.ip_address in self._state.workers:
            raise LookupError(f"a worker row at {worker.ip_address} exists already")
        self._state.workers[worker.ip_address] = worker

    def update_worker(self, old_ip_address: str, worker: Worker) -> None:
        if old_ip_address not in self._state.workers:
            raise LookupError(f"no worker row at {old_ip_address} to update")
        if worker.ip_address != old_ip_address and worker.ip_address in self._state.workers:
            raise LookupError(f"a worker row at {worker.ip_address} exists already")
        del self._state.workers[old_ip_address]
        self._state.workers[worker.ip_address] = worker

    def delete_worker(self, ip_address: str) -> None:
        self._state.workers.pop(ip_address, None)

    def count_workers_owned_by(self, payment_wallet: str) -> int:
        return sum(1 for w in self._state.workers.values() if w.payment_wallet == payment_wallet)

    def _ordered(self) -> list[Worker]:
        return [self._state.workers[ip] for ip in sorted(self._state.workers)]

    def list_workers(
        self, *, start_after: str | None, limit: int, payment_wallet: str | None = None
    ) -> WorkerPage:
        rows = [
            w
            for w in self._ordered()
            if (start_after is None or w.ip_address > start_after)
            and (payment_wallet is None or w.payment_wallet == payment_wallet)
        ][: limit + 1]
        if len(rows) > limit:
            return WorkerPage(workers=rows[:limit], next_start_after=rows[limit - 1].ip_address)
        return WorkerPage(workers=rows)

    def count_workers(self) -> int:
        return len(self._state.workers)

    def _served(self, min_index: int, min_attested_index: int | None) -> Iterable[Worker]:
        return (
            w
            for w in self._ordered()
            if w.last_seen_index is not None
            and w.last_seen_index >= min_index
            and not w.paused
            and w.attestation_status in served_statuses(min_attested_index)
            and (
                (floor := attested_floor(min_attested_index)) is None
                or (w.attested_index is not None and w.attested_index >= floor)
            )
            and endpoint_served(w.endpoint_status)
        )

    def serving_types(self, min_index: int, min_attested_index: int | None) -> list[str]:
        return sorted({w.worker_type for w in self._served(min_index, min_attested_index)})

    def serving_index(
        self, worker_type: str | None, min_index: int, min_attested_index: int | None
    ) -> RankingIndex:
        return RankingIndex.build(
            [
                ServingWorker(w.ip_address, w.worker_type, w.url, w.capacity, w.load)
                for w in self._served(min_index, min_attested_index)
                if worker_type is None or w.worker_type == worker_type
            ]
        )

    def list_worker_addresses(self, *, start_after: str | None, limit: int) -> list[str]:
        found = (
            ip for ip in sorted(self._state.workers) if start_after is None or ip > start_after
        )
        return list(found)[:limit]

    # subscribers ----------------------------------------------------------------

    def get_subscriber(self, public_key: str) -> Subscriber | None:
        return self._state.subscribers.get(public_key)

    def add_subscriber(self, subscriber: Subscriber) -> None:
        self._state.subscribers[subscriber.public_key] = subscriber

    def remove_subscriber(self, public_key: str) -> None:
        self._state.subscribers.pop(public_key, None)

    def list_subscribers(self, *, start_after: str | None, limit: int) -> list[Subscriber]:
        keys = [
            k for k in sorted(self._state.subscribers) if start_after is None or k > start_after
        ]
        return [self._state.subscribers[k] for k in keys[:limit]]

    # revoked permits ------------------------------------------------------------

    def is_permit_revoked(self, account: str, permit_name: str) -> bool:
        return (account, permit_name) in self._state.revoked_permits

    def revoke_permit(self, account: str, permit_name: str, height: int) -> None:
        key = (account, permit_name)
        if key in self._state.revoked_permits:
            raise LookupError(f"permit {permit_name!r} of {account} is revoked already")
        self._state.revoked_permits[key] = height

    # work reports ---------------------------------------------------------------

    def has_work_report(self, ip_address: str, period: int) -> bool:
        return (ip_address, period) in self._state.reports

    def insert_work_report(self, report: WorkReport) -> None:
        key = (report.ip_address, report.period)
        if key in self._state.reports:
            raise LookupError(f"a work report for {report.ip_address} {report.period} exists")
        usage = tuple(sorted(report.usage, key=lambda line: line.subscriber))
        self._state.reports[key] = WorkReport(
            ip_address=report.ip_address,
            period=report.period,
            payment_wallet=report.payment_wallet,
            usage=usage,
            reported_height=report.reported_height,
            reported_time=report.reported_time,
        )

    def work_reports(
        self,
        *,
        ip_address: str | None,
        period: int | None,
        start_after: tuple[int, str] | None,
        limit: int,
    ) -> list[WorkReport]:
        ordered = sorted(self._state.reports.values(), key=lambda r: (r.period, r.ip_address))
        return [
            r
            for r in ordered
            if (ip_address is None or r.ip_address == ip_address)
            and (period is None or r.period == period)
            and (start_after is None or (r.period, r.ip_address) > start_after)
        ][:limit]

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
        sums: dict[Any, list[int]] = {}
        for report in self._state.reports.values():
            if from_period is not None and report.period < from_period:
                continue
            if to_period is not None and report.period > to_period:
                continue
            if ip_address is not None and report.ip_address != ip_address:
                continue
            for line in report.usage:
                if subscriber is not None and line.subscriber != subscriber:
                    continue
                entry = sums.setdefault(_total_key(by, report, line), [0, 0, 0, 0])
                entry[0] += 1
                entry[1] += line.requests
                entry[2] += line.input_tokens
                entry[3] += line.output_tokens
        keys = sorted(k for k in sums if start_after is None or k > start_after)
        if limit is not None:
            keys = keys[:limit]
        return [WorkTotal(str(k), *sums[k]) for k in keys]
