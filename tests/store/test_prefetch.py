"""A block reads the workers its txs name in a few queries, before it runs them
(:meth:`BufferedStorage.prefetch_workers`), and then behaves exactly as if it had
looked each one up on its own, on both engines."""

from typing import Any

from sqlalchemy import event

from tests.store.test_conformance import worker
from worker_manager.store import Store
from worker_manager.store.buffered import BufferedStorage


def test_prefetched_workers_are_read_once_and_written_back_as_usual(store: Store) -> None:
    with store.write() as session:
        for ip in ("10.0.0.1", "10.0.0.2"):
            session.contract.insert_worker(worker(ip))
    with store.write() as session:
        statements: list[str] = []

        def count(*args: Any) -> None:
            statements.append(str(args[2]))

        event.listen(session.connection, "before_cursor_execute", count)
        buffered = BufferedStorage(session.contract, session.connection)
        buffered.prefetch_workers(["10.0.0.1", "10.0.0.9", "10.0.0.1", "10.0.0.2"])
        assert len(statements) == 1  # one query for the three addresses
        assert buffered.get_worker("10.0.0.1") == worker("10.0.0.1")
        assert buffered.get_worker("10.0.0.9") is None
        assert len(statements) == 1  # answered from what was read ahead
        buffered.prefetch_workers(["10.0.0.2"])  # nothing new to read
        assert len(statements) == 1
        buffered.update_worker("10.0.0.1", worker("10.0.0.1", paused=True))
        buffered.insert_worker(worker("10.0.0.9"))
        buffered.commit_tx()
        buffered.flush()
        event.remove(session.connection, "before_cursor_execute", count)
    with store.read() as session:
        assert session.contract.get_worker("10.0.0.1") == worker("10.0.0.1", paused=True)
        assert session.contract.get_worker("10.0.0.9") == worker("10.0.0.9")
        assert session.contract.get_worker("10.0.0.2") == worker("10.0.0.2")
