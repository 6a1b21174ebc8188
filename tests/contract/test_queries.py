"""Queries: the subscriber proof of get_workers, pages, models, URLs, config."""

import pytest
from coincurve.utils import int_to_bytes

from tests.conftest import (
    ADMIN,
    OTHER,
    OTHER_KEY,
    OWNER,
    SUBSCRIBER_KEY,
    register_msg,
    subscriber_proof,
)
from tests.helpers import ex, q
from worker_manager.contract.error import (
    InvalidIpAddress,
    InvalidMessage,
    InvalidSignature,
    InvalidUnicode,
    UnknownMessage,
    WorkerNotFound,
)
from worker_manager.node import Node

SECP256K1_ORDER = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def test_get_workers_answers_a_valid_subscriber_proof(node: Node) -> None:
    ex(node, ADMIN, register_msg("10.0.0.2"))
    ex(node, ADMIN, register_msg("10.0.0.1", payment_wallet=OTHER))
    answer = q(node, {"get_workers": subscriber_proof()})
    assert [w["ip_address"] for w in answer["workers"]] == ["10.0.0.1", "10.0.0.2"]
    assert answer["workers"][0] == {
        "ip_address": "10.0.0.1",
        "payment_wallet": OTHER,
        "attestation_report": "quote:10.0.0.1",
        "worker_type": "llama3.3:70b",
        "url": "https://10.0.0.1",
        "worker_public_key": None,
        "capacity": 1,
        "registered_height": 3,
        "registered_time": 1_767_225_600,
        "status": "live",
        "last_seen": None,
        "last_seen_epoch": None,
        "missed_epochs": 0,
        "load": 0,
        "paused": False,
        "served": True,
        "not_served_because": [],
        "attestation_status": "unchecked",
        "attestation_reasons": [],
        "attestation_verdict": None,
    }


def _proof_with(signature: bytes, public_key: bytes) -> dict[str, str]:
    return {"signature": signature.hex(), "subscriber_public_key": public_key.hex()}


def test_a_high_s_signature_is_normalised_like_cosmwasm_does(node: Node) -> None:
    public = SUBSCRIBER_KEY.public_key
    low = SUBSCRIBER_KEY.sign(public)
    s = int.from_bytes(low[32:], "big")
    high = low[:32] + int_to_bytes(SECP256K1_ORDER - s).rjust(32, b"\0")
    assert high != low
    assert q(node, {"get_workers": _proof_with(high, public)})["workers"] == []


@pytest.mark.parametrize(
    ("proof", "reason"),
    [
        ({"signature": "", "subscriber_public_key": "02" * 33}, "signature is required"),
        (
            {"signature": "00" * 64, "subscriber_public_key": ""},
            "subscriber_public_key is required",
        ),
        ({"signature": "zz", "subscriber_public_key": "02" * 33}, "signature is not hex"),
        (
            _proof_with(SUBSCRIBER_KEY.sign(b"x"), SUBSCRIBER_KEY.public_key),
            "does not verify",
        ),
        (
            _proof_with(OTHER_KEY.sign(SUBSCRIBER_KEY.public_key), SUBSCRIBER_KEY.public_key),
            "does not verify",
        ),
        (
            _proof_with(SUBSCRIBER_KEY.sign(SUBSCRIBER_KEY.public_key), b"\2" + b"\xff" * 32),
            "not a point on secp256k1",
        ),
        (
            _proof_with(
                SUBSCRIBER_KEY.sign(SUBSCRIBER_KEY.public_key)[:63],
                SUBSCRIBER_KEY.public_key,
            ),
            "signature must be 64 bytes",
        ),
        (
            _proof_with(b"\xff" * 64, SUBSCRIBER_KEY.public_key),
            "out of range",
        ),
        (
            _proof_with(
                SUBSCRIBER_KEY.sign(SUBSCRIBER_KEY.public_key),
                SUBSCRIBER_KEY.public_key[:32],
            ),
            "must be 33 bytes",
        ),
    ],
)
def test_a_missing_or_wrong_proof_is_a_clear_query_error(
    node: Node, proof: dict[str, str], reason: str
) -> None:
    with pytest.raises(InvalidSignature) as err:
        q(node, {"get_workers": proof})
    assert reason in str(err.value)


def test_get_workers_requires_both_proof_fields(node: Node) -> None:
    with pytest.raises(InvalidMessage) as err:
        q(node, {"get_workers": {}})
    assert "get_workers.signature" in str(err.value)


def test_get_workers_pages_in_address_order(node: Node) -> None:
    for i in range(5):
        ex(node, ADMIN, register_msg(f"10.0.0.{i + 1}"))
    proof = subscriber_proof()
    first = q(node, {"get_workers": {**proof, "limit": 2}})
    assert [w["ip_address"] for w in first["workers"]] == ["10.0.0.1", "10.0.0.2"]
    assert first["next_start_after"] == "10.0.0.2"
    second = q(node, {"get_workers": {**proof, "limit": 2, "start_after": "10.0.0.2"}})
    assert [w["ip_address"] for w in second["workers"]] == ["10.0.0.3", "10.0.0.4"]
    last = q(node, {"get_workers": {**proof, "limit": 2, "start_after": "10.0.0.4"}})
    assert [w["ip_address"] for w in last["workers"]] == ["10.0.0.5"]
    assert last["next_start_after"] is None
    with pytest.raises(Exception, match="limit"):
        q(node, {"get_workers": {**proof, "limit": 0}})


def test_get_workers_filters_by_owner(node: Node) -> None:
    ex(node, ADMIN, register_msg("10.0.0.1"))
    ex(node, ADMIN, register_msg("10.0.0.2", payment_wallet=OTHER))
    mine = q(node, {"get_workers": {**subscriber_proof(), "address": OTHER}})
    assert [w["ip_address"] for w in mine["workers"]] == ["10.0.0.2"]
    everyone = q(node, {"get_workers": {**subscriber_proof(), "address": ""}})
    assert len(everyone["workers"]) == 2


def test_get_models_lists_each_served_type_once_sorted(node: Node) -> None:
    assert q(node, {"get_models": {}}) == {"models": []}
    for i, kind in enumerate(["mistral", "deepseek-r1:70b", "mistral", "llama3.3:70b"]):
        ex(node, ADMIN, register_msg(f"10.0.1.{i + 1}", worker_type=kind))
    assert q(node, {"get_models": {}}) == {"models": ["deepseek-r1:70b", "llama3.3:70b", "mistral"]}


@pytest.mark.parametrize("name", ["get_u_r_ls", "get_urls"])
def test_get_urls_under_both_names(node: Node, name: str) -> None:
    ex(node, ADMIN, register_msg("10.0.0.1", worker_type="a"))
    ex(node, ADMIN, register_msg("[2001:db8::7]:8443", worker_type="b"))
    ex(
        node,
        ADMIN,
        register_msg("gpu.example.com", worker_type="b", url="https://gpu.example.com/x"),
    )
    every = sorted(q(node, {name: {}})["urls"])
    assert every == ["https://10.0.0.1", "https://[2001:db8::7]:8443", "https://gpu.example.com/x"]
    assert sorted(q(node, {name: {"model": "b"}})["urls"]) == [
        "https://[2001:db8::7]:8443",
        "https://gpu.example.com/x",
    ]
    assert q(node, {name: {"model": "unknown"}}) == {"urls": []}
    first = q(node, {name: {}})["urls"][0]
    assert q(node, {name: {"limit": 1}})["urls"] == [first]


def test_urls_follow_the_template(node: Node) -> None:
    ex(node, ADMIN, {"set_config": {"url_template": "https://{host}:21434"}})
    ex(node, ADMIN, register_msg("10.0.0.1:9999"))
    ex(node, ADMIN, register_msg("2001:db8::1"))
    assert sorted(q(node, {"get_urls": {}})["urls"]) == [
        "https://10.0.0.1:21434",
        "https://[2001:db8::1]:21434",
    ]


def test_get_worker_normalises_its_argument_and_reports_unknowns(node: Node) -> None:
    ex(node, ADMIN, register_msg("gpu.example.com"))
    assert q(node, {"get_worker": {"ip_address": "GPU.example.com."}})["payment_wallet"] == OWNER
    with pytest.raises(WorkerNotFound):
        q(node, {"get_worker": {"ip_address": "10.0.0.1"}})
    with pytest.raises(InvalidIpAddress):
        q(node, {"get_worker": {"ip_address": "not/valid"}})


def test_get_config_shows_settings_and_counts_workers(node: Node) -> None:
    ex(node, ADMIN, register_msg("10.0.0.1"))
    assert q(node, {"get_config": {}}) == {
        "admin": ADMIN,
        "pending_admin": None,
        "paused": False,
        "registration_mode": "admin",
        "url_template": "https://{address}",
        "max_attestation_report_bytes": 65536,
        "require_listed_subscribers": False,
        "epoch_seconds": 60,
        "grace_epochs": 3,
        "offline_after_epochs": 10,
        "work_period_seconds": 3600,
        "work_report_window_periods": 48,
        "max_workers_per_owner": 1000,
        "legacy_proofs": True,
        "proof_window_seconds": 300,
        "workers": 1,
    }


@pytest.mark.parametrize(
    ("raw", "error", "text"),
    [
        (b"not json", InvalidMessage, "not valid JSON"),
        (b"[]", InvalidMessage, "exactly one key"),
        (b'{"get_models": {}, "get_urls": {}}', InvalidMessage, "exactly one key"),
        (b'{"get_models": 1}', InvalidMessage, "must be a JSON object"),
        (b'{"get_models": {"x": 1}}', InvalidMessage, "get_models.x"),
        (b'{"report_liveliness": {}}', UnknownMessage, "unknown query message"),
        (b'{"register_worker": {}}', UnknownMessage, "get_models"),
        (b"\xff\xfe", InvalidUnicode, "not valid UTF-8"),
        (b'{"get_worker": {"ip_address": "\\ud800"}}', InvalidUnicode, "U+D800"),
        (b'{"get_urls": {"limit": 18446744073709551616}}', InvalidMessage, "out of range"),
        (b'{"get_urls": ' + b"[" * 10_000 + b"]" * 10_000 + b"}", InvalidMessage, "nested"),
    ],
)
def test_bad_queries_get_clear_errors(
    node: Node, raw: bytes, error: type[Exception], text: str
) -> None:
    with pytest.raises(error) as err:
        node.query(raw)
    assert text in str(err.value)
