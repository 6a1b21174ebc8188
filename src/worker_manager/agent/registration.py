"""Check that the worker is registered, and register it when the config says how.

With ``tls_certificate_from_url`` (SecretVM binding) the report sent is an envelope
carrying the TLS certificate the worker's ``url`` really serves.
"""

import json
import logging
import ssl
from urllib.parse import urlsplit

from worker_manager.agent.config import AgentConfig
from worker_manager.client import Client, ContractRefused
from worker_manager.keys import PrivateKey

log = logging.getLogger(__name__)


def served_certificate(url: str, *, timeout: float = 10.0) -> str:
    """The TLS certificate (PEM) that ``url`` serves right now, as a client sees it."""
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        raise ValueError(f"{url} is not an https URL")
    return ssl.get_server_certificate((parts.hostname, parts.port or 443), timeout=timeout)


def with_served_certificate(report: str, url: str) -> str:
    """The report as an envelope carrying the certificate ``url`` serves (SecretVM binding:
    the quote's report data commits to that certificate's key)."""
    from worker_manager.attestation import decode_report, encode_envelope

    bundle = decode_report(report)
    pem = served_certificate(url)
    envelope = json.loads(encode_envelope(bundle.quote, tls_certificate_pem=pem))
    stripped = report.strip()
    if stripped.startswith("{"):  # keep GPU evidence and event log from the original envelope
        original = json.loads(stripped)
        envelope = {**original, "tls_certificate": pem}
    return json.dumps(envelope, sort_keys=True)


def ensure_registered(config: AgentConfig, client: Client, key: PrivateKey) -> None:
    """Return once the worker is registered; raise the client's errors (or ``OSError``
    for an unreadable attestation report) when it is not and cannot be now."""
    try:
        worker = client.worker(config.ip_address)
    except ContractRefused as exc:
        if exc.code != "worker_not_found":
            raise
        register(config, client, key)
        return
    if config.worker_key and worker.worker_public_key != key.public_key.hex():
        log.warning(
            "worker %s is registered with worker key %s, not this agent's %s",
            config.ip_address,
            worker.worker_public_key,
            key.public_key.hex(),
        )
    log.info("worker %s is registered (%s)", config.ip_address, worker.status)


def register(config: AgentConfig, client: Client, key: PrivateKey) -> None:
    reg = config.registration
    if reg is None:
        raise ContractRefused(
            "worker_not_found",
            f"worker {config.ip_address} is not registered and the agent config "
            "has no [register] section",
        )
    report = reg.attestation_report_file.read_text().strip()
    if reg.tls_certificate_from_url and reg.url:
        report = with_served_certificate(report, reg.url)
    result = client.register_worker(
        config.ip_address,
        reg.payment_wallet,
        report,
        reg.worker_type,
        url=reg.url,
        capacity=reg.capacity,
        worker_public_key=key.public_key.hex() if config.worker_key else None,
    )
    log.info("registered worker %s at height %d", config.ip_address, result.height)
