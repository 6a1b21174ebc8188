"""The contract's :class:`~worker_manager.contract.deps.QueryStorage`, over SQL.

Each instance wraps one open connection inside the caller's transaction: it
never commits, so everything an execute writes lands together or not at all.
A worker is a row of ``workers`` plus its attestation report in
``worker_reports`` (kept apart so scans of the live set never read reports).
"""

import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import (
    Connection,
    and_,
    bindparam,
    case,
    delete,
    func,
    insert,
    or_,
    select,
    tuple_,
    update,
)

from worker_manager.contract.assignment import RankingIndex
from worker_manager.contract.endpoints import TLS_BINDING_PREFIXES
from worker_manager.contract.serving import ENDPOINT_OK, attested_floor, served_statuses
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
from worker_manager.store.fast import PointQuery
from worker_manager.store.tables import (
    contract_state,
    revoked_permits,
    subscribers,
    work_reports,
    work_usage,
    worker_reports,
    workers,
)

_CONFIG_KEY = "config"
_LIVELINESS_KEY = "liveliness"
_POLICY_KEY = "attestation_policy"
_POLICY_SETTINGS = ("registration_mode", "reattest_every_epochs")

_WORKER_COLUMNS = (
    *workers.c,
    worker_reports.c.attestation_report,
    worker_reports.c.attestation_verdict,
)
_WORKERS_JOINED = workers.join(worker_reports, worker_reports.c.ip_address == workers.c.ip_address)
_GET_WORKER = PointQuery(
    select(*_WORKER_COLUMNS)
    .select_from(_WORKERS_JOINED)
    .where(workers.c.ip_address == bindparam("ip_address"))
)
_GET_WORKER_BY_KEY = (
    select(*_WORKER_COLUMNS)
    .select_from(_WORKERS_JOINED)
    .where(workers.c.worker_public_key == bindparam("key"))
)
_GET_SUBSCRIBER = select(subscribers).where(subscribers.c.public_key == bindparam("key"))
_IS_PERMIT_REVOKED = select(revoked_permits.c.revoked_height).where(
    and_(
        revoked_permits.c.account == bindparam("account"),
        revoked_permits.c.permit_name == bindparam("permit_name"),
    )
)
_GET_STATE = select(contract_state.c.value).where(contract_state.c.key == bindparam("key"))
_HAS_WORK_REPORT = select(work_reports.c.period).where(
    and_(
        work_reports.c.ip_address == bindparam("ip_address"),
        work_reports.c.period == bindparam("period"),
    )
)


def worker_from_row(row: Mapping[Any, Any]) -> Worker:
    return Worker(
        ip_address=row["ip_address"],
        payment_wallet=row["payment_wallet"],
        attestation_report=row["attestation_report"],
        worker_type=row["worker_type"],
        url=row["url"],
        worker_public_key=row["worker_public_key"],
        capacity=row["capacity"],
        registered_height=row["registered_height"],
        registered_time=row["registered_time"],
        updated_height=row["updated_height"],
        last_seen_index=row["last_seen_index"],
        last_seen_epoch=row["last_seen_epoch"],
        last_seen_time=row["last_seen_time"],
        load=row["load"],
        paused=bool(row["paused"]),
        attestation_status=row["attestation_status"],
        attestation_reasons=tuple(r for r in row["attestation_reasons"].split(",") if r),
        attested_index=row["attested_index"],
        attestation_verdict=row["attestation_verdict"],
        endpoint_status=row["endpoint_status"],
        endpoint_check=row["endpoint_check"],
    )


def worker_values(worker: Worker) -> dict[str, Any]:
    """The ``workers`` row of a worker (its report goes to ``worker_reports``)."""
    return {
        "ip_address": worker.ip_address,
        "payment_wallet": worker.payment_wallet,
        "worker_type": worker.worker_type,
        "url": worker.url,
        "worker_public_key": worker.worker_public_key,
        "capacity": worker.capacity,
        "registered_height": worker.registered_height,
        "registered_time": worker.registered_time,
        "updated_height": worker.updated_height,
        "last_seen_index": worker.last_seen_index,
        "last_seen_epoch": worker.last_seen_epoch,
        "last_seen_time": worker.last_seen_time,
        "load": worker.load,
        "paused": worker.paused,
        "attestation_status": worker.attestation_status,
        "attestation_reasons": ",".join(worker.attestation_reasons),
        "attested_index": worker.attested_index,
        "endpoint_status": worker.endpoint_status,
        "endpoint_check": worker.endpoint_check,
    }


def report_values(worker: Worker) -> dict[str, Any]:
    return {
        "ip_address": worker.ip_address,
        "attestation_report": worker.attestation_report,
        "attestation_verdict": worker.attestation_verdict,
    }


def work_report_rows(report: WorkReport) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    head = {
        "ip_address": report.ip_address,
        "period": report.period,
        "payment_wallet": report.payment_wallet,
        "reported_height": report.reported_height,
        "reported_time": report.reported_time,
    }
    lines = [
        {
            "ip_address": report.ip_address,
            "period": report.period,
            "subscriber": line.subscriber,
            "requests": line.requests,
            "input_tokens": line.input_tokens,
            "output_tokens": line.output_tokens,
        }
        for line in report.usage
    ]
    return head, lines


#: Below this a float sum of non-negative integers is exact.
EXACT_FLOAT_LIMIT = float(2**53)


class SqlStorage:
    """Contract state in its tables; every method joins the caller's transaction."""

    def __init__(self, connection: Connection) -> None:
        self._conn = connection
        self._sqlite = connection.dialect.name == "sqlite"

    # singletons -----------------------------------------------------------

    def _load_state(self, key: str) -> dict[str, Any] | None:
        value = self._conn.execute(_GET_STATE, {"key": key}).scalar_one_or_none()
        return None if value is None else dict(json.loads(value))

    def _save_state(self, key: str, data: dict[str, Any]) -> None:
        value = json.dumps(data, sort_keys=True)
        updated = self._conn.execute(
            update(contract_state).where(contract_state.c.key == key).values(value=value)
        )
        if updated.rowcount == 0:
            self._conn.execute(insert(contract_state).values(key=key, value=value))

    def load_config(self) -> Config | None:
        data = self._load_state(_CONFIG_KEY)
        return None if data is None else Config.from_json(data)

    def save_config(self, config: Config) -> None:
        self._save_state(_CONFIG_KEY, config.to_json())

    def load_liveliness(self) -> LivelinessState:
        data = self._load_state(_LIVELINESS_KEY)
        return LivelinessState() if data is None else LivelinessState.from_json(data)

    def save_liveliness(self, state: LivelinessState) -> None:
        self._save_state(_LIVELINESS_KEY, state.to_json())

    def load_attestation_policy(self) -> StoredPolicy | None:
        data = self._load_state(_POLICY_KEY)
        if data is None or data.get("policy") is None:
            return None
        text = str(data["policy"])
        if "registration_mode" not in data:  # kept by an earlier version: read it once here
            settings = json.loads(text)
            data = {**data, **{k: settings.get(k) for k in _POLICY_SETTINGS}}
        return StoredPolicy(
            json=text,
            registration_mode=data["registration_mode"] or "reject",
            reattest_every_epochs=data["reattest_every_epochs"],
        )

    def save_attestation_policy(self, policy: StoredPolicy | None) -> None:
        if policy is None:
            self._save_state(_POLICY_KEY, {"policy": None})
            return
        self._save_state(
            _POLICY_KEY,
            {
                "policy": policy.json,
                "registration_mode": policy.registration_mode,
                "reattest_every_epochs": policy.reattest_every_epochs,
            },
        )

    # workers --------------------------------------------------------------

    def get_worker(self, ip_address: str) -> Worker | None:
        row = _GET_WORKER.one(self._conn, {"ip_address": ip_address})
        return None if row is None else worker_from_row(row)

    def get_workers(self, ip_addresses: list[str]) -> dict[str, Worker]:
        """The stored workers among ``ip_addresses``, in a few queries (a block's)."""
        found: dict[str, Worker] = {}
        for start in range(0, len(ip_addresses), 500):
            query = (
                select(*_WORKER_COLUMNS)
                .select_from(_WORKERS_JOINED)
                .where(workers.c.ip_address.in_(ip_addresses[start : start + 500]))
            )
            for row in self._conn.execute(query).mappings().all():
                worker = worker_from_row(row)
                found[worker.ip_address] = worker
        return found

    def get_worker_by_key(self, worker_public_key: str) -> Worker | None:
        row = (
            self._conn.execute(_GET_WORKER_BY_KEY, {"key": worker_public_key})
            .mappings()
            .one_or_none()
        )
        return None if row is None else worker_from_row(row)

    def insert_worker(self, worker: Worker) -> None:
        self._conn.execute(insert(workers).values(**worker_values(worker)))
        self._conn.execute(insert(worker_reports).values(**report_values(worker)))

    def update_worker(self, old_ip_address: str, worker: Worker) -> None:
        result = self._conn.execute(
            update(workers)
            .where(workers.c.ip_address == old_ip_address)
            .values(**worker_values(worker))
        )
        if result.rowcount != 1:
            raise LookupError(f"no worker row at {old_ip_address} to update")
        self._conn.execute(
            update(worker_reports)
            .where(worker_reports.c.ip_address == old_ip_address)
            .values(**report_values(worker))
        )

    def delete_worker(self, ip_address: str) -> None:
        self._conn.execute(delete(worker_reports).where(worker_reports.c.ip_address == ip_address))
        self._conn.execute(delete(workers).where(workers.c.ip_address == ip_address))

    def list_workers(
        self, *, start_after: str | None, limit: int, payment_wallet: str | None = None
    ) -> WorkerPage:
        query = (
            select(*_WORKER_COLUMNS)
            .select_from(_WORKERS_JOINED)
            .order_by(workers.c.ip_address)
            .limit(limit + 1)
        )
        if start_after is not None:
            query = query.where(workers.c.ip_address > start_after)
        if payment_wallet is not None:
            query = query.where(workers.c.payment_wallet == payment_wallet)
        rows = [worker_from_row(r) for r in self._conn.execute(query).mappings()]
        if len(rows) > limit:
            return WorkerPage(workers=rows[:limit], next_start_after=rows[limit - 1].ip_address)
        return WorkerPage(workers=rows)

    def list_tls_bound_workers(self, *, start_after: str | None, limit: int) -> WorkerPage:
        """A page of the workers whose verdict names a TLS binding (the endpoint checker's
        candidates): filtered in the database, so a round reads no other report."""
        verdict = worker_reports.c.attestation_verdict
        query = (
            select(*_WORKER_COLUMNS)
            .select_from(_WORKERS_JOINED)
            .where(or_(*(verdict.like(f'%"binding":"{b}%') for b in TLS_BINDING_PREFIXES)))
            .order_by(workers.c.ip_address)
            .limit(limit + 1)
        )
        if start_after is not None:
            query = query.where(workers.c.ip_address > start_after)
        rows = [worker_from_row(r) for r in self._conn.execute(query).mappings()]
        if len(rows) > limit:
            return WorkerPage(workers=rows[:limit], next_start_after=rows[limit - 1].ip_address)
        return WorkerPage(workers=rows)

    def count_workers_owned_by(self, payment_wallet: str) -> int:
        query = select(func.count()).where(workers.c.payment_wallet == payment_wallet)
        return int(self._conn.execute(query).scalar_one())

    def count_workers(self) -> int:
        return int(self._conn.execute(select(func.count()).select_from(workers)).scalar_one())

    @staticmethod
    def _served(query: Any, min_index: int, min_attested_index: int | None) -> Any:
        query = query.where(
            workers.c.last_seen_index >= min_index,
            workers.c.paused == False,  # noqa: E712
            workers.c.attestation_status.in_(sorted(served_statuses(min_attested_index))),
            or_(workers.c.endpoint_status.is_(None), workers.c.endpoint_status == ENDPOINT_OK),
        )
        floor = attested_floor(min_attested_index)
        if floor is not None:
            query = query.where(workers.c.attested_index >= floor)
        return query

    def serving_workers(
        self, worker_type: str | None, min_index: int, min_attested_index: int | None
    ) -> list[ServingWorker]:
        query = select(
            workers.c.ip_address,
            workers.c.worker_type,
            workers.c.url,
            workers.c.capacity,
            workers.c.load,
        )
        query = self._served(query, min_index, min_attested_index)
        if worker_type is not None:
            query = query.where(workers.c.worker_type == worker_type)
        return [ServingWorker(*row) for row in self._conn.execute(query).all()]

    def serving_types(self, min_index: int, min_attested_index: int | None) -> list[str]:
        query = self._served(select(workers.c.worker_type), min_index, min_attested_index)
        query = query.distinct().order_by(workers.c.worker_type)
        return [str(t) for t in self._conn.execute(query).scalars()]

    def count_workers_by_status(
        self, live_from: int, stale_from: int
    ) -> dict[tuple[str, str], int]:
        """Workers per (type, status): one grouped scan (``/metrics``). A worker is live
        from ``live_from`` (its ``last_seen_index``), stale from ``stale_from``, else
        offline (also when it never answered)."""
        seen = workers.c.last_seen_index
        status = case(
            (seen.is_(None), "offline"),
            (seen >= live_from, "live"),
            (seen >= stale_from, "stale"),
            else_="offline",
        ).label("status")
        query = select(workers.c.worker_type, status, func.count()).group_by(
            workers.c.worker_type, status
        )
        return {(str(t), str(s)): int(n) for t, s, n in self._conn.execute(query).all()}

    def count_serving_by_type(
        self, min_index: int, min_attested_index: int | None
    ) -> dict[str, int]:
        """Served workers per type (what ``get_urls`` would give): one grouped scan."""
        query = self._served(
            select(workers.c.worker_type, func.count()), min_index, min_attested_index
        )
        query = query.group_by(workers.c.worker_type)
        return {str(t): int(n) for t, n in self._conn.execute(query).all()}

    def serving_index(
        self, worker_type: str | None, min_index: int, min_attested_index: int | None
    ) -> RankingIndex:
        return RankingIndex.build(self.serving_workers(worker_type, min_index, min_attested_index))

    def list_worker_addresses(self, *, start_after: str | None, limit: int) -> list[str]:
        query = select(workers.c.ip_address).order_by(workers.c.ip_address).limit(limit)
        if start_after is not None:
            query = query.where(workers.c.ip_address > start_after)
        return [str(ip) for ip in self._conn.execute(query).scalars()]

    # subscribers ----------------------------------------------------------

    def get_subscriber(self, public_key: str) -> Subscriber | None:
        row = self._conn.execute(_GET_SUBSCRIBER, {"key": public_key}).mappings().one_or_none()
        return None if row is None else Subscriber(row["public_key"], row["added_height"])

    def add_subscriber(self, subscriber: Subscriber) -> None:
        self._conn.execute(
            insert(subscribers).values(
                public_key=subscriber.public_key, added_height=subscriber.added_height
            )
        )

    def remove_subscriber(self, public_key: str) -> None:
        self._conn.execute(delete(subscribers).where(subscribers.c.public_key == public_key))

    def list_subscribers(self, *, start_after: str | None, limit: int) -> list[Subscriber]:
        query = select(subscribers).order_by(subscribers.c.public_key).limit(limit)
        if start_after is not None:
            query = query.where(subscribers.c.public_key > start_after)
        return [
            Subscriber(r["public_key"], r["added_height"])
            for r in self._conn.execute(query).mappings()
        ]

    # revoked permits ------------------------------------------------------

    def is_permit_revoked(self, account: str, permit_name: str) -> bool:
        found = self._conn.execute(
            _IS_PERMIT_REVOKED, {"account": account, "permit_name": permit_name}
        )
        return found.first() is not None

    def revoke_permit(self, account: str, permit_name: str, height: int) -> None:
        self.revoke_permits([(account, permit_name, height)])

    def revoke_permits(self, rows: list[tuple[str, str, int]]) -> None:
        """Record revocations (account, permit name, height) in one statement."""
        if rows:
            self._conn.execute(
                insert(revoked_permits),
                [{"account": a, "permit_name": n, "revoked_height": h} for a, n, h in rows],
            )

    # work reports ---------------------------------------------------------

    def has_work_report(self, ip_address: str, period: int) -> bool:
        found = self._conn.execute(_HAS_WORK_REPORT, {"ip_address": ip_address, "period": period})
        return found.first() is not None

    def insert_work_report(self, report: WorkReport) -> None:
        self.insert_work_reports([report])

    def insert_work_reports(self, reports: list[WorkReport]) -> None:
        heads, lines = [], []
        for report in reports:
            head, usage = work_report_rows(report)
            heads.append(head)
            lines.extend(usage)
        if heads:
            self._conn.execute(insert(work_reports), heads)
        if lines:
            self._conn.execute(insert(work_usage), lines)

    def work_reports(
        self,
        *,
        ip_address: str | None,
        period: int | None,
        start_after: tuple[int, str] | None,
        limit: int,
    ) -> list[WorkReport]:
        query = (
            select(work_reports)
            .order_by(work_reports.c.period, work_reports.c.ip_address)
            .limit(limit)
        )
        if ip_address is not None:
            query = query.where(work_reports.c.ip_address == ip_address)
        if period is not None:
            query = query.where(work_reports.c.period == period)
        if start_after is not None:
            query = query.where(
                tuple_(work_reports.c.period, work_reports.c.ip_address) > tuple_(*start_after)
            )
        heads = list(self._conn.execute(query).mappings())
        if not heads:
            return []
        keys = [(h["ip_address"], h["period"]) for h in heads]
        lines: dict[tuple[str, int], list[UsageLine]] = {k: [] for k in keys}
        usage = self._conn.execute(
            select(work_usage)
            .where(tuple_(work_usage.c.ip_address, work_usage.c.period).in_(keys))
            .order_by(work_usage.c.subscriber)
        ).mappings()
        for row in usage:
            lines[(row["ip_address"], row["period"])].append(
                UsageLine(
                    row["subscriber"], row["requests"], row["input_tokens"], row["output_tokens"]
                )
            )
        return [
            WorkReport(
                ip_address=h["ip_address"],
                period=h["period"],
                payment_wallet=h["payment_wallet"],
                usage=tuple(lines[(h["ip_address"], h["period"])]),
                reported_height=h["reported_height"],
                reported_time=h["reported_time"],
            )
            for h in heads
        ]

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
        key = {
            "worker": work_usage.c.ip_address,
            "subscriber": work_usage.c.subscriber,
            "period": work_usage.c.period,
            "wallet": work_reports.c.payment_wallet,
        }[by]
        joined = work_usage.join(
            work_reports,
            and_(
                work_reports.c.ip_address == work_usage.c.ip_address,
                work_reports.c.period == work_usage.c.period,
            ),
        )
        counters = (work_usage.c.requests, work_usage.c.input_tokens, work_usage.c.output_tokens)
        # total() never overflows (SQLite's sum() raises past 2**63); a float that may
        # have lost digits is summed again exactly, below
        summed = [func.total(c) if self._sqlite else func.sum(c) for c in counters]
        query = (
            select(key.label("key"), func.count().label("lines"), *summed)
            .select_from(joined)
            .group_by(key)
            .order_by(key)
        )
        filters = []
        if from_period is not None:
            filters.append(work_usage.c.period >= from_period)
        if to_period is not None:
            filters.append(work_usage.c.period <= to_period)
        if ip_address is not None:
            filters.append(work_usage.c.ip_address == ip_address)
        if subscriber is not None:
            filters.append(work_usage.c.subscriber == subscriber)
        if filters:
            query = query.where(*filters)
        if start_after is not None:
            query = query.where(key > start_after)
        if limit is not None:
            query = query.limit(limit)
        totals = []
        for k, lines, *found in self._conn.execute(query).all():
            sums = [int(v or 0) for v in found]
            if any(isinstance(v, float) and v >= EXACT_FLOAT_LIMIT for v in found):
                sums = self._exact_sums(joined, key, k, counters, filters)
            totals.append(WorkTotal(str(k), int(lines), *sums))
        return totals

    def _exact_sums(
        self, joined: Any, key: Any, value: Any, counters: Any, filters: list[Any]
    ) -> list[int]:
        """One group's sums in Python integers (only for sums past 2**53, on SQLite)."""
        rows = self._conn.execute(
            select(*counters).select_from(joined).where(key == value, *filters)
        )
        sums = [0, 0, 0]
        for row in rows:
            for i, v in enumerate(row):
                sums[i] += int(v)
        return sums
