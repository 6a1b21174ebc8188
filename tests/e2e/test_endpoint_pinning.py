"""Endpoints a client can pin: two HTTPS workers on 127.0.0.1 whose quotes (synthetic,
test PKI) bind their TLS certificates, the node's endpoint checks, and ``get_endpoints``.

The honest worker serves the certificate its quote binds and is served with its
fingerprint; a worker serving another certificate, and one nobody answers for, stop
being served with the reason; fixing the endpoint brings the worker back; a replay of
the log gives the same state."""

import dataclasses
import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.attestation.synthetic import HEADER_LEN, TestPki
from tests.client.servers import Tls, self_signed, serve
from tests.conftest import ADMIN, CHAIN_ID, OWNER, key, register_msg
from tests.contract.test_attestation import IN_WINDOW, SEED, policy
from tests.helpers import data, ex
from tests.server_thread import ServerThread
from tests.synthetic_node import trusting_node
from worker_manager.attestation import MemoryCollateralStore, WorkerKeyBinding, expected_report_data
from worker_manager.attestation.decode import encode_envelope
from worker_manager.client import (
    Client,
    EndpointVerificationFailed,
    PinMismatch,
    pinned_client,
    verify_endpoint,
)
from worker_manager.node import Node
from worker_manager.node.host_api import HostApi
from worker_manager.store import Store

MODEL = "llama3.3:70b"


@pytest.fixture(scope="module")
def pki() -> TestPki:
    return TestPki.create()


@pytest.fixture
def node(store: Store, pki: TestPki) -> Iterator[Node]:
    """A node trusting the test PKI (never done in production), inside its collateral window."""
    node, _, _ = trusting_node(store, pki, endpoint_check_timeout_s=2)
    yield node
    node.close()


def bound_report(pki: TestPki, identity: Tls) -> str:
    """An envelope whose quote binds ``identity``'s key, SecretVM's way."""
    quote = pki.quote(bytes.fromhex(identity.spki_sha256) + bytes(32))
    return encode_envelope(quote, tls_certificate_pem=identity.pem)


def hello(name: str) -> Starlette:
    """A worker's inference server, as far as these tests need one."""

    async def answer(request: Request) -> JSONResponse:
        return JSONResponse({"worker": name})

    return Starlette(routes=[Route("/", answer)])


def closed_port() -> int:
    """A port on 127.0.0.1 nothing listens on (just released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def set_policy(node: Node, report: str) -> None:
    quote = bytes.fromhex(json.loads(report)["tdx_quote"])
    tls_policy = policy(quote, binding="secretvm_tls", require_fresh_challenge=False)
    ex(node, ADMIN, {"set_attestation_policy": {"policy": tls_policy}})


def register(node: Node, ip: str, report: str, url: str) -> None:
    answer = data(ex(node, ADMIN, register_msg(ip, attestation_report=report, url=url)))
    assert answer["attestation_status"] == "valid", answer


def query(node: Node, msg: dict[str, Any]) -> Any:
    return json.loads(node.query(msg))


def worker(node: Node, ip: str) -> Any:
    return query(node, {"get_worker": {"ip_address": ip}})


@pytest.fixture
def workers(node: Node, pki: TestPki, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """honest: serves what its quote binds; liar: its quote binds one certificate, it
    serves another; gone: nothing listens at its URL."""
    honest_id, bound_id, served_id = (
        self_signed(tmp_path, n) for n in ("honest", "bound", "other")
    )
    with (
        serve(hello("honest"), honest_id) as honest,
        serve(hello("liar"), served_id) as liar,
    ):
        honest_report = bound_report(pki, honest_id)
        set_policy(node, honest_report)
        register(node, "10.0.0.1", honest_report, honest)
        register(node, "10.0.0.2", bound_report(pki, bound_id), liar)
        gone_url = f"https://127.0.0.1:{closed_port()}"
        register(node, "10.0.0.3", bound_report(pki, self_signed(tmp_path, "gone")), gone_url)
        yield {
            "honest": honest,
            "honest_id": honest_id,
            "liar": liar,
            "bound_id": bound_id,
            "served_id": served_id,
            "tmp_path": tmp_path,
        }


def test_only_the_honest_endpoint_is_served_with_its_fingerprint(
    node: Node, workers: dict[str, Any]
) -> None:
    # before any check, the three are served (nothing was seen to be wrong yet)
    urls = query(node, {"get_u_r_ls": {"model": MODEL}})["urls"]
    assert len(urls) == 3
    assert node.endpoint_checker.check_once() == 3

    honest_id: Tls = workers["honest_id"]
    (endpoint,) = query(node, {"get_endpoints": {"model": MODEL}})["endpoints"]
    assert endpoint["url"] == workers["honest"]
    assert endpoint["ip_address"] == "10.0.0.1"
    assert endpoint["tls_binding"] == "secretvm_tls:spki"
    assert endpoint["certificate_sha256"] == honest_id.certificate_sha256
    assert endpoint["spki_sha256"] == honest_id.spki_sha256
    assert endpoint["endpoint_checked_at"] == IN_WINDOW
    assert endpoint["attestation"]["status"] == "valid"
    assert endpoint["attestation"]["tcb_status"] == "UpToDate"
    assert endpoint["attestation"]["measurement_label"] == "image-1"
    assert endpoint["attestation"]["verified_at"] == IN_WINDOW
    assert endpoint["evidence"] is None
    assert query(node, {"get_u_r_ls": {"model": MODEL}})["urls"] == [workers["honest"]]

    liar = worker(node, "10.0.0.2")
    assert liar["served"] is False
    assert liar["not_served_because"] == ["endpoint_mismatch"]
    gone = worker(node, "10.0.0.3")
    assert gone["not_served_because"] == ["endpoint_unreachable"]
    # a steady network writes nothing: the next round has nothing new to record
    height = node.height
    assert node.endpoint_checker.check_once() == 0
    assert node.height == height


def test_a_fixed_endpoint_is_served_again_and_a_replay_agrees(
    node: Node, workers: dict[str, Any], pki: TestPki, store: Store, tmp_path: Path
) -> None:
    from worker_manager.node.replay import replay

    bound, wrong = self_signed(tmp_path, "fixed"), self_signed(tmp_path, "wrong")
    port = closed_port()
    with serve(hello("fixed"), wrong, port=port) as url:
        register(node, "10.0.0.4", bound_report(pki, bound), url)
        node.endpoint_checker.check_once()
        assert worker(node, "10.0.0.4")["not_served_because"] == ["endpoint_mismatch"]
    with serve(hello("fixed"), bound, port=port):
        assert node.endpoint_checker.check_once() == 1
        assert worker(node, "10.0.0.4")["served"] is True
        urls = query(node, {"get_u_r_ls": {"model": MODEL}})["urls"]
        assert sorted(urls) == sorted([workers["honest"], url])
    target = Store(f"sqlite:///{tmp_path / 'replay.db'}")
    target.migrate()
    try:
        report = replay(store, target, HostApi(SEED))  # no collateral, no network
    finally:
        target.close()
    assert report.ok, report.mismatches


def test_a_new_url_or_report_forgets_the_last_check(node: Node, workers: dict[str, Any]) -> None:
    """A check is of one URL and one bound certificate: moving either makes it moot."""
    node.endpoint_checker.check_once()
    owner_url = {"set_worker_url": {"ip_address": "10.0.0.3", "url": workers["honest"]}}
    from tests.conftest import OWNER

    ex(node, OWNER, owner_url)
    moved = worker(node, "10.0.0.3")
    assert moved["served"] is True  # unchecked again
    # the next round sees the honest worker's certificate, not the one 10.0.0.3's quote binds
    assert node.endpoint_checker.check_once() == 1
    assert worker(node, "10.0.0.3")["not_served_because"] == ["endpoint_mismatch"]


def test_get_endpoints_over_http_with_evidence(node: Node, workers: dict[str, Any]) -> None:
    node.endpoint_checker.check_once()
    with ServerThread(node) as base:
        answer = httpx.get(f"{base}/v1/endpoints", params={"model": MODEL, "evidence": "true"})
        assert answer.status_code == 200, answer.text
        (endpoint,) = answer.json()["endpoints"]
        assert (
            endpoint["evidence"]["attestation_report"]
            == worker(node, "10.0.0.1")["attestation_report"]
        )
        assert (
            endpoint["evidence"]["collateral_sha256"]
            == endpoint["attestation"]["collateral_sha256"]
        )
        assert httpx.get(f"{base}/v1/endpoints", params={"model": "nope"}).json() == {
            "endpoints": []
        }
        refused = httpx.get(f"{base}/v1/endpoints", params={"limit": "0"})
        assert refused.status_code == 422
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["code"] == "invalid_request"
        for hostile in ("limit=18446744073709551616", "evidence=maybe", "limit=-1"):
            answer = httpx.get(f"{base}/v1/endpoints?{hostile}")
            assert answer.status_code in (400, 422), (hostile, answer.text)
            assert answer.headers["content-type"] == "application/problem+json"
        # bytes that are not UTF-8 are read as U+FFFD (Starlette): no such model, no error
        answer = httpx.get(f"{base}/v1/endpoints?model=%ED%BF%BF")
        assert answer.json() == {"endpoints": []}


def test_without_a_policy_nothing_is_checked(node: Node, tmp_path: Path, pki: TestPki) -> None:
    """No policy, no verdict, no bound certificate: there is nothing to check against;
    under a ``worker_key`` policy no verdict binds a certificate either."""
    with serve(hello("plain"), self_signed(tmp_path, "plain")) as plain:
        ex(node, ADMIN, register_msg("10.0.0.9", url=plain))
        assert list(node.endpoint_checker.targets()) == []
        assert node.endpoint_checker.check_once() == 0
        (endpoint,) = query(node, {"get_endpoints": {}})["endpoints"]
        assert endpoint["tls_binding"] is None
        assert endpoint["certificate_sha256"] is None
        worker_key_policy = policy(pki.quote(bytes(64)), registration_mode="mark")
        ex(node, ADMIN, {"set_attestation_policy": {"policy": worker_key_policy}})
        assert list(node.endpoint_checker.targets()) == []


def test_a_client_pins_the_honest_endpoint_and_verifies_it_itself(
    node: Node, workers: dict[str, Any], pki: TestPki
) -> None:
    """Through the real node: the Python client's endpoints, a client pinned to the honest
    worker's key reaches it and refuses the other; ``verify_endpoint`` accepts the honest
    worker's evidence under the client's own policy and refuses it with one byte changed."""
    node.endpoint_checker.check_once()
    with ServerThread(node) as base, Client(base) as client:
        (endpoint,) = client.endpoints(MODEL, evidence=True)
    assert endpoint.url == workers["honest"]
    with pinned_client(endpoint) as pinned:
        assert pinned.get("/").json() == {"worker": "honest"}
        with pytest.raises(PinMismatch):
            pinned.get(workers["liar"])

    assert endpoint.evidence is not None
    report = endpoint.evidence.attestation_report
    quote = bytes.fromhex(json.loads(report)["tdx_quote"])
    client_policy = policy(quote, binding="secretvm_tls", require_fresh_challenge=False)
    collateral = MemoryCollateralStore([pki.collateral()])
    trust = {"root_ca_der": pki.root_der, "now": IN_WINDOW}  # the test PKI, in its window
    verified = verify_endpoint(endpoint, policy=client_policy, collateral=collateral, **trust)
    assert verified.pin.sha256 == endpoint.spki_sha256

    changed = bytearray(quote)
    changed[HEADER_LEN + 16] ^= 0x01  # one byte of the TD report (its signature no longer holds)
    tampered = json.dumps({**json.loads(report), "tdx_quote": changed.hex()}, sort_keys=True)
    forged = dataclasses.replace(
        endpoint, evidence=dataclasses.replace(endpoint.evidence, attestation_report=tampered)
    )
    with pytest.raises(EndpointVerificationFailed):
        verify_endpoint(forged, policy=client_policy, collateral=collateral, **trust)


def _settled(node: Node, ip: str, reasons: list[str], seconds: float = 15) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if worker(node, ip)["not_served_because"] == reasons:
            return True
        time.sleep(0.1)
    return False


@pytest.mark.parametrize("mode", ["auto", "off"])
def test_the_checker_runs_on_its_own_once_a_policy_exists_unless_off(
    store: Store, pki: TestPki, tmp_path: Path, mode: str
) -> None:
    """As ``serve`` runs it: a thread, a round every interval, "auto" once a policy is set."""
    node, _, _ = trusting_node(
        store,
        pki,
        endpoint_checks=mode,
        endpoint_check_interval_s=0.2,
        endpoint_check_timeout_s=2,
    )
    try:
        node.endpoint_checker.start()
        bound, served = self_signed(tmp_path, "bound"), self_signed(tmp_path, "served")
        with serve(hello("liar"), served) as url:
            report = bound_report(pki, bound)
            set_policy(node, report)
            register(node, "10.0.0.5", report, url)
            if mode == "auto":
                assert _settled(node, "10.0.0.5", ["endpoint_mismatch"])
            else:
                time.sleep(2)  # ten rounds' worth of waiting: none runs
                assert worker(node, "10.0.0.5")["served"] is True
    finally:
        node.close()


def worker_key_report(
    node: Node, pki: TestPki, worker_key: str, tls: Tls | None, *, served: Tls
) -> str:
    """Our binding: the registration fields (and, with ``tls``, that certificate's key,
    v2), the certificate the worker serves sent in the envelope."""
    epoch = node.clock.now_ns() // 10**9 // 60
    binding = WorkerKeyBinding(
        chain_id=CHAIN_ID,
        worker_pubkey=bytes.fromhex(worker_key),
        payment_wallet=OWNER,
        challenge=HostApi(SEED).liveliness_challenge(epoch),
        tls_spki_sha256=None if tls is None else bytes.fromhex(tls.spki_sha256),
    )
    quote = pki.quote(expected_report_data(binding, gpu=False))
    return encode_envelope(quote, tls_certificate_pem=served.pem)


def test_our_worker_key_binding_pins_the_tls_key_too(
    node: Node, pki: TestPki, tmp_path: Path
) -> None:
    """A ``worker_key`` quote of the v2 form binds the envelope's TLS key: the node checks
    it like SecretVM's; a v1 quote still verifies, but binds no certificate."""
    honest, liar, other = (self_signed(tmp_path, n) for n in ("wk-honest", "wk-liar", "wk-x"))
    with serve(hello("honest"), honest) as honest_url, serve(hello("liar"), other) as liar_url:
        keys = {
            ip: key(f"worker {ip}").public_key.hex() for ip in ("10.0.1.1", "10.0.1.2", "10.0.1.3")
        }
        pinned = worker_key_report(node, pki, keys["10.0.1.1"], honest, served=honest)
        quote = bytes.fromhex(json.loads(pinned)["tdx_quote"])
        ex(node, ADMIN, {"set_attestation_policy": {"policy": policy(quote)}})
        for ip, report, url in (
            ("10.0.1.1", pinned, honest_url),
            (
                "10.0.1.2",
                worker_key_report(node, pki, keys["10.0.1.2"], liar, served=liar),
                liar_url,
            ),
            (
                "10.0.1.3",
                worker_key_report(node, pki, keys["10.0.1.3"], None, served=honest),
                f"{honest_url}/v1",
            ),
        ):
            answer = data(
                ex(
                    node,
                    ADMIN,
                    register_msg(
                        ip, attestation_report=report, url=url, worker_public_key=keys[ip]
                    ),
                )
            )
            assert answer["attestation_status"] == "valid", answer
        bindings = [
            worker(node, ip)["attestation_verdict"]["binding"] for ip in ("10.0.1.1", "10.0.1.3")
        ]
        assert bindings == ["worker_key:tls", "worker_key"]
        # the liar's quote binds its own key, but its URL serves another certificate
        assert node.endpoint_checker.check_once() == 2
        assert worker(node, "10.0.1.2")["not_served_because"] == ["endpoint_mismatch"]
        by_ip = {e["ip_address"]: e for e in query(node, {"get_endpoints": {}})["endpoints"]}
        assert set(by_ip) == {"10.0.1.1", "10.0.1.3"}
        assert by_ip["10.0.1.1"]["tls_binding"] == "worker_key:tls"
        assert by_ip["10.0.1.1"]["spki_sha256"] == honest.spki_sha256
        assert by_ip["10.0.1.3"]["tls_binding"] is None  # v1: served, not pinnable
        with ServerThread(node) as base, Client(base) as client:
            endpoint = next(
                e for e in client.endpoints(evidence=True) if e.ip_address == "10.0.1.1"
            )
        with pinned_client(endpoint) as pinned_http:
            assert pinned_http.get("/").json() == {"worker": "honest"}
        with pytest.raises(EndpointVerificationFailed) as refused:
            verify_endpoint(
                endpoint,
                policy=policy(quote, binding="secretvm_tls", require_fresh_challenge=False),
                collateral=MemoryCollateralStore([pki.collateral()]),
                root_ca_der=pki.root_der,
                now=IN_WINDOW,
            )
        assert refused.value.reasons == ("not_verifiable_here",)
