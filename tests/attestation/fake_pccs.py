"""A fake PCCS on 127.0.0.1: real HTTP, answering the routes dcap-qvl's ``get_collateral``
asks (see :mod:`worker_manager.attestation.pccs`) from one bundle in dcap-qvl's JSON layout.

What it serves can be changed while it runs (``serve(...)``), it can answer every request
with an error (``down = True``: 503), and it records the paths it was asked.
"""

import http.server
import json
import threading
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any


def answer(collateral: dict[str, Any], path: str) -> tuple[bytes, dict[str, str]] | None:
    """The body and headers a PCCS gives for ``path`` with this bundle (None: 404)."""
    c = collateral
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
            c["qe_identity"], c["qe_identity_signature"]
        )
        header = {"SGX-Enclave-Identity-Issuer-Chain": quote(c["qe_identity_issuer_chain"])}
        return body.encode(), header
    return None


@dataclass
class FakePccs:
    """The running fake: its URL, what it serves, and what it was asked."""

    url: str = ""
    collateral: dict[str, Any] = field(default_factory=dict)
    paths: list[str] = field(default_factory=list)
    down: bool = False

    def serve(self, collateral_json: str) -> None:
        """Serve this bundle (dcap-qvl's JSON layout) from now on."""
        self.collateral = json.loads(collateral_json)

    @property
    def tcb_requests(self) -> int:
        """How many times the TCB info was asked for (once per fetch)."""
        return sum("/tcb?" in p for p in self.paths)


@contextmanager
def fake_pccs(collateral_json: str | None = None) -> Iterator[FakePccs]:
    """A fake PCCS in a thread, serving ``collateral_json`` until the block ends."""
    state = FakePccs()
    if collateral_json is not None:
        state.serve(collateral_json)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.paths.append(self.path)
            if state.down:
                self.send_response(503)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            found = answer(state.collateral, self.path) if state.collateral else None
            if found is None:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            body, headers = found
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
