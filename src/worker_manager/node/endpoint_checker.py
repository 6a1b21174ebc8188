"""The endpoint checker: connects to workers' TLS endpoints and records what they serve.

A worker whose quote binds a TLS certificate (see :mod:`worker_manager.contract.endpoints`)
is worth pinning only if the machine answering at its URL holds that certificate. On a
schedule, this thread connects to each such URL (bounded concurrency, a timeout per
connection, one retry), reads the certificate the endpoint serves, and hands what it saw
to the contract in a ``record_endpoint_checks`` sudo tx, which decides. Only what changed
since the stored check is sent, so a steady network writes nothing. Certificates are not
validated against any CA here on purpose: the binding in the quote is the trust anchor.
"""

import hashlib
import json
import logging
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from worker_manager.contract.deps import Api
from worker_manager.contract.endpoints import endpoint_to_check
from worker_manager.contract.msg import EndpointObservation
from worker_manager.contract.state import Config
from worker_manager.failures import ServiceUnavailable
from worker_manager.node.isolation import BlockWriteFailed
from worker_manager.settings import (
    DEFAULT_ENDPOINT_CHECK_CONCURRENCY,
    DEFAULT_ENDPOINT_CHECK_INTERVAL_S,
    DEFAULT_ENDPOINT_CHECK_TIMEOUT_S,
)
from worker_manager.store import Store

log = logging.getLogger(__name__)

#: Observations per sudo tx (the message allows 1,000).
BATCH = 500
PAGE = 1000
RETRY_DELAY_S = 0.5
#: The policy bindings under which verdicts may bind a TLS certificate.
TLS_POLICY_BINDINGS = frozenset({"secretvm_tls", "worker_key"})
#: The first round waits this long after start (the node settles first).
FIRST_ROUND_DELAY_S = 1.0


@dataclass(frozen=True, slots=True)
class Target:
    """One URL to check, and the check the contract holds for it (its JSON, or None)."""

    ip_address: str
    url: str
    stored: str | None


def observe(url: str, timeout_s: float) -> tuple[str, str] | str:
    """``(certificate sha256, SPKI sha256)`` of what ``url`` serves, or why not (text)."""
    parts = urlsplit(url)
    host, port = parts.hostname, parts.port or 443
    if host is None:
        return "the URL has no host"
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # the quote's binding is the anchor, not a CA
    try:
        with (
            socket.create_connection((host, port), timeout=timeout_s) as raw,
            context.wrap_socket(raw, server_hostname=host) as tls,
        ):
            der = tls.getpeercert(binary_form=True)
    except (OSError, ssl.SSLError, ValueError) as exc:
        return f"could not connect over TLS: {exc}"[:500]
    if not der:
        return "the endpoint served no certificate"
    try:
        key = x509.load_der_x509_certificate(der).public_key()
    except ValueError as exc:
        return f"the served certificate is unreadable: {exc}"[:500]
    spki = key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest(), hashlib.sha256(spki).hexdigest()


def _observation(target: Target, timeout_s: float) -> EndpointObservation:
    seen = observe(target.url, timeout_s)
    if isinstance(seen, str):  # one retry: a blip is not an outage
        time.sleep(RETRY_DELAY_S)
        seen = observe(target.url, timeout_s)
    if isinstance(seen, str):
        return EndpointObservation(ip_address=target.ip_address, url=target.url, error=seen)
    certificate, spki = seen
    return EndpointObservation(
        ip_address=target.ip_address,
        url=target.url,
        certificate_sha256=certificate,
        spki_sha256=spki,
    )


def changed(target: Target, observation: EndpointObservation) -> bool:
    """Whether ``observation`` tells the contract something its stored check does not."""
    if target.stored is None:
        return True
    stored: dict[str, Any] = json.loads(target.stored)
    if stored.get("url") != observation.url:
        return True
    if observation.error is not None:
        return stored.get("status") != "unreachable"
    return stored.get("status") == "unreachable" or (
        stored.get("certificate_sha256"),
        stored.get("spki_sha256"),
    ) != (observation.certificate_sha256, observation.spki_sha256)


class EndpointChecker:
    """Checks endpoints every ``interval_s`` while ``enabled()``; :meth:`check_once` is one
    round (what tests call)."""

    def __init__(
        self,
        store: Store,
        api: Api,
        *,
        enabled: Callable[[], bool],
        record: Callable[[Sequence[EndpointObservation]], object],
        interval_s: float = DEFAULT_ENDPOINT_CHECK_INTERVAL_S,
        timeout_s: float = DEFAULT_ENDPOINT_CHECK_TIMEOUT_S,
        concurrency: int = DEFAULT_ENDPOINT_CHECK_CONCURRENCY,
    ) -> None:
        self._store = store
        self._api = api
        self._enabled = enabled
        self._record = record
        self.interval_s = interval_s
        self.timeout_s = timeout_s
        self.concurrency = concurrency
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="endpoint-checker", daemon=True)

    def targets(self) -> Iterator[Target]:
        """Every worker whose quote binds a TLS certificate and whose URL is https; none
        without a policy (then no verdict binds one, and the workers are not read)."""
        with self._store.read() as session:
            policy = session.contract.load_attestation_policy()
        if policy is None or json.loads(policy.json).get("binding") not in TLS_POLICY_BINDINGS:
            return
        after: str | None = None
        while True:
            with self._store.read() as session:
                config: Config | None = session.contract.load_config()
                if config is None:
                    return
                page = session.contract.list_tls_bound_workers(start_after=after, limit=PAGE)
            for worker in page.workers:
                url = endpoint_to_check(self._api, config, worker)
                if url is not None:
                    yield Target(worker.ip_address, url, worker.endpoint_check)
            if page.next_start_after is None:
                return
            after = page.next_start_after

    def check_once(self) -> int:
        """Check every target; record what changed. Returns how many were recorded."""
        targets = list(self.targets())
        if not targets:
            return 0
        with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
            seen = list(pool.map(lambda t: _observation(t, self.timeout_s), targets))
        news = [o for t, o in zip(targets, seen, strict=True) if changed(t, o)]
        for start in range(0, len(news), BATCH):
            self._record(news[start : start + BATCH])
        for observation in news:
            if observation.error is not None:
                log.warning("endpoint %s: %s", observation.url, observation.error)
        log.info("endpoint checks: %d checked, %d changed", len(targets), len(news))
        return len(news)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=self.timeout_s * 2 + 10)

    def _run(self) -> None:
        wait = FIRST_ROUND_DELAY_S
        while not self._stop.wait(wait):
            wait = self.interval_s
            if not self._enabled():
                continue
            try:
                self.check_once()
            except (ServiceUnavailable, BlockWriteFailed) as exc:  # tried again next round
                log.warning("endpoint checks failed: %s", exc)
            except Exception:
                log.exception("endpoint checks failed")
