"""register_worker: who may register, what is checked, and that nothing is overwritten."""

import pytest

from tests.conftest import ADMIN, OTHER, OWNER, OWNER_KEY, WORKER_KEY, register_msg
from tests.helpers import data, ex, q
from worker_manager.contract.error import (
    AttestationTooLarge,
    InvalidAddress,
    InvalidField,
    InvalidIpAddress,
    InvalidMessage,
    InvalidUrl,
    InvalidWorkerType,
    TooManyWorkers,
    Unauthorized,
    WorkerExists,
    WorkerKeyInUse,
)
from worker_manager.keys import address_from_public_key
from worker_manager.node import Node


def test_admin_registers_a_worker_owned_by_its_payment_wallet(node: Node) -> None:
    outcome = ex(node, ADMIN, register_msg("10.0.0.1"))
    assert data(outcome) == {
        "ip_address": "10.0.0.1",
        "status": "registered",
        "attestation_status": "unchecked",
    }
    assert outcome.height == 2
    assert ("action", "register_worker") in outcome.attributes
    worker = q(node, {"get_worker": {"ip_address": "10.0.0.1"}})
    assert worker["payment_wallet"] == OWNER
    assert worker["worker_type"] == "llama3.3:70b"
    assert worker["attestation_report"] == "quote:10.0.0.1"
    assert worker["url"] == "https://10.0.0.1"
    assert worker["capacity"] == 1
    assert worker["registered_height"] == 2


def test_a_non_admin_cannot_register_and_nothing_changes(node: Node, unchanged) -> None:
    with unchanged(), pytest.raises(Unauthorized) as err:
        ex(node, OTHER, register_msg())
    assert err.value == Unauthorized(OTHER, "the admin")
    assert "is not the admin" in str(err.value)


def test_open_registration_lets_any_sender_register(node: Node) -> None:
    ex(node, ADMIN, {"set_config": {"registration_mode": "open"}})
    ex(node, OTHER, register_msg("10.0.0.9"))
    assert q(node, {"get_worker": {"ip_address": "10.0.0.9"}})["payment_wallet"] == OWNER


def test_registering_an_existing_address_is_refused_not_overwritten(node: Node, unchanged) -> None:
    ex(node, ADMIN, register_msg("10.0.0.1"))
    with unchanged(), pytest.raises(WorkerExists) as err:
        ex(node, ADMIN, register_msg("10.0.0.1", worker_type="other-model"))
    assert err.value.ip_address == "10.0.0.1"
    assert q(node, {"get_worker": {"ip_address": "10.0.0.1"}})["worker_type"] == "llama3.3:70b"


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("10.0.0.1", "::ffff:10.0.0.1"),
        ("gpu1.example.com", "GPU1.Example.COM."),
        ("2001:db8::1", "2001:0DB8:0:0:0:0:0:1"),
        ("[2001:db8::1]:8443", "[2001:db8:0::1]:08443"),
        ("10.0.0.1:8080", " 10.0.0.1:8080 "),
    ],
)
def test_two_spellings_of_one_address_are_one_worker(node: Node, first: str, second: str) -> None:
    ex(node, ADMIN, register_msg(first))
    with pytest.raises(WorkerExists):
        ex(node, ADMIN, register_msg(second))


def test_workers_behind_one_shared_address_register_by_port(node: Node) -> None:
    ex(node, ADMIN, register_msg("203.0.113.7:8001"))
    ex(node, ADMIN, register_msg("203.0.113.7:8002"))
    ex(node, ADMIN, register_msg("203.0.113.7"))
    assert q(node, {"get_config": {}})["workers"] == 3
    assert sorted(q(node, {"get_urls": {}})["urls"]) == [
        "https://203.0.113.7",
        "https://203.0.113.7:8001",
        "https://203.0.113.7:8002",
    ]


@pytest.mark.parametrize(
    ("fields", "error", "field"),
    [
        ({"ip_address": ""}, InvalidIpAddress, "ip_address"),
        ({"ip_address": "http://10.0.0.1"}, InvalidIpAddress, "ip_address"),
        ({"ip_address": "10.0.0.256"}, InvalidIpAddress, "ip_address"),
        ({"ip_address": "10.0.0.1:0"}, InvalidIpAddress, "ip_address"),
        ({"ip_address": "10.0.0.1:70000"}, InvalidIpAddress, "ip_address"),
        ({"ip_address": "0.0.0.0"}, InvalidIpAddress, "ip_address"),
        ({"ip_address": "bad_host!.com"}, InvalidIpAddress, "ip_address"),
        ({"payment_wallet": "secret1notanaddress"}, InvalidAddress, "payment_wallet"),
        ({"payment_wallet": OWNER[:-1] + "q"}, InvalidAddress, "payment_wallet"),
        (
            {"payment_wallet": address_from_public_key(OWNER_KEY.public_key, "cosmos")},
            InvalidAddress,
            "payment_wallet",
        ),
        ({"worker_type": ""}, InvalidWorkerType, "worker_type"),
        ({"worker_type": "x" * 65}, InvalidWorkerType, "worker_type"),
        ({"worker_type": "llama 3"}, InvalidWorkerType, "worker_type"),
        ({"worker_type": "-llama"}, InvalidWorkerType, "worker_type"),
        ({"url": "ftp://10.0.0.1/"}, InvalidUrl, "url"),
        ({"url": "https://user:pw@10.0.0.1/"}, InvalidUrl, "url"),
        ({"url": "https://"}, InvalidUrl, "url"),
        ({"worker_public_key": "02" + "00" * 32}, InvalidField, "worker_public_key"),
        ({"worker_public_key": "zz"}, InvalidField, "worker_public_key"),
        ({"capacity": 0}, InvalidField, "capacity"),
        ({"capacity": 1_000_001}, InvalidField, "capacity"),
    ],
)
def test_bad_registration_input_is_refused_naming_the_field(
    node: Node, unchanged, fields: dict[str, object], error: type[InvalidField], field: str
) -> None:
    with unchanged(), pytest.raises(error) as err:
        ex(node, ADMIN, register_msg(**fields))
    assert err.value.field == field
    assert str(err.value).startswith(f"{field}: ")


def test_an_oversized_attestation_report_is_refused(node: Node, unchanged) -> None:
    with unchanged(), pytest.raises(AttestationTooLarge) as err:
        ex(node, ADMIN, register_msg(attestation_report="a" * (64 * 1024 + 1)))
    assert err.value.limit == 64 * 1024
    ex(node, ADMIN, register_msg(attestation_report="a" * (64 * 1024)))


def test_the_size_cap_follows_the_config(node: Node) -> None:
    ex(node, ADMIN, {"set_config": {"max_attestation_report_bytes": 2048}})
    with pytest.raises(AttestationTooLarge):
        ex(node, ADMIN, register_msg(attestation_report="a" * 2049))


def test_optional_fields_are_stored_and_shown(node: Node) -> None:
    key = WORKER_KEY.public_key.hex()
    ex(
        node,
        ADMIN,
        register_msg(
            "gpu1.example.com:21434",
            url="https://gpu1.example.com:21434/v1",
            worker_public_key=key.upper(),
            capacity=8,
        ),
    )
    worker = q(node, {"get_worker": {"ip_address": "gpu1.example.com:21434"}})
    assert worker["url"] == "https://gpu1.example.com:21434/v1"
    assert worker["worker_public_key"] == key
    assert worker["capacity"] == 8


def test_a_worker_key_belongs_to_one_worker(node: Node, unchanged) -> None:
    key = WORKER_KEY.public_key.hex()
    ex(node, ADMIN, register_msg("10.0.0.1", worker_public_key=key))
    with unchanged(), pytest.raises(WorkerKeyInUse) as err:
        ex(node, ADMIN, register_msg("10.0.0.2", worker_public_key=key))
    assert err.value.ip_address == "10.0.0.1"


@pytest.mark.parametrize(
    "msg",
    [
        {"register_worker": {"ip_address": "10.0.0.1"}},
        {"register_worker": {**register_msg()["register_worker"], "extra": 1}},
        {"register_worker": {**register_msg()["register_worker"], "capacity": "2"}},
        {"register_worker": {**register_msg()["register_worker"], "ip_address": 10}},
        {"register_worker": []},
    ],
)
def test_malformed_messages_are_refused_with_the_field_named(
    node: Node, unchanged, msg: dict[str, object]
) -> None:
    with unchanged(), pytest.raises(InvalidMessage) as err:
        ex(node, ADMIN, msg)
    assert "register_worker" in str(err.value)


def test_a_wallet_owns_at_most_the_configured_number_of_workers(node: Node, unchanged) -> None:
    """An abuse limit for open registration: only the admin goes past it."""
    ex(node, ADMIN, {"set_config": {"registration_mode": "open", "max_workers_per_owner": 2}})
    ex(node, OTHER, register_msg("10.0.0.1"))
    ex(node, OTHER, register_msg("10.0.0.2"))
    with unchanged(), pytest.raises(TooManyWorkers) as err:
        ex(node, OTHER, register_msg("10.0.0.3"))
    assert (err.value.payment_wallet, err.value.limit) == (OWNER, 2)
    ex(node, ADMIN, register_msg("10.0.0.3"))  # the admin may
    ex(node, OTHER, register_msg("10.0.0.4", payment_wallet=OTHER))
    with unchanged(), pytest.raises(TooManyWorkers):  # nor can workers be handed to a full one
        ex(node, OTHER, {"set_worker_wallet": {"ip_address": "10.0.0.4", "payment_wallet": OWNER}})
    ex(node, OWNER, {"remove_worker": {"ip_address": "10.0.0.1"}})
    ex(node, OWNER, {"remove_worker": {"ip_address": "10.0.0.2"}})
    ex(node, OTHER, {"set_worker_wallet": {"ip_address": "10.0.0.4", "payment_wallet": OWNER}})
    assert q(node, {"get_config": {}})["max_workers_per_owner"] == 2
