"""The dashboard's reads: counts and keyset pages over the indexes, inside the caller's
read transaction.

Every page is a range of an index (``workers``' key, ``ix_workers_worker_type``,
``ix_workers_serving``, ``ix_txs_sender``, ``ix_txs_height_tx_index``), cut by
``LIMIT``, never an ``OFFSET`` scan, so pages answer as fast at 100,000 workers as at
ten. A worker's status is a range of ``last_seen_index``
(:func:`~worker_manager.contract.liveliness.status_bounds`). Attestation reports are
never read here.
"""

import heapq
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, RowMapping, and_, case, desc, func, literal, or_, select

from worker_manager.contract.state import Worker
from worker_manager.store.storage import worker_from_row
from worker_manager.store.tables import blocks, txs, workers

#: ``(least, greatest)`` ``last_seen_index`` of a status (None: open on that side),
#: or None when no worker can have it.
Bounds = tuple[int | None, int | None] | None

#: The columns a table row shows (no report, no endpoint evidence).
_ROW_COLUMNS = (
    workers.c.ip_address,
    workers.c.payment_wallet,
    workers.c.worker_type,
    workers.c.url,
    workers.c.worker_public_key,
    workers.c.capacity,
    workers.c.registered_height,
    workers.c.registered_time,
    workers.c.updated_height,
    workers.c.last_seen_index,
    workers.c.last_seen_epoch,
    workers.c.last_seen_time,
    workers.c.load,
    workers.c.paused,
    workers.c.attestation_status,
    workers.c.attestation_reasons,
    workers.c.attested_index,
    workers.c.endpoint_status,
)
_TX_COLUMNS = (
    txs.c.hash,
    txs.c.height,
    txs.c.tx_index,
    txs.c.kind,
    txs.c.sender,
    txs.c.messages,
    txs.c.code,
    txs.c.error,
    txs.c.time_ns,
)


def _in_bounds(bounds: Bounds) -> Any:
    """The SQL condition for a status's range (False when no worker can have it)."""
    if bounds is None:
        return literal(False)
    least, greatest = bounds
    conditions: list[Any] = [workers.c.last_seen_index.is_not(None)]
    if least is not None:
        conditions.append(workers.c.last_seen_index >= least)
    if greatest is not None:
        conditions.append(workers.c.last_seen_index <= greatest)
    return and_(*conditions)


#: What a table row leaves out (reports are kilobytes each, and not shown).
_NOT_READ = {"attestation_report": "", "attestation_verdict": None, "endpoint_check": None}


def _row_worker(row: RowMapping) -> Worker:
    return worker_from_row({**row, **_NOT_READ})


def status_type_counts(
    connection: Connection, bounds: Mapping[str, Bounds]
) -> list[tuple[str, str, int]]:
    """``(worker_type, status, workers)`` for every pair that has workers: one pass over
    ``ix_workers_serving`` (type, last_seen_index), which covers the query."""
    status = case(
        *((_in_bounds(b), literal(name)) for name, b in bounds.items() if b is not None),
        else_=literal("offline"),
    ).label("status")
    query = (
        select(workers.c.worker_type, status, func.count().label("n"))
        .group_by(workers.c.worker_type, status)
        .order_by(workers.c.worker_type)
    )
    return [(str(t), str(s), int(n)) for t, s, n in connection.execute(query).all()]


#: A status whose band of ``last_seen_index`` holds at most this many values is paged
#: value by value (each an ordered range of an index) rather than filtered over a scan.
MAX_BAND = 64


def _narrow_band(status_bounds: Bounds | str, offline: bool) -> range | None:
    if isinstance(status_bounds, str) or status_bounds is None or offline:
        return None
    least, greatest = status_bounds
    if least is None or greatest is None or least == greatest:
        return None
    if not 0 < greatest - least < MAX_BAND:
        return None
    return range(least, greatest + 1)


def worker_page(
    connection: Connection,
    *,
    after: str | None,
    limit: int,
    prefix: str | None = None,
    worker_type: str | None = None,
    status_bounds: Bounds | str = "any",
    offline: bool = False,
    attestation: str | None = None,
) -> tuple[list[Worker], str | None]:
    """Up to ``limit`` workers in address order after ``after``, and the address to start
    the next page after (None on the last page).

    ``prefix``: addresses starting with it (a range of the key); ``status_bounds``: the
    range of ``last_seen_index`` of a status ("any": no filter), ``offline``: workers that
    never answered count too; ``attestation``: that verdict."""
    band = _narrow_band(status_bounds, offline)
    if band is not None:  # one keyset range of ix_workers_seen_address per value, merged
        pages = [
            worker_page(
                connection,
                after=after,
                limit=limit,
                prefix=prefix,
                worker_type=worker_type,
                status_bounds=(value, value),
                attestation=attestation,
            )[0]
            for value in band
        ]
        merged = list(heapq.merge(*pages, key=lambda w: w.ip_address))[: limit + 1]
        if len(merged) > limit:
            return merged[:limit], merged[limit - 1].ip_address
        return merged, None
    query = select(*_ROW_COLUMNS).order_by(workers.c.ip_address).limit(limit + 1)
    if after is not None:
        query = query.where(workers.c.ip_address > after)
    if prefix:
        query = query.where(workers.c.ip_address >= prefix)
        query = query.where(workers.c.ip_address < prefix + "\U0010ffff")
    if worker_type is not None:
        query = query.where(workers.c.worker_type == worker_type)
    if status_bounds != "any":
        assert not isinstance(status_bounds, str)
        condition = _in_bounds(status_bounds)
        if offline:
            condition = or_(condition, workers.c.last_seen_index.is_(None))
        query = query.where(condition)
    if attestation is not None:
        query = query.where(workers.c.attestation_status == attestation)
    rows = [_row_worker(r) for r in connection.execute(query).mappings()]
    if len(rows) > limit:
        return rows[:limit], rows[limit - 1].ip_address
    return rows, None


def recent_blocks(connection: Connection, limit: int) -> list[tuple[int, int, int, str]]:
    """The newest ``limit`` blocks: ``(height, time_ns, tx_count, hash)``, newest first."""
    query = select(blocks).order_by(desc(blocks.c.height)).limit(limit)
    return [
        (int(r["height"]), int(r["time_ns"]), int(r["tx_count"]), str(r["hash"]))
        for r in connection.execute(query).mappings()
    ]


def recent_txs(connection: Connection, limit: int) -> list[RowMapping]:
    """The newest ``limit`` txs (``ix_txs_height_tx_index`` backwards), newest first."""
    query = select(*_TX_COLUMNS).order_by(desc(txs.c.height), desc(txs.c.tx_index)).limit(limit)
    return list(connection.execute(query).mappings())


def txs_of_senders(connection: Connection, senders: Sequence[str], limit: int) -> list[RowMapping]:
    """The newest ``limit`` txs signed by each of ``senders`` (``ix_txs_sender``),
    newest first."""
    found: list[RowMapping] = []
    for sender in dict.fromkeys(senders):
        query = (
            select(*_TX_COLUMNS)
            .where(txs.c.sender == sender)
            .order_by(desc(txs.c.height))
            .limit(limit)
        )
        found += connection.execute(query).mappings().all()
    found.sort(key=lambda r: (r["height"], r["tx_index"]), reverse=True)
    return found[:limit]
