"""A write buffer over the contract's tables, for running a block of executes.

Each tx writes into its own layer; a tx that succeeds merges into the block's
layer, one that fails is dropped, so each tx still succeeds or fails on its
own. At the end of the block :meth:`BufferedStorage.flush` writes the block's
net changes with a few ``executemany`` statements: deletes, then updates, then
inserts (so a key freed by one tx can be taken by a later one). Reads look in
the tx layer, then the block layer, then the database, and remember what the
database said, so no row is read twice in a block.

This is CosmWasm's cache-wrapped store, and what keeps a tx's share of a block
commit small: no savepoints and no per-row statements.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final

from sqlalchemy import Connection, bindparam, delete, insert, select, update

from worker_manager.contract.state import (
    Config,
    LivelinessState,
    StoredPolicy,
    Subscriber,
    Worker,
    WorkReport,
)
from worker_manager.store.storage import SqlStorage, report_values, worker_values
from worker_manager.store.tables import subscribers, worker_reports, workers


class _Missing:
    """Marks "not in this layer" (None in a layer means "deleted")."""


MISSING: Final = _Missing()


@dataclass
class _Layer:
    config: Config | _Missing = MISSING
    liveliness: LivelinessState | _Missing = MISSING
    policy: StoredPolicy | _Missing | None = MISSING
    workers: dict[str, Worker | None] = field(default_factory=dict)
    #: worker public key -> addresses written in this layer with that key
    keys: dict[str, set[str]] = field(default_factory=dict)
    #: payment wallet -> change in the number of workers it owns, over this layer
    owned: dict[str, int] = field(default_factory=dict)
    subscribers: dict[str, Subscriber | None] = field(default_factory=dict)
    work_reports: dict[tuple[str, int], WorkReport] = field(default_factory=dict)
    #: (account, permit name) -> the height it was revoked at
    revoked_permits: dict[tuple[str, str], int] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return (
            isinstance(self.config, _Missing)
            and isinstance(self.liveliness, _Missing)
            and isinstance(self.policy, _Missing)
            and not self.workers
            and not self.subscribers
            and not self.work_reports
            and not self.revoked_permits
        )

    def put_worker(self, ip_address: str, worker: Worker | None, before: Worker | None) -> None:
        """Write ``worker`` (None: deleted) at ``ip_address``, where ``before`` was."""
        self.workers[ip_address] = worker
        if worker is not None and worker.worker_public_key is not None:
            self.keys.setdefault(worker.worker_public_key, set()).add(ip_address)
        if before is not None:
            self.owned[before.payment_wallet] = self.owned.get(before.payment_wallet, 0) - 1
        if worker is not None:
            self.owned[worker.payment_wallet] = self.owned.get(worker.payment_wallet, 0) + 1

    def merge_into(self, other: "_Layer") -> None:
        if not isinstance(self.config, _Missing):
            other.config = self.config
        if not isinstance(self.liveliness, _Missing):
            other.liveliness = self.liveliness
        if not isinstance(self.policy, _Missing):
            other.policy = self.policy
        for ip_address, worker in self.workers.items():
            other.workers[ip_address] = worker
            if worker is not None and worker.worker_public_key is not None:
                other.keys.setdefault(worker.worker_public_key, set()).add(ip_address)
        for wallet, change in self.owned.items():
            other.owned[wallet] = other.owned.get(wallet, 0) + change
        other.subscribers.update(self.subscribers)
        other.work_reports.update(self.work_reports)
        other.revoked_permits.update(self.revoked_permits)


class BufferedStorage:
    """The contract's point-access :class:`~worker_manager.contract.deps.Storage`, buffered."""

    def __init__(self, base: SqlStorage, connection: Connection) -> None:
        self._base = base
        self._conn = connection
        self._block = _Layer()
        self._tx = _Layer()
        self._db_config: Config | _Missing | None = MISSING
        self._db_liveliness: LivelinessState | _Missing = MISSING
        self._db_policy: StoredPolicy | _Missing | None = MISSING
        self._db_work_reports: dict[tuple[str, int], bool] = {}
        self._db_workers: dict[str, Worker | None] = {}
        self._db_subscribers: dict[str, Subscriber | None] = {}
        self._db_revoked: dict[tuple[str, str], bool] = {}
        self._db_owned: dict[str, int] = {}

    # tx boundaries ----------------------------------------------------------

    def commit_tx(self) -> None:
        """Keep the current tx's writes (they join the block's)."""
        self._tx.merge_into(self._block)
        self._tx = _Layer()

    def rollback_tx(self) -> None:
        """Forget the current tx's writes."""
        self._tx = _Layer()

    # config -----------------------------------------------------------------

    def load_config(self) -> Config | None:
        for layer in (self._tx, self._block):
            if not isinstance(layer.config, _Missing):
                return layer.config
        if isinstance(self._db_config, _Missing):
            self._db_config = self._base.load_config()
        return self._db_config

    def save_config(self, config: Config) -> None:
        self._tx.config = config

    def load_liveliness(self) -> LivelinessState:
        for layer in (self._tx, self._block):
            if not isinstance(layer.liveliness, _Missing):
                return layer.liveliness
        if isinstance(self._db_liveliness, _Missing):
            self._db_liveliness = self._base.load_liveliness()
        return self._db_liveliness

    def save_liveliness(self, state: LivelinessState) -> None:
        self._tx.liveliness = state

    def load_attestation_policy(self) -> StoredPolicy | None:
        for layer in (self._tx, self._block):
            if not isinstance(layer.policy, _Missing):
                return layer.policy
        if isinstance(self._db_policy, _Missing):
            self._db_policy = self._base.load_attestation_policy()
        return self._db_policy

    def save_attestation_policy(self, policy: StoredPolicy | None) -> None:
        self._tx.policy = policy

    # work reports -----------------------------------------------------------

    def has_work_report(self, ip_address: str, period: int) -> bool:
        key = (ip_address, period)
        if key in self._tx.work_reports or key in self._block.work_reports:
            return True
        if key not in self._db_work_reports:
            self._db_work_reports[key] = self._base.has_work_report(ip_address, period)
        return self._db_work_reports[key]

    def insert_work_report(self, report: WorkReport) -> None:
        if self.has_work_report(report.ip_address, report.period):
            raise LookupError(f"a work report for {report.ip_address} {report.period} exists")
        self._tx.work_reports[(report.ip_address, report.period)] = report

    # workers ----------------------------------------------------------------

    def prefetch_workers(self, ip_addresses: Iterable[str]) -> None:
        """Read the stored workers at ``ip_addresses`` in a few queries, ahead of the
        block's txs that name them (one lookup each would cost a query per tx)."""
        unknown = sorted({ip for ip in ip_addresses if ip not in self._db_workers})
        if not unknown:
            return
        found = self._base.get_workers(unknown)
        for ip_address in unknown:
            self._db_workers[ip_address] = found.get(ip_address)

    def _db_worker(self, ip_address: str) -> Worker | None:
        if ip_address not in self._db_workers:
            self._db_workers[ip_address] = self._base.get_worker(ip_address)
        return self._db_workers[ip_address]

    def get_worker(self, ip_address: str) -> Worker | None:
        for layer in (self._tx, self._block):
            if ip_address in layer.workers:
                return layer.workers[ip_address]
        return self._db_worker(ip_address)

    def get_worker_by_key(self, worker_public_key: str) -> Worker | None:
        for layer in (self._tx, self._block):
            for ip_address in layer.keys.get(worker_public_key, ()):
                worker = self.get_worker(ip_address)
                if worker is not None and worker.worker_public_key == worker_public_key:
                    return worker
        stored = self._base.get_worker_by_key(worker_public_key)
        if stored is None:
            return None
        self._db_workers.setdefault(stored.ip_address, stored)
        current = self.get_worker(stored.ip_address)
        if current is not None and current.worker_public_key == worker_public_key:
            return current
        return None

    def insert_worker(self, worker: Worker) -> None:
        if self.get_worker(worker.ip_address) is not None:
            raise LookupError(f"a worker row at {worker.ip_address} exists already")
        self._tx.put_worker(worker.ip_address, worker, None)

    def update_worker(self, old_ip_address: str, worker: Worker) -> None:
        before = self.get_worker(old_ip_address)
        if before is None:
            raise LookupError(f"no worker row at {old_ip_address} to update")
        if worker.ip_address != old_ip_address:
            if self.get_worker(worker.ip_address) is not None:
                raise LookupError(f"a worker row at {worker.ip_address} exists already")
            self._tx.put_worker(old_ip_address, None, before)
            before = None
        self._tx.put_worker(worker.ip_address, worker, before)

    def delete_worker(self, ip_address: str) -> None:
        self._tx.put_worker(ip_address, None, self.get_worker(ip_address))

    def count_workers_owned_by(self, payment_wallet: str) -> int:
        if payment_wallet not in self._db_owned:
            self._db_owned[payment_wallet] = self._base.count_workers_owned_by(payment_wallet)
        return (
            self._db_owned[payment_wallet]
            + self._block.owned.get(payment_wallet, 0)
            + self._tx.owned.get(payment_wallet, 0)
        )

    # subscribers ------------------------------------------------------------

    def get_subscriber(self, public_key: str) -> Subscriber | None:
        for layer in (self._tx, self._block):
            if public_key in layer.subscribers:
                return layer.subscribers[public_key]
        if public_key not in self._db_subscribers:
            self._db_subscribers[public_key] = self._base.get_subscriber(public_key)
        return self._db_subscribers[public_key]

    def add_subscriber(self, subscriber: Subscriber) -> None:
        self._tx.subscribers[subscriber.public_key] = subscriber

    def remove_subscriber(self, public_key: str) -> None:
        self._tx.subscribers[public_key] = None

    # revoked permits --------------------------------------------------------

    def is_permit_revoked(self, account: str, permit_name: str) -> bool:
        key = (account, permit_name)
        if key in self._tx.revoked_permits or key in self._block.revoked_permits:
            return True
        if key not in self._db_revoked:
            self._db_revoked[key] = self._base.is_permit_revoked(account, permit_name)
        return self._db_revoked[key]

    def revoke_permit(self, account: str, permit_name: str, height: int) -> None:
        if self.is_permit_revoked(account, permit_name):
            raise LookupError(f"permit {permit_name!r} of {account} is revoked already")
        self._tx.revoked_permits[(account, permit_name)] = height

    # flush ------------------------------------------------------------------

    def _existing_workers(self, addresses: list[str]) -> set[str]:
        unknown = [a for a in addresses if a not in self._db_workers]
        found: set[str] = {a for a in addresses if self._db_workers.get(a) is not None}
        for start in range(0, len(unknown), 500):
            chunk = unknown[start : start + 500]
            rows = self._conn.execute(
                select(workers.c.ip_address).where(workers.c.ip_address.in_(chunk))
            )
            found.update(str(r[0]) for r in rows)
        return found

    def flush(self) -> None:
        """Write the block's net changes to the database (inside the caller's transaction)."""
        if not self._tx.empty:
            raise RuntimeError("flush with an open tx: commit_tx or rollback_tx first")
        block = self._block
        if not isinstance(block.config, _Missing):
            self._base.save_config(block.config)
        if not isinstance(block.liveliness, _Missing):
            self._base.save_liveliness(block.liveliness)
        if not isinstance(block.policy, _Missing):
            self._base.save_attestation_policy(block.policy)
        self._flush_workers(block.workers)
        self._flush_subscribers(block.subscribers)
        self._base.insert_work_reports(list(block.work_reports.values()))
        self._base.revoke_permits([(a, n, h) for (a, n), h in block.revoked_permits.items()])
        self._block = _Layer()
        self._db_config = MISSING
        self._db_liveliness = MISSING
        self._db_policy = MISSING
        self._db_workers.clear()
        self._db_subscribers.clear()
        self._db_revoked.clear()
        self._db_owned.clear()
        self._db_work_reports.clear()

    def _flush_workers(self, changed: dict[str, Worker | None]) -> None:
        if not changed:
            return
        existing = self._existing_workers(list(changed))
        gone = [ip for ip, w in changed.items() if w is None and ip in existing]
        updated = [w for ip, w in changed.items() if w is not None and ip in existing]
        added = [w for ip, w in changed.items() if w is not None and ip not in existing]
        if gone:
            keys = [{"key": ip} for ip in gone]
            self._conn.execute(
                delete(worker_reports).where(worker_reports.c.ip_address == bindparam("key")), keys
            )
            self._conn.execute(
                delete(workers).where(workers.c.ip_address == bindparam("key")), keys
            )
        if updated:
            values = [worker_values(w) for w in updated]
            self._conn.execute(
                update(workers)
                .where(workers.c.ip_address == bindparam("key"))
                .values({c: bindparam(c) for c in values[0] if c != "ip_address"}),
                [{**v, "key": v["ip_address"]} for v in values],
            )
            # reports are kilobytes: rewrite only those that changed
            reports = [
                report_values(w)
                for w in updated
                if (before := self._db_workers.get(w.ip_address)) is None
                or before.attestation_report != w.attestation_report
                or before.attestation_verdict != w.attestation_verdict
            ]
            if reports:
                self._conn.execute(
                    update(worker_reports)
                    .where(worker_reports.c.ip_address == bindparam("key"))
                    .values(
                        attestation_report=bindparam("attestation_report"),
                        attestation_verdict=bindparam("attestation_verdict"),
                    ),
                    [{**r, "key": r["ip_address"]} for r in reports],
                )
        if added:
            self._conn.execute(insert(workers), [worker_values(w) for w in added])
            self._conn.execute(insert(worker_reports), [report_values(w) for w in added])

    def _flush_subscribers(self, changed: dict[str, Subscriber | None]) -> None:
        if not changed:
            return
        keys = list(changed)
        existing = {
            str(r[0])
            for r in self._conn.execute(
                select(subscribers.c.public_key).where(subscribers.c.public_key.in_(keys))
            )
        }
        gone = [k for k, s in changed.items() if s is None and k in existing]
        added = [s for k, s in changed.items() if s is not None and k not in existing]
        kept = [s for k, s in changed.items() if s is not None and k in existing]
        if gone:
            self._conn.execute(
                delete(subscribers).where(subscribers.c.public_key == bindparam("key")),
                [{"key": k} for k in gone],
            )
        if added:
            self._conn.execute(
                insert(subscribers),
                [{"public_key": s.public_key, "added_height": s.added_height} for s in added],
            )
        for subscriber in kept:  # re-added within the block: keep the newest height
            self._conn.execute(
                update(subscribers)
                .where(subscribers.c.public_key == subscriber.public_key)
                .values(added_height=subscriber.added_height)
            )
