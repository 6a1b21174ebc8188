"""Node-level facts kept beside the contract state (chain id, contract identity, height)."""

from sqlalchemy import Connection, insert, select, update

from worker_manager.store.tables import node_meta


class NodeMeta:
    """Key/value text in ``node_meta``, inside the caller's transaction."""

    def __init__(self, connection: Connection) -> None:
        self._conn = connection

    def get(self, key: str) -> str | None:
        value = self._conn.execute(
            select(node_meta.c.value).where(node_meta.c.key == key)
        ).scalar_one_or_none()
        return None if value is None else str(value)

    def set(self, key: str, value: str) -> None:
        updated = self._conn.execute(
            update(node_meta).where(node_meta.c.key == key).values(value=value)
        )
        if updated.rowcount == 0:
            self._conn.execute(insert(node_meta).values(key=key, value=value))

    def all(self) -> dict[str, str]:
        return {str(k): str(v) for k, v in self._conn.execute(select(node_meta))}
