"""A node that trusts the test PKI of ``tests/attestation/synthetic.py`` (never done in
production), its clock inside the synthetic collateral window."""

from typing import Any

from tests.attestation.synthetic import TestPki
from tests.conftest import ADMIN, CHAIN_ID, make_node
from tests.contract.test_attestation import IN_WINDOW, SEED
from worker_manager.attestation import MemoryCollateralStore
from worker_manager.attestation.nvidia.rim import MemoryRimStore
from worker_manager.node import Examiner, FixedClock, Node
from worker_manager.node.host_api import HostApi
from worker_manager.store import Store


def trusting_node(store: Store, pki: TestPki, **parts: Any) -> tuple[Node, HostApi, FixedClock]:
    """A new chain on ``store`` and a node over it whose examiner trusts ``pki``."""
    api = HostApi(SEED)
    examiner = Examiner(
        collateral=MemoryCollateralStore([pki.collateral()]),
        rims=MemoryRimStore(),
        test_root_ca_der=pki.root_der,
    )
    clock = FixedClock(IN_WINDOW * 10**9)
    Node.genesis(store, chain_id=CHAIN_ID, admin=ADMIN, clock=clock, api=api)
    return make_node(store, clock, api=api, examiner=examiner, **parts), api, clock
