"""Alembic environment: runs on the connection the Store hands over (never a URL of its own)."""

from alembic import context

from worker_manager.store.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError(
        "worker-manager migrations run through the Store (worker-manager migrate), "
        "not the alembic command line"
    )
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    transaction_per_migration=False,
)
context.run_migrations()
