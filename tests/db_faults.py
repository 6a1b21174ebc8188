"""Real database refusals, made by the database itself on either engine.

A trigger refuses some writes (SQLite's ``RAISE(ABORT)``, PostgreSQL's ``RAISE
EXCEPTION`` with a SQLSTATE); a full disk is SQLite's own ``SQLITE_FULL`` (the file
may not grow) or PostgreSQL's ``disk_full`` (53100), as a full volume makes it say.
"""

from sqlalchemy import text

from worker_manager.store import Store


def _is_sqlite(store: Store) -> bool:
    return store.url.startswith("sqlite")


def refuse_writes(
    store: Store, name: str, *, table: str, event: str, when: str, message: str
) -> None:
    """Refuse every ``event`` (INSERT or UPDATE) on ``table`` whose new row meets ``when``
    (SQL over ``NEW``), with ``message``, as a constraint violation."""
    with store.write() as session:
        if _is_sqlite(store):
            session.connection.execute(
                text(
                    f"CREATE TRIGGER {name} BEFORE {event} ON {table} WHEN {when} "
                    f"BEGIN SELECT RAISE(ABORT, '{message}'); END"
                )
            )
            return
        _postgres_trigger(session.connection, name, table, event, when, message, "23514")


def allow_writes(store: Store, name: str, *, table: str) -> None:
    """Undo :func:`refuse_writes` (or :func:`disk_full`)."""
    with store.write() as session:
        if _is_sqlite(store):
            session.connection.execute(text(f"DROP TRIGGER {name}"))
        else:
            session.connection.execute(text(f"DROP TRIGGER {name} ON {table}"))


def disk_full(store: Store, full: bool) -> None:
    """Make every block's write fail as a full disk does, or stop doing so."""
    with store.write() as session:
        if _is_sqlite(store):
            pages = session.connection.exec_driver_sql("PRAGMA page_count").scalar()
            limit = pages if full else 1_073_741_823
            session.connection.exec_driver_sql(f"PRAGMA max_page_count={limit}")
            return
    if full:
        with store.write() as session:
            _postgres_trigger(
                session.connection,
                "disk_full",
                "blocks",
                "INSERT",
                "TRUE",
                'could not extend file "base/16384/2619": No space left on device',
                "53100",
            )
    else:
        allow_writes(store, "disk_full", table="blocks")


def _postgres_trigger(
    connection: object, name: str, table: str, event: str, when: str, message: str, state: str
) -> None:
    from sqlalchemy import Connection

    assert isinstance(connection, Connection)
    connection.execute(
        text(
            f"CREATE FUNCTION {name}_refuse() RETURNS trigger LANGUAGE plpgsql AS $body$ "
            f"BEGIN IF {when} THEN RAISE EXCEPTION '{message}' USING ERRCODE = '{state}'; "
            "END IF; RETURN NEW; END $body$"
        )
    )
    connection.execute(
        text(
            f"CREATE TRIGGER {name} BEFORE {event} ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {name}_refuse()"
        )
    )
