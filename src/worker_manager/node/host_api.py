"""The contract's host functions: challenges from the node's secret seed, and judging
attestation evidence under the admin's policy.

Liveliness challenges are ``HMAC-SHA256(k, epoch)`` with ``k`` derived from the
home's ``secrets/node.seed``: every node that shares the seed (and database)
gives the same challenge, a replay of the log can check old answers, and nobody
without the seed can compute a future epoch's challenge ahead of time.

Attestation: the node examined each report before its block (collateral, dcap-qvl,
GPU evidence: :mod:`worker_manager.node.examiner`) and recorded the evidence with
the tx; here that evidence is only judged under the policy, which is pure and
cheap. So the host reads no collateral, and a replay of the log gives the same
verdicts from the recorded evidence.
"""

import hmac
from functools import lru_cache

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from worker_manager.attestation import AttestationPolicy, Verdict, WorkerKeyBinding
from worker_manager.attestation.binding import tls_spki_sha256
from worker_manager.attestation.decode import decode_report
from worker_manager.attestation.errors import AttestationError
from worker_manager.attestation.evidence import Evidence
from worker_manager.attestation.judge import judge, not_examined
from worker_manager.attestation.policy import PolicyError
from worker_manager.contract.deps import AttestationOutcome
from worker_manager.contract.state import StoredPolicy

_INFO = b"worker-manager/liveliness/v1"


@lru_cache(maxsize=256)
def _tls_key_sha256(report: str) -> str | None:
    """Hex sha256 of the SPKI of the certificate in ``report``'s envelope, if it has one."""
    if not report.lstrip().startswith("{"):
        return None  # a bare quote carries no certificate
    try:
        bundle = decode_report(report)
        if bundle.tls_certificate_der is None:
            return None
        return tls_spki_sha256(bundle.tls_certificate_der).hex()
    except AttestationError:
        return None


@lru_cache(maxsize=16)
def typed_policy(policy_json: str) -> AttestationPolicy:
    """The policy behind its canonical JSON, parsed once per distinct policy."""
    return AttestationPolicy.from_json(policy_json)


@lru_cache(maxsize=256)
def _evidence(text: str) -> Evidence:
    return Evidence.from_json(text)


class HostApi:
    """:class:`~worker_manager.contract.deps.Api` for a node (and for replays)."""

    def __init__(self, seed: bytes) -> None:
        if len(seed) < 16:
            raise ValueError("the node seed must hold at least 16 bytes")
        self._key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(seed)

    def __repr__(self) -> str:
        return "HostApi(<secret>)"

    def liveliness_challenge(self, epoch: int) -> bytes:
        return _challenge(self._key, epoch)

    def check_attestation_policy(self, policy_json: str) -> StoredPolicy:
        try:
            policy = AttestationPolicy.from_json(policy_json)
        except PolicyError as exc:
            raise ValueError(str(exc)) from exc
        return StoredPolicy(
            json=policy.to_json(),
            registration_mode=policy.registration_mode,
            reattest_every_epochs=policy.reattest_every_epochs,
        )

    def tls_key_sha256(self, report: str) -> str | None:
        return _tls_key_sha256(report)

    def judge_attestation(
        self,
        *,
        evidence: str | None,
        worker_type: str,
        policy: StoredPolicy,
        now: int,
        chain_id: str,
        payment_wallet: str,
        worker_public_key: str | None,
        fresh_challenges: tuple[bytes, ...],
        tls_key_sha256: str | None = None,
    ) -> AttestationOutcome:
        rules = typed_policy(policy.json)
        if evidence is None:
            return _outcome(not_examined(now, rules))
        examined = _evidence(evidence)
        verdict: Verdict | None = None
        if rules.binding == "worker_key" and worker_public_key is not None:
            # the quote commits to one of the fresh challenges, with the envelope's TLS
            # key (v2) or without it: try each, the TLS form first
            tls_forms = (None,) if tls_key_sha256 is None else (bytes.fromhex(tls_key_sha256), None)
            tries = ((c, tls) for c in fresh_challenges for tls in tls_forms)
            for challenge, tls in tries:
                binding = WorkerKeyBinding(
                    chain_id=chain_id,
                    worker_pubkey=bytes.fromhex(worker_public_key),
                    payment_wallet=payment_wallet,
                    challenge=challenge,
                    tls_spki_sha256=tls,
                )
                verdict = judge(
                    examined,
                    policy=rules,
                    worker_type=worker_type,
                    now=now,
                    binding=binding,
                    fresh_challenges=fresh_challenges,
                )
                if "binding_mismatch" not in verdict.reasons:
                    break
        if verdict is None:
            verdict = judge(
                examined,
                policy=rules,
                worker_type=worker_type,
                now=now,
                fresh_challenges=fresh_challenges,
            )
        return _outcome(verdict)


def _outcome(verdict: Verdict) -> AttestationOutcome:
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
