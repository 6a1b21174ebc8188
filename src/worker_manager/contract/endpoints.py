"""Endpoints a client can pin: the TLS certificate a worker serves, checked against its quote.

A worker's URL is only worth as much as the proof that the machine answering there is
the attested one. When a worker's quote binds a TLS certificate (SecretVM's binding:
``report_data[0:32]`` is the SHA-256 of the certificate's SubjectPublicKeyInfo, or of
the whole certificate in older images; ours, ``worker_key:tls``, hashes the key's
SHA-256 in with the registration fields, and the certificate travels in the report's
envelope), the node connects to its URL on a schedule and
records what it saw with ``record_endpoint_checks`` (a ``sudo`` message, so a replay
gives the same state). Here the contract compares each observation with the binding
recorded in the worker's verdict: ``ok`` keeps it served, ``mismatch`` (another
certificate) and ``unreachable`` stop it, with the reason in ``not_served_because``.
``get_endpoints`` then answers each served URL with the fingerprints to pin.
"""

import json
from typing import Any

from worker_manager.contract.auth import load_config
from worker_manager.contract.deps import Api, Deps, Env, QueryDeps
from worker_manager.contract.error import InvalidField
from worker_manager.contract.msg import (
    EndpointAnswer,
    EndpointAttestationAnswer,
    EndpointEvidenceAnswer,
    EndpointObservation,
    EndpointsAnswer,
    GetEndpoints,
    GetUrls,
    RecordEndpointChecks,
)
from worker_manager.contract.queries import urls_ranking, worker_url
from worker_manager.contract.response import Response
from worker_manager.contract.serving import ENDPOINT_OK, endpoint_served, serving_changed
from worker_manager.contract.state import Config, Worker
from worker_manager.contract.validate import canonical_worker_address

MISMATCH = "mismatch"
UNREACHABLE = "unreachable"
#: How a verdict names a TLS binding that held, and which digest report_data[0:32] is.
TLS_BINDINGS = {
    "secretvm_tls:spki": "spki_sha256",
    "secretvm_tls:certificate": "certificate_sha256",
    "worker_key:tls": "spki_sha256",
}
#: How every TLS binding's name starts, as a verdict's canonical JSON spells it.
TLS_BINDING_PREFIXES = ("secretvm_tls:", "worker_key:tls")


def _verdict(worker: Worker) -> dict[str, Any] | None:
    if not worker.attestation_verdict:
        return None
    verdict = json.loads(worker.attestation_verdict)
    return verdict if isinstance(verdict, dict) else None


def bound_tls(api: Api, worker: Worker) -> tuple[str, str] | None:
    """``(binding, digest hex)``: the certificate digest the worker's verified quote
    commits to, or None when its quote binds no TLS certificate."""
    verdict = _verdict(worker)
    if verdict is None:
        return None
    binding, report_data = verdict.get("binding"), verdict.get("report_data")
    if binding == "worker_key:tls":  # hashed in with the registration: the envelope's key
        digest = api.tls_key_sha256(worker.attestation_report)
        return None if digest is None else (binding, digest)
    if binding not in TLS_BINDINGS or not isinstance(report_data, str) or len(report_data) < 64:
        return None
    return binding, report_data[:64].lower()


def endpoint_to_check(api: Api, config: Config, worker: Worker) -> str | None:
    """The URL the node should check for ``worker``: an https URL of a worker whose quote
    binds a TLS certificate; None when there is nothing to check."""
    if bound_tls(api, worker) is None:
        return None
    url = worker_url(config, worker)
    return url if url.lower().startswith("https://") else None


def _judge(api: Api, worker: Worker, observation: EndpointObservation) -> tuple[str, str]:
    """(status, message) of one observation of a worker whose quote binds a certificate."""
    bound = bound_tls(api, worker)
    if bound is None:  # pragma: no cover - callers check first
        return MISMATCH, "the quote binds no TLS certificate"
    binding, digest = bound
    if observation.error is not None:
        return UNREACHABLE, observation.error
    seen = getattr(observation, TLS_BINDINGS[binding])
    if seen is None:
        return UNREACHABLE, "no certificate was observed"
    if seen != digest:
        what = "key" if binding.endswith("spki") else "certificate"
        return MISMATCH, (
            f"the endpoint serves a TLS {what} with SHA-256 {seen}; the quote binds {digest}"
        )
    return ENDPOINT_OK, "the endpoint serves the certificate bound into the quote"


def sudo_record_endpoint_checks(deps: Deps, env: Env, msg: RecordEndpointChecks) -> Response:
    """Record the node's observations; an observation of a URL the worker no longer has,
    or of a worker whose quote binds no certificate, changes nothing."""
    config = load_config(deps.storage)
    counts: dict[str, int] = {}
    changed_serving = False
    for observation in msg.checks:
        try:
            address = canonical_worker_address(observation.ip_address)
        except InvalidField:
            continue
        worker = deps.storage.get_worker(address)
        if worker is None or endpoint_to_check(deps.api, config, worker) != observation.url:
            continue
        status, message = _judge(deps.api, worker, observation)
        check = json.dumps(
            {
                "certificate_sha256": observation.certificate_sha256,
                "checked_at": env.block.time,
                "message": message,
                "spki_sha256": observation.spki_sha256,
                "status": status,
                "url": observation.url,
            },
            sort_keys=True,
            separators=(",", ":"),
        )
        updated = worker.with_changes(endpoint_status=status, endpoint_check=check)
        deps.storage.update_worker(worker.ip_address, updated)
        if endpoint_served(worker.endpoint_status) != endpoint_served(status):
            changed_serving = True
        counts[status] = counts.get(status, 0) + 1
    if changed_serving:
        serving_changed(deps)
    return Response.of(
        "record_endpoint_checks",
        {"recorded": sum(counts.values()), "statuses": counts},
        recorded=str(sum(counts.values())),
        **{status: str(n) for status, n in sorted(counts.items())},
    )


def _attestation(worker: Worker) -> EndpointAttestationAnswer:
    verdict = _verdict(worker) or {}
    return EndpointAttestationAnswer(
        status=worker.attestation_status,
        tcb_status=verdict.get("tcb_status"),
        measurement_label=verdict.get("measurement_label"),
        binding=verdict.get("binding"),
        verified_at=verdict.get("verified_at"),
        collateral_sha256=verdict.get("collateral_sha256"),
        policy_sha256=verdict.get("policy_sha256"),
    )


def endpoint_answer(api: Api, config: Config, worker: Worker, *, evidence: bool) -> EndpointAnswer:
    bound = bound_tls(api, worker)
    check = json.loads(worker.endpoint_check) if worker.endpoint_check else {}
    pinned = worker.endpoint_status == ENDPOINT_OK and check.get("url") == worker_url(
        config, worker
    )
    attestation = _attestation(worker)
    return EndpointAnswer(
        url=worker_url(config, worker),
        ip_address=worker.ip_address,
        worker_type=worker.worker_type,
        tls_binding=None if bound is None else bound[0],
        certificate_sha256=check.get("certificate_sha256") if pinned else None,
        spki_sha256=check.get("spki_sha256") if pinned else None,
        endpoint_checked_at=check.get("checked_at"),
        attestation=attestation,
        evidence=(
            EndpointEvidenceAnswer(
                attestation_report=worker.attestation_report,
                collateral_sha256=attestation.collateral_sha256,
            )
            if evidence
            else None
        ),
    )


def query_endpoints(deps: QueryDeps, msg: GetEndpoints) -> EndpointsAnswer:
    """The served workers behind ``get_u_r_ls``'s URLs, in the same order."""
    config = load_config(deps.storage)
    ranking = urls_ranking(
        deps, GetUrls(model=msg.model, subscriber=msg.subscriber, limit=msg.limit)
    )
    answers: list[EndpointAnswer] = []
    for address in ranking.ranked(msg.subscriber).values():
        worker = deps.storage.get_worker(address)
        if worker is not None:
            answers.append(endpoint_answer(deps.api, config, worker, evidence=msg.evidence))
    return EndpointsAnswer(endpoints=answers)
