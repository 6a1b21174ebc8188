"""The contract's host functions: challenges from the node's secret seed, and
attestation verification against the node's collateral.

Liveliness challenges are ``HMAC-SHA256(k, epoch)`` with ``k`` derived from the
home's ``secrets/node.seed``: every node that shares the seed (and database)
gives the same challenge, a replay of the log can check old answers, and nobody
without the seed can compute a future epoch's challenge ahead of time.

Attestation verdicts come from :mod:`worker_manager.attestation` with the
collateral and NVIDIA RIMs the node holds (imported by the operator or fetched
from a PCCS, outside any transaction), at the block time: the same inputs give
the same verdict, so a replay of the log does too.
"""

import hmac
from functools import lru_cache

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from worker_manager.attestation import (
    AttestationPolicy,
    CollateralSource,
    MemoryCollateralStore,
    Verdict,
    WorkerKeyBinding,
    verify_attestation,
)
from worker_manager.attestation.nvidia.rim import MemoryRimStore, RimSource
from worker_manager.attestation.policy import PolicyError
from worker_manager.attestation.verify import verify_attestation_with_root_ca
from worker_manager.contract.deps import AttestationOutcome

_INFO = b"worker-manager/liveliness/v1"


class HostApi:
    """:class:`~worker_manager.contract.deps.Api` for a node.

    ``test_root_ca_der`` replaces Intel's root with a test PKI's, for tests of
    synthetic quotes only: no setting or command exposes it.
    """

    def __init__(
        self,
        seed: bytes,
        *,
        collateral: CollateralSource | None = None,
        rims: RimSource | None = None,
        test_root_ca_der: bytes | None = None,
    ) -> None:
        if len(seed) < 16:
            raise ValueError("the node seed must hold at least 16 bytes")
        self._key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(seed)
        self.collateral: CollateralSource = collateral or MemoryCollateralStore()
        self.rims: RimSource = rims or MemoryRimStore()
        self._test_root = test_root_ca_der

    def __repr__(self) -> str:
        return "HostApi(<secret>)"

    def liveliness_challenge(self, epoch: int) -> bytes:
        return _challenge(self._key, epoch)

    def check_attestation_policy(self, policy_json: str) -> str:
        try:
            return AttestationPolicy.from_json(policy_json).to_json()
        except PolicyError as exc:
            raise ValueError(str(exc)) from exc

    def _verify(
        self,
        report: str,
        policy: AttestationPolicy,
        *,
        worker_type: str,
        now: int,
        binding: WorkerKeyBinding | None,
        fresh: tuple[bytes, ...],
    ) -> Verdict:
        if self._test_root is not None:
            return verify_attestation_with_root_ca(
                report,
                root_ca_der=self._test_root,
                collateral=self.collateral,
                now=now,
                policy=policy,
                worker_type=worker_type,
                binding=binding,
                fresh_challenges=fresh,
                rims=self.rims,
            )
        return verify_attestation(
            report,
            collateral=self.collateral,
            now=now,
            policy=policy,
            worker_type=worker_type,
            binding=binding,
            fresh_challenges=fresh,
            rims=self.rims,
        )

    def verify_attestation(
        self,
        *,
        report: str,
        worker_type: str,
        policy_json: str,
        now: int,
        chain_id: str,
        payment_wallet: str,
        worker_public_key: str | None,
        fresh_challenges: tuple[bytes, ...],
    ) -> AttestationOutcome:
        policy = AttestationPolicy.from_json(policy_json)
        verdict: Verdict | None = None
        if policy.binding == "worker_key" and worker_public_key is not None:
            # the quote commits to one of the fresh challenges: try each
            for challenge in fresh_challenges:
                binding = WorkerKeyBinding(
                    chain_id=chain_id,
                    worker_pubkey=bytes.fromhex(worker_public_key),
                    payment_wallet=payment_wallet,
                    challenge=challenge,
                )
                verdict = self._verify(
                    report,
                    policy,
                    worker_type=worker_type,
                    now=now,
                    binding=binding,
                    fresh=fresh_challenges,
                )
                if "binding_mismatch" not in verdict.reasons:
                    break
        if verdict is None:
            verdict = self._verify(
                report,
                policy,
                worker_type=worker_type,
                now=now,
                binding=None,
                fresh=fresh_challenges,
            )
        return AttestationOutcome(
            status=verdict.status.value,
            reasons=tuple(verdict.reasons),
            message=verdict.message,
            verdict_json=verdict.to_json(),
        )


@lru_cache(maxsize=64)
def _challenge(key: bytes, epoch: int) -> bytes:
    """Every answer of an epoch asks for the same one or two challenges: keep them."""
    return hmac.digest(key, epoch.to_bytes(8, "big", signed=True), "sha256")
