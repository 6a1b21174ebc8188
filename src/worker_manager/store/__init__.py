"""The store: SQLAlchemy Core tables with Alembic migrations, SQLite or PostgreSQL."""

from worker_manager.store.store import SchemaError, Session, Store, StoreUnavailable

__all__ = ["SchemaError", "Session", "Store", "StoreUnavailable"]
