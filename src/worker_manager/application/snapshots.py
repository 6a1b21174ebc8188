"""Moving a network to another database: export a home's database, import it elsewhere.

A snapshot (:mod:`worker_manager.store.snapshot`) holds the whole database, read in
one transaction, so a node may keep serving while it is exported. Import creates the
home as ``init`` does but without a genesis (the chain comes from the snapshot) and
loads it in one transaction, checked before it commits; a bad snapshot or a database
that is not empty leaves no home and the database as it was.

The node seed is never in a snapshot (only its public fingerprint, in ``node_meta``).
The liveliness challenges and the node's x25519 key (Secret's encrypted messages)
derive from it, and ``verify`` checks old liveliness answers against it: give import
the old home's ``secrets/node.seed`` to keep them (it must match the fingerprint).
Without it the new home has a new seed, and the chain's fingerprint becomes its.
"""

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from sqlalchemy.exc import OperationalError

from worker_manager.application.errors import BadInput, Failed
from worker_manager.application.homes import load_settings, new_home
from worker_manager.home import HomeError, write_home
from worker_manager.node.bootstrap import host_api, open_store
from worker_manager.node.genesis import SEED_CHECK_KEY, seed_check
from worker_manager.node.identity import InvalidChainId, validate_chain_id
from worker_manager.settings import DEFAULT_HOST, DEFAULT_PORT, Settings
from worker_manager.store import SchemaError, Session, Store
from worker_manager.store.snapshot import SnapshotError, SnapshotSummary, write_snapshot
from worker_manager.store.snapshot_load import SnapshotReader, TargetNotEmpty, load_snapshot


def _unreachable(store: Store, exc: OperationalError) -> Failed:
    reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
    return Failed(f"cannot use the database {store.safe_url}: {reason}")


def export_home(settings: Settings, out: BinaryIO) -> SnapshotSummary:
    """Write the snapshot of the home's database to ``out``, read in one transaction."""
    store = open_store(settings)
    try:
        store.check_schema()
        with store.read() as session:
            return write_snapshot(session, out)
    except (SchemaError, SnapshotError) as exc:
        raise Failed(str(exc)) from exc
    except OperationalError as exc:
        raise _unreachable(store, exc) from exc
    finally:
        store.close()


def export_home_to(settings: Settings, path: Path) -> SnapshotSummary:
    """:func:`export_home` into the file ``path``: owner-only (a snapshot holds every
    message in plaintext), and there only once it is whole."""
    fd, partial = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent or ".")
    try:
        with os.fdopen(fd, "wb") as out:
            summary = export_home(settings, out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(partial, path)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise
    return summary


def _adopt_seed(session: Session, settings: Settings, *, kept: bool) -> None:
    """The chain's seed fingerprint must be this home's seed's (nodes refuse to run on a
    chain of another seed): checked when the old seed was given, replaced for a new one."""
    expected = seed_check(host_api(settings))
    stored = session.meta.get(SEED_CHECK_KEY)
    if stored is None or stored == expected:
        return
    if kept:
        raise BadInput(
            "--node-seed-file is not the seed of the chain in the snapshot; give the "
            "secrets/node.seed of the home it was exported from"
        )
    session.meta.set(SEED_CHECK_KEY, expected)


@dataclass(frozen=True, slots=True)
class ImportedHome:
    """A home made from a snapshot, and what was loaded into it."""

    settings: Settings
    summary: SnapshotSummary
    #: Whether the home took the old home's node seed (else it has a new one).
    kept_seed: bool


def import_home(
    home: Path,
    source: BinaryIO,
    *,
    database_url: str = "",
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    seed: bytes | None = None,
) -> ImportedHome:
    """Create ``home`` on ``database_url`` (empty: SQLite in the home) and load the
    snapshot read from ``source`` into its empty database (see the module docstring).

    Raises :class:`BadInput` for a bad snapshot (nothing is created), :class:`Failed`
    for a home that exists or a database that is not empty or cannot be used.
    """
    try:
        reader = SnapshotReader(source)
        validate_chain_id(reader.header.chain_id)
    except (SnapshotError, InvalidChainId) as exc:
        raise BadInput(f"the snapshot is refused: {exc}") from exc
    try:
        with new_home(home):
            write_home(
                home,
                chain_id=reader.header.chain_id,
                database_url=database_url,
                host=host,
                port=port,
                seed=seed,
            )
            settings = load_settings(home)
            store = open_store(settings)
            try:
                with store.write() as session:
                    summary = load_snapshot(session, reader)
                    _adopt_seed(session, settings, kept=seed is not None)
            except OperationalError as exc:
                raise _unreachable(store, exc) from exc
            finally:
                store.close()
    except SnapshotError as exc:
        raise BadInput(f"the snapshot is refused, nothing was imported: {exc}") from exc
    except (HomeError, SchemaError, TargetNotEmpty) as exc:
        raise Failed(f"nothing was imported: {exc}") from exc
    return ImportedHome(settings, summary, kept_seed=seed is not None)
