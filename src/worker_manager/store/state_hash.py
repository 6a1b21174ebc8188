"""The state hash: one sha256 that two databases holding the same state agree on.

It covers the tables a replay of the tx log rebuilds (:data:`STATE_TABLES`: the
contract's state and the accounts), not the log itself nor the node's own facts. It is
the sha256 of their rows' canonical lines (:mod:`.canonical`) in the order a snapshot
writes them, so the same state gives the same hash on SQLite and on PostgreSQL, and
the lines of those tables in a snapshot hash to it too. Computing it reads the whole
state: fine for operators (``verify``, ``GET /v1/state``), not for a hot path.
"""

import hashlib

from sqlalchemy import Table

from worker_manager.store.canonical import iter_lines
from worker_manager.store.store import Session
from worker_manager.store.tables import (
    accounts,
    contract_state,
    metadata,
    revoked_permits,
    subscribers,
    work_reports,
    work_usage,
    worker_reports,
    workers,
)

#: The tables a replay of the log rebuilds, and the state hash covers.
STATE_TABLES: tuple[Table, ...] = tuple(
    table
    for table in metadata.sorted_tables
    if table
    in (
        contract_state,
        workers,
        worker_reports,
        subscribers,
        work_reports,
        work_usage,
        revoked_permits,
        accounts,
    )
)


def state_hash(session: Session) -> str:
    """The hex sha256 of the state tables' canonical lines, read in ``session``'s
    transaction (open it with :func:`~.one_moment.see_one_moment` while nodes write)."""
    digest = hashlib.sha256()
    for table in STATE_TABLES:
        for line in iter_lines(session.connection, table):
            digest.update(line)
    return digest.hexdigest()
