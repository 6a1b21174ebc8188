"""Schema migrations with Alembic, run in-process on the Store's own connection."""

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection

MIGRATIONS = Path(__file__).parent / "migrations"


def _config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest schema revision this code knows."""
    head = ScriptDirectory.from_config(_config()).get_current_head()
    if head is None:  # pragma: no cover - the package always ships migrations
        raise RuntimeError("no migrations found")
    return head


def known_revisions() -> frozenset[str]:
    """Every schema revision this code knows (a database at another one is newer)."""
    script = ScriptDirectory.from_config(_config())
    return frozenset(s.revision for s in script.walk_revisions())


def current_revision(connection: Connection) -> str | None:
    """The schema revision of the database behind ``connection`` (None if empty)."""
    return MigrationContext.configure(connection).get_current_revision()


def upgrade(connection: Connection, revision: str = "head") -> None:
    """Bring the schema up to ``revision`` inside the caller's transaction."""
    command.upgrade(_config(connection), revision)
