"""Fill a stopped node's database with many workers at once (benchmarks only).

Registering 100,000 workers through signed txs would measure registration, not
what the benchmark is about; this writes the rows the contract would have
written, in one transaction, before the node starts.
"""

import hashlib
from pathlib import Path

from sqlalchemy import insert

from worker_manager.keys import PrivateKey
from worker_manager.node.deliver import account_number_for
from worker_manager.settings import Settings, environment
from worker_manager.store import Store
from worker_manager.store.tables import accounts, worker_reports, workers


def worker_key(i: int) -> PrivateKey:
    return PrivateKey(hashlib.sha256(f"bench worker {i}".encode()).digest())


def worker_address(i: int) -> str:
    return f"10.{i // 62500}.{i // 250 % 250}.{i % 250 + 1}"


def populate(
    home: Path, count: int, *, models: int, with_keys: bool, known_accounts: bool = False
) -> list[PrivateKey]:
    """Insert ``count`` live workers spread over ``models`` models; returns their keys.

    ``known_accounts``: each worker key's account is stored too (sequence 0, its public
    key), as for a network that has run a while: the steady state of liveliness, where
    the node has seen every signer before."""
    settings = Settings.load(home, environment())
    store = Store(settings.database_url)
    keys = [worker_key(i) for i in range(count)] if with_keys else []
    owner = PrivateKey(hashlib.sha256(b"bench owner").digest()).address
    rows, reports, signers = [], [], []
    for i in range(count):
        ip = worker_address(i)
        rows.append(
            {
                "ip_address": ip,
                "payment_wallet": owner,
                "worker_type": f"model-{i % models}",
                "url": None,
                "worker_public_key": keys[i].public_key.hex() if with_keys else None,
                "capacity": 1 + i % 4,
                "registered_height": 1,
                "registered_time": 0,
                "updated_height": 1,
                "last_seen_index": 0,
                "last_seen_epoch": None,
                "last_seen_time": None,
                "load": (i * 7) % 100,
                "paused": False,
            }
        )
        reports.append({"ip_address": ip, "attestation_report": "ab" * 2500})
        if known_accounts and with_keys:
            address = keys[i].address
            signers.append(
                {
                    "address": address,
                    "account_number": account_number_for(address),
                    "sequence": 0,
                    "public_key": keys[i].public_key.hex(),
                    "first_height": 1,
                }
            )
    with store.write() as session:
        for start in range(0, count, 10_000):
            session.connection.execute(insert(workers), rows[start : start + 10_000])
            session.connection.execute(insert(worker_reports), reports[start : start + 10_000])
            if signers:
                session.connection.execute(insert(accounts), signers[start : start + 10_000])
    store.close()
    return keys
