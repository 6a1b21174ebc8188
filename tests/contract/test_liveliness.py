"""Liveliness: challenges, answers, status, up epochs, outages, and what is served."""

import pytest

from tests.conftest import (
    ADMIN,
    API,
    CHAIN_ID,
    OTHER,
    OWNER,
    OWNER_KEY,
    WORKER_KEY,
    register_msg,
)
from tests.helpers import data, ex, q
from worker_manager.contract.error import (
    InvalidField,
    InvalidSignature,
    StaleChallenge,
    Unauthorized,
    WorkerNotFound,
)
from worker_manager.contract.liveliness import liveliness_sign_bytes
from worker_manager.node import FixedClock, Node

EPOCH = 60


def challenge(node: Node) -> str:
    answer: str = q(node, {"get_liveliness_challenge": {}})["challenge"]
    return answer


def answer(
    node: Node, ip: str = "10.0.0.1", sender: str = OWNER, load: int = 0, ch: str | None = None
) -> dict[str, object]:
    body = {"ip_address": ip, "challenge": ch or challenge(node), "load": load}
    return data(ex(node, sender, {"report_liveliness": body}))


def signed_answer(
    node: Node,
    ip: str,
    *,
    key=WORKER_KEY,
    load: int = 0,
    ch: str | None = None,
    sender: str = OTHER,
) -> dict[str, object]:
    ch = ch or challenge(node)
    sign_bytes = liveliness_sign_bytes(
        chain_id=CHAIN_ID,
        contract=node.identity.contract_address,
        ip_address=ip,
        challenge=ch,
        load=load,
    )
    body = {
        "ip_address": ip,
        "challenge": ch,
        "load": load,
        "signature": key.sign(sign_bytes).hex(),
    }
    return data(ex(node, sender, {"report_liveliness": body}))


def next_epoch(node: Node, clock: FixedClock, epochs: int = 1) -> None:
    """Let time pass with the registry up: each epoch is ticked as served."""
    for _ in range(epochs):
        clock.advance(EPOCH)
        node.tick()


def status(node: Node, ip: str = "10.0.0.1") -> str:
    found: str = q(node, {"get_worker": {"ip_address": ip}})["status"]
    return found


@pytest.fixture
def worker(node: Node) -> str:
    ex(node, ADMIN, register_msg("10.0.0.1"))
    return "10.0.0.1"


def test_the_challenge_is_per_epoch_and_derived_from_the_seed(
    node: Node, clock: FixedClock
) -> None:
    first = q(node, {"get_liveliness_challenge": {}})
    epoch = 1_767_225_600 // EPOCH
    assert first["epoch"] == epoch
    assert first["challenge"] == API.liveliness_challenge(epoch).hex()
    assert first["expires_at"] == (epoch + 2) * EPOCH
    assert first["epoch_seconds"] == EPOCH
    clock.advance(EPOCH)
    assert q(node, {"get_liveliness_challenge": {}})["challenge"] != first["challenge"]


def test_a_new_worker_is_served_for_one_grace_period_then_goes_stale_and_offline(
    node: Node, clock: FixedClock, worker: str
) -> None:
    assert status(node) == "live"
    next_epoch(node, clock, 3)
    assert status(node) == "live"
    next_epoch(node, clock)
    assert status(node) == "stale"
    assert q(node, {"get_models": {}}) == {"models": []}
    assert q(node, {"get_urls": {}}) == {"urls": []}
    found = q(node, {"get_worker": {"ip_address": worker}})
    assert found["served"] is False
    assert found["not_served_because"] == ["not_live:stale"]
    next_epoch(node, clock, 6)
    assert status(node) == "stale"
    next_epoch(node, clock)
    assert status(node) == "offline"


def test_answering_keeps_a_worker_live_and_brings_it_back(
    node: Node, clock: FixedClock, worker: str
) -> None:
    next_epoch(node, clock, 5)
    assert status(node) == "stale"
    result = answer(node)
    assert result["counted"] is True
    found = q(node, {"get_worker": {"ip_address": worker}})
    assert (found["status"], found["missed_epochs"], found["served"]) == ("live", 0, True)
    assert found["last_seen"] == clock.now_ns() // 10**9
    assert q(node, {"get_models": {}}) == {"models": ["llama3.3:70b"]}
    for _ in range(10):
        next_epoch(node, clock)
        answer(node)
    assert status(node) == "live"


def test_one_answer_per_epoch_counts_and_a_repeat_is_harmless(
    node: Node, clock: FixedClock, worker: str
) -> None:
    assert answer(node)["counted"] is True
    seen = q(node, {"get_worker": {"ip_address": worker}})
    assert answer(node)["counted"] is False
    assert q(node, {"get_worker": {"ip_address": worker}}) == seen


def test_the_previous_epochs_challenge_is_still_taken(
    node: Node, clock: FixedClock, worker: str
) -> None:
    old = challenge(node)
    next_epoch(node, clock)
    result = answer(node, ch=old)
    assert result["counted"] is True
    assert result["epoch"] == 1_767_225_600 // EPOCH
    next_epoch(node, clock)
    with pytest.raises(StaleChallenge):
        answer(node, ch=old)


def test_a_wrong_challenge_is_refused_and_changes_nothing(
    node: Node, worker: str, unchanged
) -> None:
    with unchanged(), pytest.raises(StaleChallenge) as err:
        answer(node, ch="00" * 32)
    assert "get_liveliness_challenge" in str(err.value)


def test_without_a_worker_key_only_the_owner_may_answer(node: Node, worker: str, unchanged) -> None:
    with unchanged(), pytest.raises(Unauthorized):
        answer(node, sender=OTHER)
    with unchanged(), pytest.raises(WorkerNotFound):
        answer(node, ip="10.9.9.9")
    with unchanged(), pytest.raises(InvalidField):
        answer(node, load=101)


def test_with_a_worker_key_the_answer_must_carry_its_signature(node: Node, unchanged) -> None:
    ex(node, ADMIN, register_msg("10.0.0.2", worker_public_key=WORKER_KEY.public_key.hex()))
    # anyone may carry a valid signature
    assert signed_answer(node, "10.0.0.2", sender=OTHER)["counted"] is True
    node.tick()
    with unchanged(), pytest.raises(InvalidSignature, match="must carry its signature"):
        answer(node, ip="10.0.0.2", sender=OWNER)  # even the owner needs the worker key
    with unchanged(), pytest.raises(InvalidSignature, match="not by worker"):
        signed_answer(node, "10.0.0.2", key=OWNER_KEY)  # forged: another key
    forged = {
        "ip_address": "10.0.0.2",
        "challenge": challenge(node),
        "load": 50,
        "signature": WORKER_KEY.sign(
            liveliness_sign_bytes(
                chain_id=CHAIN_ID,
                contract=node.identity.contract_address,
                ip_address="10.0.0.2",
                challenge=challenge(node),
                load=0,
            )
        ).hex(),
    }
    with unchanged(), pytest.raises(InvalidSignature):  # signed for load 0, claims 50
        ex(node, OTHER, {"report_liveliness": forged})


def test_an_outage_of_the_registry_never_counts_against_workers(
    node: Node, clock: FixedClock, worker: str
) -> None:
    answer(node)
    next_epoch(node, clock, 2)  # missed 2 of a grace of 3
    assert status(node) == "live"
    clock.advance(EPOCH * 30)  # the registry is down for half an hour: nothing ticks
    node.tick()  # back: the first epoch after the gap starts a resume
    found = q(node, {"get_worker": {"ip_address": worker}})
    assert (found["status"], found["missed_epochs"]) == ("live", 1)
    next_epoch(node, clock, 2)
    assert status(node) == "live"  # a full grace period after the outage
    next_epoch(node, clock)
    assert status(node) == "stale"


def test_answers_are_taken_while_paused(node: Node, worker: str) -> None:
    ex(node, ADMIN, {"pause": {}})
    assert answer(node)["counted"] is True


def test_a_paused_worker_is_not_served(node: Node, worker: str, unchanged) -> None:
    ex(node, OWNER, {"set_worker_paused": {"ip_address": worker, "paused": True}})
    found = q(node, {"get_worker": {"ip_address": worker}})
    assert (found["status"], found["served"], found["not_served_because"]) == (
        "live",
        False,
        ["paused"],
    )
    assert q(node, {"get_urls": {}}) == {"urls": []}
    with unchanged(), pytest.raises(Unauthorized):
        ex(node, OTHER, {"set_worker_paused": {"ip_address": worker, "paused": False}})
    ex(node, OWNER, {"set_worker_paused": {"ip_address": worker, "paused": False}})
    assert q(node, {"get_urls": {}}) == {"urls": ["https://10.0.0.1"]}


def test_liveliness_settings_are_checked(node: Node, unchanged) -> None:
    ex(
        node,
        ADMIN,
        {"set_config": {"epoch_seconds": 1, "grace_epochs": 2, "offline_after_epochs": 4}},
    )
    config = q(node, {"get_config": {}})
    assert (config["epoch_seconds"], config["grace_epochs"], config["offline_after_epochs"]) == (
        1,
        2,
        4,
    )
    for bad in (
        {"epoch_seconds": 0},
        {"grace_epochs": 4},
        {"offline_after_epochs": 2},
        {"work_period_seconds": 0},
    ):
        with unchanged(), pytest.raises(Exception, match="must"):
            ex(node, ADMIN, {"set_config": bad})


def test_the_tick_is_not_a_network_message(node: Node, unchanged) -> None:
    from worker_manager.contract.error import UnknownMessage

    with unchanged(), pytest.raises(UnknownMessage):
        ex(node, ADMIN, {"epoch_tick": {}})


def test_a_worker_key_that_signs_the_tx_itself_needs_no_second_signature(
    node: Node, unchanged
) -> None:
    ex(node, ADMIN, register_msg("10.0.0.2", worker_public_key=WORKER_KEY.public_key.hex()))
    body = {"ip_address": "10.0.0.2", "challenge": challenge(node)}
    assert data(ex(node, WORKER_KEY.address, {"report_liveliness": body}))["counted"] is True
    node.tick()
    with unchanged(), pytest.raises(InvalidSignature):  # a signature given must still verify
        ex(node, WORKER_KEY.address, {"report_liveliness": {**body, "signature": "00" * 64}})
