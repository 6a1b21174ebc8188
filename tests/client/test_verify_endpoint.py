"""``verify_endpoint``: a client re-verifies an endpoint's evidence itself, on quotes signed
by the test PKI of ``tests/attestation/synthetic.py`` whose report_data binds a real
self-signed TLS certificate, then talks to the server serving that certificate."""

import dataclasses
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.serialization import Encoding
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from tests.attestation.synthetic import BODY_LEN, HEADER_LEN, NOW, TestPki
from worker_manager.attestation import (
    AttestationPolicy,
    MeasurementSet,
    MemoryCollateralStore,
    PolicyError,
    VerdictStatus,
    WorkerTypePolicy,
    encode_envelope,
    parse_quote,
)
from worker_manager.client import (
    Endpoint,
    EndpointEvidence,
    EndpointVerificationFailed,
    Pin,
    VerifiedEndpoint,
    WorkerManagerError,
    pinned_client,
    verify_endpoint,
)

from .servers import Tls, endpoint_for, self_signed, serve

WORKER_TYPE = "llm"
URL = "https://10.0.0.7:8443"


@dataclasses.dataclass
class Setup:
    pki: TestPki
    collateral: MemoryCollateralStore
    collateral_sha256: str
    tls: Tls
    other: Tls
    quote: bytes
    policy: AttestationPolicy


def allow(quote: bytes) -> AttestationPolicy:
    """A secretvm_tls policy allowing exactly ``quote``'s measurements for WORKER_TYPE."""
    q = parse_quote(quote)
    measured = MeasurementSet(
        label="prod", mrtd=q.mrtd, rtmr0=q.rtmr0, rtmr1=q.rtmr1, rtmr2=q.rtmr2, rtmr3=q.rtmr3
    )
    return AttestationPolicy(
        binding="secretvm_tls",
        require_fresh_challenge=False,
        worker_types={WORKER_TYPE: WorkerTypePolicy(measurements=(measured,))},
    )


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Setup:
    pki = TestPki.create()
    bundle = pki.collateral()
    folder: Path = tmp_path_factory.mktemp("tls")
    tls = self_signed(folder, "worker")
    quote = pki.quote(bytes.fromhex(tls.spki_sha256) + bytes(32))
    return Setup(
        pki=pki,
        collateral=MemoryCollateralStore([bundle]),
        collateral_sha256=bundle.sha256,
        tls=tls,
        other=self_signed(folder, "other"),
        quote=quote,
        policy=allow(quote),
    )


def endpoint(setup: Setup, quote: bytes | None = None, **changes: Any) -> Endpoint:
    report = encode_envelope(quote or setup.quote, tls_certificate_pem=setup.tls.pem)
    made = endpoint_for(URL, setup.tls, report=report, collateral_sha256=setup.collateral_sha256)
    return dataclasses.replace(made, **changes)


def verify(setup: Setup, target: Endpoint, **overrides: Any) -> VerifiedEndpoint:
    arguments: dict[str, Any] = {
        "policy": setup.policy,
        "collateral": setup.collateral,
        "now": NOW,
        "root_ca_der": setup.pki.root_der,
    }
    arguments.update(overrides)
    return verify_endpoint(target, **arguments)


def refused(setup: Setup, target: Endpoint, **overrides: Any) -> EndpointVerificationFailed:
    with pytest.raises(EndpointVerificationFailed) as caught:
        verify(setup, target, **overrides)
    assert isinstance(caught.value, WorkerManagerError)
    return caught.value


def test_an_endpoint_whose_quote_binds_its_key_verifies(setup: Setup) -> None:
    target = endpoint(setup)
    verified = verify(setup, target)
    assert verified.verdict.status is VerdictStatus.VALID
    assert verified.verdict.binding == "secretvm_tls:spki"
    assert verified.verdict.measurement_label == "prod"
    assert (verified.binding, verified.pin) == ("spki", Pin("spki", setup.tls.spki_sha256))
    assert verified.pin == target.pin
    assert verified.endpoint == target
    assert verified.warnings == ()


def test_now_defaults_to_the_current_time(setup: Setup, monkeypatch: pytest.MonkeyPatch) -> None:
    target = endpoint(setup)
    monkeypatch.setattr("worker_manager.client._verify.time.time", lambda: NOW + 0.5)
    assert verify(setup, target, now=None).verdict.verified_at == NOW
    monkeypatch.setattr("worker_manager.client._verify.time.time", lambda: NOW + 10**8)
    assert "collateral_expired" in str(refused(setup, target, now=None))


def test_the_policy_may_be_its_json_text_or_a_dict(setup: Setup) -> None:
    target = endpoint(setup)
    text = setup.policy.to_json()
    assert verify(setup, target, policy=text).verdict.is_valid
    assert verify(setup, target, policy=json.loads(text)).verdict.is_valid
    with pytest.raises(PolicyError):
        verify(setup, target, policy={"binding": "secretvm_tls"})  # needs no fresh challenge
    with pytest.raises(ValueError, match="binding 'secretvm_tls'"):
        verify(setup, target, policy={**json.loads(text), "binding": "worker_key"})


def test_a_quote_binding_the_whole_certificate_pins_the_certificate(setup: Setup) -> None:
    der = setup.tls.certificate.public_bytes(Encoding.DER)
    quote = setup.pki.quote(hashlib.sha256(der).digest() + bytes(32))
    target = endpoint(setup, quote, tls_binding="secretvm_tls:certificate")
    verified = verify(setup, target, policy=allow(quote))
    assert verified.verdict.binding == "secretvm_tls:certificate"
    assert (verified.binding, verified.pin) == (
        "certificate",
        Pin("certificate", setup.tls.certificate_sha256),
    )


def test_other_collateral_than_the_node_used_is_a_warning(setup: Setup) -> None:
    target = endpoint(setup)
    assert target.evidence is not None
    node_used = dataclasses.replace(target.evidence, collateral_sha256="00" * 32)
    verified = verify(setup, dataclasses.replace(target, evidence=node_used))
    assert verified.verdict.is_valid
    assert len(verified.warnings) == 1
    assert verified.warnings[0].startswith("collateral_differs:")


def test_a_quote_with_one_byte_changed_is_refused(setup: Setup) -> None:
    changed = bytearray(setup.quote)
    changed[HEADER_LEN + BODY_LEN + 4] ^= 1  # the quote's ECDSA signature
    failed = refused(setup, endpoint(setup, bytes(changed)))
    assert failed.reasons == ("verdict_not_valid",)
    assert "rejected" in str(failed)


def test_an_endpoint_serving_another_key_is_refused(setup: Setup) -> None:
    """The quote is genuine, but the node reports another key at the URL."""
    other = setup.other
    target = endpoint(
        setup, spki_sha256=other.spki_sha256, certificate_sha256=other.certificate_sha256
    )
    failed = refused(setup, target)
    assert failed.reasons == ("pin_mismatch",)
    assert other.spki_sha256 in str(failed)


def test_an_endpoint_reporting_another_binding_form_is_refused(setup: Setup) -> None:
    failed = refused(setup, endpoint(setup, tls_binding="secretvm_tls:certificate"))
    assert failed.reasons == ("binding_mismatch", "pin_mismatch")


def test_a_policy_whose_measurements_differ_is_refused(setup: Setup) -> None:
    other_image = MeasurementSet(
        label="other", mrtd="11" * 48, rtmr0="22" * 48, rtmr1="33" * 48, rtmr2="44" * 48
    )
    policy = setup.policy.model_copy(
        update={"worker_types": {WORKER_TYPE: WorkerTypePolicy(measurements=(other_image,))}}
    )
    failed = refused(setup, endpoint(setup), policy=policy)
    assert failed.reasons == ("verdict_not_valid",)
    assert "measurement_not_allowed" in str(failed)


def test_an_endpoint_without_evidence_is_refused(setup: Setup) -> None:
    failed = refused(setup, endpoint(setup, evidence=None))
    assert failed.reasons == ("no_evidence",)
    assert "evidence=True" in str(failed)


def test_an_endpoint_without_a_pin_is_refused(setup: Setup) -> None:
    failed = refused(setup, endpoint(setup, spki_sha256=None, certificate_sha256=None))
    assert failed.reasons == ("not_pinnable",)


@pytest.fixture
def worker(setup: Setup) -> Iterator[str]:
    async def hello(request: Request) -> PlainTextResponse:
        return PlainTextResponse("attested")

    with serve(Starlette(routes=[Route("/hello", hello)]), setup.tls) as url:
        yield url


def test_a_verified_pin_reaches_the_server_holding_the_bound_key(setup: Setup, worker: str) -> None:
    target = endpoint(setup, url=worker)
    verified = verify(setup, target)
    with pinned_client(verified.endpoint, timeout=10) as http:
        assert http.get("/hello").text == "attested"
    assert isinstance(target.evidence, EndpointEvidence)
