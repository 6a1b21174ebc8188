"""SecretVM binding: the agent puts the certificate its URL really serves into the report."""

import datetime as dt
import json
import socket
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from worker_manager.agent.registration import served_certificate, with_served_certificate
from worker_manager.attestation import decode_report

QUOTE_A = Path(__file__).resolve().parents[1] / "data" / "attestation" / "dcap-qvl" / "tdx_quote"


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[str, bytes]]:
    """A real TLS endpoint on 127.0.0.1 with a fresh self-signed certificate."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "worker.test")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    (tmp_path / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            try:
                with context.wrap_socket(conn, server_side=True):
                    pass
            except (ssl.SSLError, OSError):
                pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"https://127.0.0.1:{port}", cert.public_bytes(serialization.Encoding.DER)
    stop.set()
    thread.join(5)
    listener.close()


def test_the_served_certificate_goes_into_the_envelope(tls_server: tuple[str, bytes]) -> None:
    url, der = tls_server
    pem = served_certificate(url)
    assert (
        x509.load_pem_x509_certificate(pem.encode()).public_bytes(serialization.Encoding.DER) == der
    )
    envelope = with_served_certificate(QUOTE_A.read_bytes().hex(), url)
    bundle = decode_report(envelope)
    assert bundle.tls_certificate_der == der
    assert bundle.quote == decode_report(QUOTE_A.read_bytes().hex()).quote
    # an envelope keeps what it carried, and gets the certificate
    original = json.dumps({"tdx_quote": QUOTE_A.read_bytes().hex(), "event_log": []})
    assert json.loads(with_served_certificate(original, url))["event_log"] == []


def test_only_https_urls_are_asked() -> None:
    with pytest.raises(ValueError, match="not an https URL"):
        served_certificate("http://127.0.0.1:9")
