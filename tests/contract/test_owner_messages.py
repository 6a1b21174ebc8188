"""Changes only the worker's owner (its payment wallet) may make; removal by owner or admin."""

import pytest

from tests.conftest import ADMIN, OTHER, OWNER, register_msg
from tests.helpers import data, ex, q
from worker_manager.contract.error import (
    InvalidAddress,
    InvalidIpAddress,
    InvalidUrl,
    InvalidWorkerType,
    Unauthorized,
    WorkerExists,
    WorkerNotFound,
)
from worker_manager.node import Node


@pytest.fixture
def worker(node: Node) -> str:
    ex(node, ADMIN, register_msg("10.0.0.1"))
    return "10.0.0.1"


def get(node: Node, ip: str) -> dict[str, object]:
    result: dict[str, object] = q(node, {"get_worker": {"ip_address": ip}})
    return result


OWNER_ONLY = [
    {"set_worker_wallet": {"ip_address": "10.0.0.1", "payment_wallet": OTHER}},
    {"set_worker_address": {"old_ip_address": "10.0.0.1", "new_ip_address": "10.0.0.2"}},
    {"set_worker_type": {"ip_address": "10.0.0.1", "worker_type": "mistral"}},
    {"set_worker_url": {"ip_address": "10.0.0.1", "url": "https://x.example"}},
]


@pytest.mark.parametrize("msg", OWNER_ONLY, ids=lambda m: next(iter(m)))
@pytest.mark.parametrize("sender", [ADMIN, OTHER], ids=["admin", "stranger"])
def test_only_the_owner_may_change_a_worker(
    node: Node, worker: str, unchanged, msg: dict[str, object], sender: str
) -> None:
    with unchanged(), pytest.raises(Unauthorized) as err:
        ex(node, sender, msg)
    assert err.value.sender == sender
    assert err.value.required == "the owner (payment wallet) of worker 10.0.0.1"


@pytest.mark.parametrize("msg", OWNER_ONLY, ids=lambda m: next(iter(m)))
def test_changing_an_unknown_worker_says_so(node: Node, unchanged, msg: dict[str, object]) -> None:
    with unchanged(), pytest.raises(WorkerNotFound) as err:
        ex(node, OWNER, msg)
    assert err.value.ip_address == "10.0.0.1"


def test_owner_hands_the_worker_to_a_new_wallet(node: Node, worker: str) -> None:
    outcome = ex(
        node, OWNER, {"set_worker_wallet": {"ip_address": worker, "payment_wallet": OTHER}}
    )
    assert data(outcome) == {"ip_address": worker, "payment_wallet": OTHER}
    assert get(node, worker)["payment_wallet"] == OTHER
    # the old owner has lost the worker; the new one has it
    with pytest.raises(Unauthorized):
        ex(node, OWNER, {"set_worker_type": {"ip_address": worker, "worker_type": "x"}})
    ex(node, OTHER, {"set_worker_type": {"ip_address": worker, "worker_type": "x"}})


def test_a_new_wallet_must_be_a_valid_address(node: Node, worker: str, unchanged) -> None:
    with unchanged(), pytest.raises(InvalidAddress):
        ex(node, OWNER, {"set_worker_wallet": {"ip_address": worker, "payment_wallet": "x"}})


def test_owner_moves_the_worker_to_a_free_address(node: Node, worker: str) -> None:
    outcome = ex(
        node,
        OWNER,
        {"set_worker_address": {"old_ip_address": worker, "new_ip_address": "GPU2.example.com"}},
    )
    assert data(outcome) == {"ip_address": "gpu2.example.com", "old_ip_address": worker}
    with pytest.raises(WorkerNotFound):
        get(node, worker)
    moved = get(node, "gpu2.example.com")
    assert moved["payment_wallet"] == OWNER
    assert moved["attestation_report"] == "quote:10.0.0.1"
    assert moved["registered_height"] == 2


def test_moving_onto_an_address_in_use_is_refused(node: Node, worker: str, unchanged) -> None:
    ex(node, ADMIN, register_msg("10.0.0.2", payment_wallet=OTHER))
    with unchanged(), pytest.raises(WorkerExists) as err:
        ex(
            node,
            OWNER,
            {"set_worker_address": {"old_ip_address": worker, "new_ip_address": "10.0.0.2"}},
        )
    assert err.value.ip_address == "10.0.0.2"
    assert get(node, "10.0.0.2")["payment_wallet"] == OTHER


def test_moving_to_the_same_address_changes_nothing(node: Node, worker: str) -> None:
    ex(
        node,
        OWNER,
        {"set_worker_address": {"old_ip_address": worker, "new_ip_address": "::ffff:10.0.0.1"}},
    )
    assert get(node, worker)["ip_address"] == worker


def test_moving_to_an_invalid_address_is_refused(node: Node, worker: str, unchanged) -> None:
    with unchanged(), pytest.raises(InvalidIpAddress) as err:
        ex(
            node,
            OWNER,
            {"set_worker_address": {"old_ip_address": worker, "new_ip_address": "1.2.3"}},
        )
    assert err.value.field == "new_ip_address"


def test_owner_changes_the_worker_type(node: Node, worker: str) -> None:
    ex(node, OWNER, {"set_worker_type": {"ip_address": worker, "worker_type": "deepseek-r1:70b"}})
    assert get(node, worker)["worker_type"] == "deepseek-r1:70b"
    assert q(node, {"get_models": {}}) == {"models": ["deepseek-r1:70b"]}


def test_a_bad_worker_type_is_refused(node: Node, worker: str, unchanged) -> None:
    with unchanged(), pytest.raises(InvalidWorkerType):
        ex(node, OWNER, {"set_worker_type": {"ip_address": worker, "worker_type": "a b"}})


def test_owner_sets_and_clears_the_url(node: Node, worker: str) -> None:
    ex(node, OWNER, {"set_worker_url": {"ip_address": worker, "url": "https://w.example:21434"}})
    assert get(node, worker)["url"] == "https://w.example:21434"
    ex(node, OWNER, {"set_worker_url": {"ip_address": worker, "url": None}})
    assert get(node, worker)["url"] == "https://10.0.0.1"


def test_a_bad_url_is_refused(node: Node, worker: str, unchanged) -> None:
    with unchanged(), pytest.raises(InvalidUrl):
        ex(node, OWNER, {"set_worker_url": {"ip_address": worker, "url": "not a url"}})


@pytest.mark.parametrize("sender", [OWNER, ADMIN], ids=["owner", "admin"])
def test_owner_or_admin_removes_a_worker(node: Node, worker: str, sender: str) -> None:
    outcome = ex(node, sender, {"remove_worker": {"ip_address": worker}})
    assert data(outcome) == {"ip_address": worker, "status": "removed"}
    with pytest.raises(WorkerNotFound):
        get(node, worker)
    assert q(node, {"get_models": {}}) == {"models": []}


def test_a_stranger_cannot_remove_a_worker(node: Node, worker: str, unchanged) -> None:
    with unchanged(), pytest.raises(Unauthorized) as err:
        ex(node, OTHER, {"remove_worker": {"ip_address": worker}})
    assert "or the admin" in err.value.required


def test_removing_an_unknown_worker_says_so(node: Node, unchanged) -> None:
    with unchanged(), pytest.raises(WorkerNotFound):
        ex(node, ADMIN, {"remove_worker": {"ip_address": "10.9.9.9"}})


def test_a_removed_address_can_be_registered_again(node: Node, worker: str) -> None:
    ex(node, OWNER, {"remove_worker": {"ip_address": worker}})
    ex(node, ADMIN, register_msg(worker, payment_wallet=OTHER))
    assert get(node, worker)["payment_wallet"] == OTHER
