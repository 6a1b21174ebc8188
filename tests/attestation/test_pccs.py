"""fetch_collateral against a tiny PCCS served on 127.0.0.1 from the stored sample collateral."""

import asyncio
import http.server
import json
import threading
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from worker_manager.attestation import AttestationError, CollateralBundle, Reason
from worker_manager.attestation.pccs import fetch_collateral

from .conftest import DATA, load_quote_file

A_COLLATERAL = json.loads((DATA / "dcap-qvl" / "tdx_quote_collateral.json").read_text())


@dataclass
class FakePccs:
    """What the fake serves and what it was asked."""

    url: str = ""
    paths: list[str] = field(default_factory=list)
    fail: bool = False


def _responses(path: str) -> tuple[bytes, dict[str, str]] | None:
    c = A_COLLATERAL
    route = urllib.parse.urlparse(path).path
    quote = urllib.parse.quote
    if route.endswith("/pckcrl"):
        header = {"SGX-PCK-CRL-Issuer-Chain": quote(c["pck_crl_issuer_chain"])}
        return bytes.fromhex(c["pck_crl"]), header
    if route.endswith("/rootcacrl"):
        return c["root_ca_crl"].encode(), {}  # hex text, as Intel PCS serves it
    if route.endswith("/tcb"):
        body = '{{"tcbInfo":{},"signature":"{}"}}'.format(c["tcb_info"], c["tcb_info_signature"])
        return body.encode(), {"TCB-Info-Issuer-Chain": quote(c["tcb_info_issuer_chain"])}
    if route.endswith("/qe/identity"):
        body = '{{"enclaveIdentity":{},"signature":"{}"}}'.format(
            c["qe_identity"],
            c["qe_identity_signature"],
        )
        header = {"SGX-Enclave-Identity-Issuer-Chain": quote(c["qe_identity_issuer_chain"])}
        return body.encode(), header
    return None


@pytest.fixture
def pccs() -> Iterator[FakePccs]:
    state = FakePccs()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.paths.append(self.path)
            answer = None if state.fail else _responses(self.path)
            if answer is None:
                self.send_response(404)
                self.end_headers()
                return
            body, headers = answer
            self.send_response(200)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_port}"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_fetch_returns_the_same_bundle_as_the_import(
    pccs: FakePccs, bundles: dict[str, CollateralBundle]
) -> None:
    quote = load_quote_file("dcap-qvl/tdx_quote")
    bundle = asyncio.run(fetch_collateral(pccs.url, quote, timeout=20))
    assert bundle == bundles["dcap-qvl/tdx_quote_collateral.json"]
    assert any("fmspc=B0C06F000000" in p for p in pccs.paths)
    assert any(p.startswith("/sgx/certification/v4/pckcrl?ca=platform") for p in pccs.paths)


def test_pccs_errors_are_collateral_unavailable(pccs: FakePccs) -> None:
    pccs.fail = True
    with pytest.raises(AttestationError) as info:
        asyncio.run(fetch_collateral(pccs.url, load_quote_file("dcap-qvl/tdx_quote"), timeout=20))
    assert info.value.code is Reason.COLLATERAL_UNAVAILABLE
    assert "404" in info.value.message


def test_only_tdx_quotes_are_fetched_for(pccs: FakePccs) -> None:
    with pytest.raises(AttestationError) as info:
        asyncio.run(fetch_collateral(pccs.url, load_quote_file("dcap-qvl/sgx_quote")))
    assert info.value.code is Reason.NOT_TDX
    assert pccs.paths == []
