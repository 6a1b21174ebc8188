"""A read transaction whose statements all see the same moment, on every engine.

A read of several tables while a node commits blocks must not see some tables before a
block and the others after it. SQLite's read transactions already hold one snapshot
(WAL, from their first read). PostgreSQL's default isolation, READ COMMITTED, takes a
new snapshot for each statement; REPEATABLE READ keeps the first one until the end.
"""

from sqlalchemy import Connection


def see_one_moment(connection: Connection) -> None:
    """Make the open read transaction see one moment throughout (call it first: on
    PostgreSQL it must come before the transaction's first query)."""
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
