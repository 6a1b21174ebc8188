"""Helpers of the snapshot tests: a history of real txs that fills every table a snapshot
holds, with the values that tell engines apart (text beyond the BMP, long text, binary
tx bytes, booleans, NULLs, large integers; the edge values of every column type are in
test_snapshot.py).

Each tx waits for its own block, so the same history gives the same blocks (and the
same database, row for row) on any engine whose node runs on a :class:`FixedClock`
(all signed: a trusted tx's hash is unique per node process).
Then export, load and count rows as the commands do.
"""

import io
import json
from typing import Any

from sqlalchemy import func, inspect, select, table

from tests.conftest import (
    ADMIN,
    ADMIN_KEY,
    API,
    CHAIN_ID,
    GENESIS_NS,
    OTHER_KEY,
    OWNER_KEY,
    SUBSCRIBER_KEY,
    WORKER_KEY,
    make_node,
    register_msg,
)
from tests.node.test_ante import send, signed
from worker_manager.contract.liveliness import liveliness_sign_bytes, work_sign_bytes
from worker_manager.node import FixedClock, Node
from worker_manager.store import Store
from worker_manager.store.canonical import BATCH_ROWS
from worker_manager.store.snapshot import SnapshotSummary, write_snapshot
from worker_manager.store.snapshot_load import SnapshotReader, load_snapshot

#: Beyond the Basic Multilingual Plane (4 UTF-8 bytes, a surrogate pair in UTF-16).
ODD = "𝄞🙂𐍈"
#: The largest usage count a work report may carry (JSON's exact integers).
MAX_USAGE = 2**53 - 1
LONG_REPORT = "quote:" + "0123456789abcdef" * 3000  # 48 kB of text in one column


def _query(node: Node, msg: dict[str, Any]) -> Any:
    return json.loads(node.query(json.dumps(msg).encode()))


def _liveliness(node: Node, ip: str) -> dict[str, Any]:
    challenge = _query(node, {"get_liveliness_challenge": {}})["challenge"]
    sign_bytes = liveliness_sign_bytes(
        chain_id=CHAIN_ID,
        contract=node.identity.contract_address,
        ip_address=ip,
        challenge=challenge,
        load=7,
    )
    body = {"ip_address": ip, "challenge": challenge, "load": 7}
    return {"report_liveliness": {**body, "signature": WORKER_KEY.sign(sign_bytes).hex()}}


def _work(node: Node, ip: str) -> dict[str, Any]:
    period_s = _query(node, {"get_config": {}})["work_period_seconds"]
    period = node.clock.now_ns() // 1_000_000_000 // period_s - 1
    usage = [
        {
            "subscriber": SUBSCRIBER_KEY.public_key.hex(),
            "requests": MAX_USAGE,
            "input_tokens": MAX_USAGE,
            "output_tokens": 0,
        },
        {
            "subscriber": OWNER_KEY.public_key.hex(),
            "requests": 1,
            "input_tokens": 2,
            "output_tokens": 3,
        },
    ]
    sign_bytes = work_sign_bytes(
        chain_id=CHAIN_ID,
        contract=node.identity.contract_address,
        ip_address=ip,
        period=period,
        usage=list(usage),
    )
    body = {"ip_address": ip, "period": period, "usage": usage}
    return {"report_work": {**body, "signature": WORKER_KEY.sign(sign_bytes).hex()}}


def make_history(node: Node) -> None:
    """Workers (one with a worker key, one paused), liveliness and work reports,
    subscribers, a revoked permit, successes and refusals."""
    keyed = register_msg(
        "10.0.0.2",
        worker_public_key=WORKER_KEY.public_key.hex(),
        url=f"https://gpu.example/{ODD}/v1",
        attestation_report=f"quote:{ODD}",
    )
    send(node, signed(node, ADMIN_KEY, register_msg("10.0.0.1", attestation_report=LONG_REPORT)))
    send(node, signed(node, ADMIN_KEY, keyed, memo=f"memo {ODD} \u2028 \\ \" '"))
    send(node, signed(node, OTHER_KEY, register_msg("10.0.0.3")))  # refused: not the admin
    send(node, signed(node, ADMIN_KEY, register_msg("10.0.0.4", worker_type=ODD)))  # refused
    paused = {"set_worker_paused": {"ip_address": "10.0.0.1", "paused": True}}
    send(node, signed(node, OWNER_KEY, paused))
    for msg in (
        {"add_subscriber": {"public_key": SUBSCRIBER_KEY.public_key.hex()}},
        {"add_subscriber": {"public_key": OWNER_KEY.public_key.hex()}},
        {"remove_subscriber": {"public_key": OWNER_KEY.public_key.hex()}},
    ):
        send(node, signed(node, ADMIN_KEY, msg))
    send(node, signed(node, OWNER_KEY, _liveliness(node, "10.0.0.2")))
    send(node, signed(node, OWNER_KEY, _work(node, "10.0.0.2")))
    new_type = {"set_worker_type": {"ip_address": "10.0.0.1", "worker_type": "m:8b"}}
    send(node, signed(node, OWNER_KEY, new_type))
    send(node, signed(node, SUBSCRIBER_KEY, {"revoke_permit": {"permit_name": f"p {ODD}"}}))


# -- exporting, loading and looking at databases ----------------------------------------


def run_history(url: str) -> Store:
    """A chain created on the migrated, empty database at ``url`` and fed
    :func:`make_history` (the caller closes the store)."""
    store = Store(url)
    clock = FixedClock(GENESIS_NS)
    Node.genesis(store, chain_id=CHAIN_ID, admin=ADMIN, clock=clock, api=API)
    node = make_node(store, clock)
    try:
        make_history(node)
    finally:
        node.close()
    return store


def export(store: Store, *, batch_rows: int = BATCH_ROWS) -> bytes:
    """The snapshot of ``store``'s database, as export writes it."""
    out = io.BytesIO()
    with store.read() as session:
        write_snapshot(session, out, batch_rows=batch_rows)
    return out.getvalue()


def load(url: str, data: bytes, **options: Any) -> SnapshotSummary:
    """Load the snapshot ``data`` into the database at ``url`` in one transaction, as
    import does."""
    store = Store(url)
    try:
        with store.write() as session:
            return load_snapshot(session, SnapshotReader(io.BytesIO(data), **options))
    finally:
        store.close()


def export_url(url: str) -> bytes:
    store = Store(url)
    try:
        return export(store)
    finally:
        store.close()


def table_counts(url: str) -> dict[str, int]:
    """Every table of the database at ``url`` (Alembic's too) with its row count: what a
    refused import must leave as it was."""
    store = Store(url)
    try:
        with store.read() as session:
            names = inspect(session.connection).get_table_names()
            return {
                name: session.connection.execute(
                    select(func.count()).select_from(table(name))
                ).scalar_one()
                for name in sorted(names)
            }
    finally:
        store.close()
