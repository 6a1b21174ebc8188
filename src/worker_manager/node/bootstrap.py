"""The composition root: the one place that picks concrete parts for a node."""

from worker_manager.home import node_seed
from worker_manager.node.clock import Clock, SystemClock
from worker_manager.node.node import Node
from worker_manager.node.secrets_api import SeededApi
from worker_manager.settings import Settings
from worker_manager.store import Store


def open_store(settings: Settings, *, migrate: bool = False) -> Store:
    """Open the home's database; with ``migrate``, bring its schema to this code's head."""
    store = Store(settings.database_url)
    if migrate:
        store.migrate()
    return store


def build_node(settings: Settings, *, clock: Clock | None = None, migrate: bool = False) -> Node:
    """A node over the home's database (its schema must match this code unless ``migrate``).

    It opens the encrypted envelopes of Secret's clients with the x25519 key
    derived from the home's seed, and answers to the contract aliases those
    clients default to.
    """
    from worker_manager.lcd.aliases import CONTRACT_ALIASES
    from worker_manager.lcd.envelopes import envelope_opener
    from worker_manager.lcd.node_key import node_io_key

    store = open_store(settings, migrate=migrate)
    try:
        node = Node(
            store,
            clock or SystemClock(),
            api=SeededApi(node_seed(settings)),
            block_interval_s=settings.block_interval_ms / 1000,
            max_tx_bytes=settings.max_tx_bytes,
        )
    except Exception:
        store.close()
        raise
    node.io_key = node_io_key(node_seed(settings))
    node.ante.decrypt = envelope_opener(node.io_key, node.identity.code_hash)
    node.ante.contract_aliases = CONTRACT_ALIASES
    return node
