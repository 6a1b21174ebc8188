"""The composition root: the one place that picks concrete parts for a node."""

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from worker_manager.home import node_seed
from worker_manager.node.clock import Clock, SystemClock
from worker_manager.node.host_api import HostApi
from worker_manager.node.node import Node
from worker_manager.settings import Settings
from worker_manager.store import Store

if TYPE_CHECKING:
    from worker_manager.attestation import CollateralBundle

COLLATERAL_DIR = "collateral"
RIMS_DIR = "rims"


def host_api(settings: Settings) -> HostApi:
    """The contract's host functions for this home: its seed, its collateral, its RIMs.

    Collateral bundles live in ``HOME/collateral`` (``attestation collateral import``),
    NVIDIA driver RIMs (signed XML) in ``HOME/rims``.
    """
    from worker_manager.attestation.nvidia.rim import MemoryRimStore

    collateral_dir = settings.home / COLLATERAL_DIR
    collateral_dir.mkdir(parents=True, exist_ok=True)
    rims = MemoryRimStore()
    for path in sorted((settings.home / RIMS_DIR).glob("*.xml")):
        rims.add_xml(path.read_bytes())
    return HostApi(node_seed(settings), collateral=HomeCollateral(collateral_dir), rims=rims)


class HomeCollateral:
    """The home's collateral directory, read afresh on each use, so bundles imported
    (or fetched) while the node runs count at once. Verifications are rare; the
    directory holds a few small files."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def bundles_for(self, fmspc: str, ca: str) -> Sequence["CollateralBundle"]:
        from worker_manager.attestation import DirectoryCollateralStore

        return DirectoryCollateralStore(self.root).bundles_for(fmspc, ca)


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
            api=host_api(settings),
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
