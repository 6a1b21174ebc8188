"""Examining attestation reports before their block (the expensive half of verifying).

A message that carries an attestation report (``register_worker``,
``set_worker_attestation``), or names workers whose stored reports to verify again
(``reverify_workers``), needs evidence: the quote checked by dcap-qvl against the
collateral held now, GPU evidence checked, and so on (:mod:`worker_manager.attestation.
examine`). The node does that here, after a tx passes its ante checks and before it
queues for a block, outside every lock; the evidence goes into the block with the
message and into the tx log (see :mod:`worker_manager.node.host_api` for the judging
half). Without an attestation policy nothing is examined: nothing would be judged.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from worker_manager.attestation import CollateralSource, MemoryCollateralStore
from worker_manager.attestation.examine import examine
from worker_manager.attestation.nvidia.rim import MemoryRimStore, RimSource
from worker_manager.contract.attestation import evidence_key


@dataclass
class Examiner:
    """Examines reports against the node's collateral and driver RIMs.

    ``test_root_ca_der`` replaces Intel's root with a test PKI's, for tests of
    synthetic quotes only: no setting or command exposes it.
    """

    collateral: CollateralSource
    rims: RimSource
    test_root_ca_der: bytes | None = None

    @classmethod
    def empty(cls) -> "Examiner":
        """An examiner with no collateral (every quote is ``collateral_unavailable``)."""
        return cls(collateral=MemoryCollateralStore(), rims=MemoryRimStore())

    def evidence(self, reports: Iterable[str], now: int) -> tuple[tuple[str, str], ...]:
        """``(evidence key, evidence JSON)`` for each distinct report, examined at ``now``."""
        found: dict[str, str] = {}
        for report in reports:
            key = evidence_key(report)
            if key not in found:
                examined = examine(
                    report,
                    collateral=self.collateral,
                    now=now,
                    rims=self.rims,
                    root_ca_der=self.test_root_ca_der,
                )
                found[key] = examined.to_json()
        return tuple(found.items())
