"""Real servers on 127.0.0.1 for the client's tests: uvicorn in a thread (HTTP or HTTPS),
and self-signed TLS certificates made with ``cryptography``."""

import datetime as dt
import hashlib
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)
from cryptography.x509.oid import NameOID

from worker_manager.client import Endpoint, EndpointAttestation, EndpointEvidence


@dataclass(frozen=True)
class Tls:
    """A self-signed certificate, its key, and both written to PEM files."""

    certificate: x509.Certificate
    key: ec.EllipticCurvePrivateKey
    certfile: Path
    keyfile: Path

    @property
    def pem(self) -> str:
        return self.certificate.public_bytes(Encoding.PEM).decode()

    @property
    def certificate_sha256(self) -> str:
        return hashlib.sha256(self.certificate.public_bytes(Encoding.DER)).hexdigest()

    @property
    def spki_sha256(self) -> str:
        spki = self.key.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
        return hashlib.sha256(spki).hexdigest()


def self_signed(
    folder: Path, name: str, key: ec.EllipticCurvePrivateKey | None = None, serial: int = 1
) -> Tls:
    """A self-signed certificate for ``name`` (a fresh P-256 key unless ``key`` is given)."""
    key = key or ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    start = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    folder.mkdir(parents=True, exist_ok=True)
    certfile = folder / f"{name}-{serial}.crt"
    keyfile = folder / f"{name}-{serial}.key"
    certfile.write_bytes(certificate.public_bytes(Encoding.PEM))
    keyfile.write_bytes(key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
    return Tls(certificate, key, certfile, keyfile)


@contextmanager
def serve(app: Any, tls: Tls | None = None, port: int = 0) -> Iterator[str]:
    """Run ``app`` on ``port`` (a free one by default) of 127.0.0.1 (HTTPS with ``tls``);
    yield its base URL."""
    options: dict[str, Any] = {}
    if tls is not None:
        options = {"ssl_certfile": str(tls.certfile), "ssl_keyfile": str(tls.keyfile)}
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="critical", lifespan="off", **options
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("test server did not start")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"{'https' if tls else 'http'}://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def endpoint_for(
    url: str,
    tls: Tls,
    *,
    binding: str = "secretvm_tls:spki",
    report: str | None = None,
    collateral_sha256: str | None = None,
    worker_type: str = "llm",
) -> Endpoint:
    """An endpoint as the node reports one whose URL served ``tls``'s certificate."""
    return Endpoint(
        url=url,
        ip_address=url.removeprefix("https://"),
        worker_type=worker_type,
        tls_binding=binding,
        certificate_sha256=tls.certificate_sha256,
        spki_sha256=tls.spki_sha256,
        endpoint_checked_at=1_700_000_000,
        attestation=EndpointAttestation(
            status="valid",
            tcb_status="UpToDate",
            measurement_label="prod",
            binding=binding,
            verified_at=1_700_000_000,
            collateral_sha256=collateral_sha256,
            policy_sha256=None,
        ),
        evidence=(
            None
            if report is None
            else EndpointEvidence(attestation_report=report, collateral_sha256=collateral_sha256)
        ),
    )
