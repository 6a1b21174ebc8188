"""The composition root: the one place that picks concrete parts for a node."""

from pathlib import Path

from worker_manager.attestation.collateral_dir import WatchedCollateralDirectory
from worker_manager.attestation.nvidia.rim import MemoryRimStore
from worker_manager.home import node_seed
from worker_manager.node.clock import Clock, SystemClock
from worker_manager.node.collateral_refresh import CollateralRefresher
from worker_manager.node.examiner import Examiner
from worker_manager.node.host_api import HostApi
from worker_manager.node.node import Node
from worker_manager.secret.aliases import CONTRACT_ALIASES
from worker_manager.secret.node_key import node_io_key
from worker_manager.settings import Settings
from worker_manager.store import Store

COLLATERAL_DIR = "collateral"
RIMS_DIR = "rims"


def host_api(settings: Settings) -> HostApi:
    """The contract's host functions for this home (its seed). They read no collateral:
    replays (``worker-manager verify``) judge the evidence recorded with each tx."""
    return HostApi(node_seed(settings))


def load_rims(folder: Path) -> MemoryRimStore:
    """The signed NVIDIA driver RIMs kept in ``folder`` (each checked as it loads)."""
    rims = MemoryRimStore()
    for path in sorted(folder.glob("*.xml")):
        rims.add_xml(path.read_bytes())
    return rims


def examiner(settings: Settings) -> Examiner:
    """How this home's node examines attestation reports: with the collateral bundles in
    ``HOME/collateral`` (``attestation collateral import``; reloaded when they change) and
    the signed NVIDIA driver RIMs in ``HOME/rims``."""
    collateral_dir = settings.home / COLLATERAL_DIR
    collateral_dir.mkdir(parents=True, exist_ok=True)
    rims = load_rims(settings.home / RIMS_DIR)
    return Examiner(collateral=WatchedCollateralDirectory(collateral_dir), rims=rims)


def open_store(settings: Settings, *, migrate: bool = False) -> Store:
    """Open the home's database; with ``migrate``, bring its schema to this code's head."""
    store = Store(settings.database_url)
    if migrate:
        store.migrate()
    return store


def build_node(settings: Settings, *, clock: Clock | None = None, migrate: bool = False) -> Node:
    """A node over the home's database (its schema must match this code unless ``migrate``).

    It opens the encrypted envelopes of Secret's clients with the x25519 key derived
    from the home's seed, and answers to the contract aliases those clients default to.
    """
    store = open_store(settings, migrate=migrate)
    clock = clock or SystemClock()
    try:
        examining = examiner(settings)
        refresher = None
        if isinstance(examining.collateral, WatchedCollateralDirectory):
            refresher = CollateralRefresher(
                store,
                clock,
                examining.collateral,
                pccs_url=settings.collateral_pccs_url,
                refresh_before_s=settings.collateral_refresh_before_s,
                check_interval_s=settings.collateral_check_interval_s,
                warn_before_s=settings.collateral_warn_before_s,
            )
        return Node(
            store,
            clock,
            api=host_api(settings),
            examiner=examining,
            io_key=node_io_key(node_seed(settings)),
            contract_aliases=CONTRACT_ALIASES,
            block_interval_s=settings.block_interval_ms / 1000,
            max_staleness_s=settings.max_staleness_ms / 1000,
            max_tx_bytes=settings.max_tx_bytes,
            endpoint_checks=settings.endpoint_checks,
            endpoint_check_interval_s=settings.endpoint_check_interval_s,
            endpoint_check_timeout_s=settings.endpoint_check_timeout_s,
            endpoint_check_concurrency=settings.endpoint_check_concurrency,
            collateral_refresher=refresher,
        )
    except Exception:
        store.close()
        raise
