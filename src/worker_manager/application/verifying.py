"""Checking a home's state against its tx log: replay into a scratch database, compare.

The replay judges the attestation evidence recorded with each tx, so it reads no
collateral: the same log gives the same answer on any machine, at any time.
"""

import tempfile
from pathlib import Path

from worker_manager.application.errors import Failed
from worker_manager.node.bootstrap import host_api, open_store
from worker_manager.node.replay import ReplayError, ReplayReport, replay
from worker_manager.settings import Settings
from worker_manager.store import SchemaError, Store


def verify_home(settings: Settings) -> ReplayReport:
    """Replay the home's whole log into a scratch database and compare the state, table
    by table and by state hash (the report carries both hashes)."""
    source = open_store(settings)
    with tempfile.TemporaryDirectory(prefix="wm-verify-") as scratch:
        replica = Store(f"sqlite:///{Path(scratch) / 'replay.db'}")
        try:
            source.check_schema()
            replica.migrate()
            return replay(source, replica, host_api(settings))
        except (ReplayError, SchemaError) as exc:
            raise Failed(str(exc)) from exc
        finally:
            replica.close()
            source.close()
