"""Alembic migrations: they build exactly the schema the code declares, up and down."""

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from worker_manager.store import Store
from worker_manager.store.migrate import current_revision, head_revision, upgrade
from worker_manager.store.tables import metadata


def test_migrations_match_the_declared_tables(empty_database_url: str) -> None:
    store = Store(empty_database_url)
    before, after = store.migrate()
    assert (before, after) == (None, head_revision())
    with store.read() as session:
        diff = compare_metadata(MigrationContext.configure(session.connection), metadata)
    assert diff == []
    store.close()


def test_migrating_twice_is_harmless_and_down_then_up_works(empty_database_url: str) -> None:
    store = Store(empty_database_url)
    store.migrate()
    assert store.migrate() == (head_revision(), head_revision())
    with store.write() as session:
        from alembic import command

        from worker_manager.store.migrate import _config

        command.downgrade(_config(session.connection), "base")
        assert current_revision(session.connection) is None
        upgrade(session.connection)
        assert current_revision(session.connection) == head_revision()
    store.close()


def test_sqlite_runs_in_wal_mode_with_durable_commits(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'm.db'}")
    store.migrate()
    with store.read() as session:
        assert session.connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert session.connection.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
    store.close()
