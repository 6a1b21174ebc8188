"""The contract's :class:`~worker_manager.contract.deps.Storage`, over SQL.

Each instance wraps one open connection inside the caller's transaction: it
never commits, so everything an execute writes lands together or not at all.
"""

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, RowMapping, bindparam, delete, func, insert, select, update

from worker_manager.contract.state import Config, Subscriber, Worker, WorkerPage
from worker_manager.store.tables import contract_state, subscribers, workers

_CONFIG_KEY = "config"


def worker_from_row(row: RowMapping) -> Worker:
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
    )


def worker_values(worker: Worker) -> dict[str, Any]:
    return {
        "ip_address": worker.ip_address,
        "payment_wallet": worker.payment_wallet,
        "attestation_report": worker.attestation_report,
        "worker_type": worker.worker_type,
        "url": worker.url,
        "worker_public_key": worker.worker_public_key,
        "capacity": worker.capacity,
        "registered_height": worker.registered_height,
        "registered_time": worker.registered_time,
        "updated_height": worker.updated_height,
    }


_GET_WORKER = select(workers).where(workers.c.ip_address == bindparam("ip_address"))
_GET_WORKER_BY_KEY = select(workers).where(workers.c.worker_public_key == bindparam("key"))
_GET_SUBSCRIBER = select(subscribers).where(subscribers.c.public_key == bindparam("key"))
_GET_CONFIG = select(contract_state.c.value).where(contract_state.c.key == _CONFIG_KEY)


class SqlStorage:
    """Contract state in the ``workers``, ``subscribers`` and ``contract_state`` tables."""

    def __init__(self, connection: Connection) -> None:
        self._conn = connection

    # config ---------------------------------------------------------------

    def load_config(self) -> Config | None:
        value = self._conn.execute(_GET_CONFIG).scalar_one_or_none()
        return None if value is None else Config.from_json(json.loads(value))

    def save_config(self, config: Config) -> None:
        value = json.dumps(config.to_json(), sort_keys=True)
        updated = self._conn.execute(
            update(contract_state).where(contract_state.c.key == _CONFIG_KEY).values(value=value)
        )
        if updated.rowcount == 0:
            self._conn.execute(insert(contract_state).values(key=_CONFIG_KEY, value=value))

    # workers --------------------------------------------------------------

    def get_worker(self, ip_address: str) -> Worker | None:
        row = self._conn.execute(_GET_WORKER, {"ip_address": ip_address}).mappings().one_or_none()
        return None if row is None else worker_from_row(row)

    def get_worker_by_key(self, worker_public_key: str) -> Worker | None:
        row = (
            self._conn.execute(_GET_WORKER_BY_KEY, {"key": worker_public_key})
            .mappings()
            .one_or_none()
        )
        return None if row is None else worker_from_row(row)

    def insert_worker(self, worker: Worker) -> None:
        self._conn.execute(insert(workers).values(**worker_values(worker)))

    def update_worker(self, old_ip_address: str, worker: Worker) -> None:
        result = self._conn.execute(
            update(workers)
            .where(workers.c.ip_address == old_ip_address)
            .values(**worker_values(worker))
        )
        if result.rowcount != 1:
            raise LookupError(f"no worker row at {old_ip_address} to update")

    def delete_worker(self, ip_address: str) -> None:
        self._conn.execute(delete(workers).where(workers.c.ip_address == ip_address))

    def list_workers(
        self, *, start_after: str | None, limit: int, payment_wallet: str | None = None
    ) -> WorkerPage:
        query = select(workers).order_by(workers.c.ip_address).limit(limit + 1)
        if start_after is not None:
            query = query.where(workers.c.ip_address > start_after)
        if payment_wallet is not None:
            query = query.where(workers.c.payment_wallet == payment_wallet)
        rows = [worker_from_row(r) for r in self._conn.execute(query).mappings()]
        if len(rows) > limit:
            return WorkerPage(workers=rows[:limit], next_start_after=rows[limit - 1].ip_address)
        return WorkerPage(workers=rows)

    def count_workers(self) -> int:
        return int(self._conn.execute(select(func.count()).select_from(workers)).scalar_one())

    def worker_types(self) -> list[str]:
        query = select(workers.c.worker_type).distinct().order_by(workers.c.worker_type)
        return [str(t) for t in self._conn.execute(query).scalars()]

    def workers_of_type(self, worker_type: str | None, *, limit: int) -> Sequence[Worker]:
        query = select(workers).order_by(workers.c.ip_address).limit(limit)
        if worker_type is not None:
            query = query.where(workers.c.worker_type == worker_type)
        return [worker_from_row(r) for r in self._conn.execute(query).mappings()]

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
