"""get_workers' subscriber proofs: the original's (replayable, allowed while
``legacy_proofs`` is on) and time-bound ones (one chain, one contract, a window around
their time), checked by the node at the time it answers."""

import json
from typing import Any

import pytest

from tests.conftest import (
    ADMIN,
    CHAIN_ID,
    OTHER_KEY,
    SUBSCRIBER_KEY,
    register_msg,
    subscriber_proof,
)
from tests.helpers import ex
from worker_manager.client import time_bound_proof
from worker_manager.contract import ContractError
from worker_manager.contract.error import InvalidConfig, InvalidMessage, InvalidSignature
from worker_manager.node import FixedClock, Node


def _workers(node: Node, proof: dict[str, Any]) -> list[str]:
    raw = json.dumps({"get_workers": proof}).encode()
    return [w["ip_address"] for w in json.loads(node.query(raw))["workers"]]


def _now(clock: FixedClock) -> int:
    return clock.now_ns() // 10**9


def _proof(node: Node, at: int, **where: Any) -> dict[str, Any]:
    chain = where.get("chain_id", CHAIN_ID)
    contract = where.get("contract", node.identity.contract_address)
    return dict(time_bound_proof(where.get("key", SUBSCRIBER_KEY), chain, contract, at))


def test_a_time_bound_proof_is_good_within_its_window_only(node: Node, clock: FixedClock) -> None:
    ex(node, ADMIN, register_msg("10.0.0.1"))
    proof = _proof(node, _now(clock))
    assert _workers(node, proof) == ["10.0.0.1"]
    clock.advance(299)  # no block in between: a ready answer must not outlive the window
    assert _workers(node, proof) == ["10.0.0.1"]
    clock.advance(2)
    with pytest.raises(InvalidSignature, match="is 301 s from the block time"):
        _workers(node, proof)  # the same bytes, replayed past the window
    ahead = _proof(node, _now(clock) + 600)
    with pytest.raises(InvalidSignature, match="600 s from the block time"):
        _workers(node, ahead)


def test_a_time_bound_proof_names_one_chain_one_contract_and_its_key(
    node: Node, clock: FixedClock
) -> None:
    ex(node, ADMIN, register_msg("10.0.0.1"))
    now = _now(clock)
    for wrong in (
        _proof(node, now, chain_id="another-chain-1"),
        _proof(
            node, now, contract="secret1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq"
        ),
        {
            **_proof(node, now, key=OTHER_KEY),
            "subscriber_public_key": SUBSCRIBER_KEY.public_key.hex(),
        },
        {**_proof(node, now), "proof_time": now + 1},  # the time is part of what is signed
    ):
        with pytest.raises(InvalidSignature, match="time-bound proof text"):
            _workers(node, wrong)


def test_legacy_proofs_can_be_turned_off_and_the_window_set(node: Node, clock: FixedClock) -> None:
    ex(node, ADMIN, register_msg("10.0.0.1"))
    assert _workers(node, subscriber_proof()) == ["10.0.0.1"]  # on by default
    ex(node, ADMIN, {"set_config": {"legacy_proofs": False, "proof_window_seconds": 30}})
    with pytest.raises(InvalidSignature, match="time-bound proofs only"):
        _workers(node, subscriber_proof())
    proof = _proof(node, _now(clock))
    assert _workers(node, proof) == ["10.0.0.1"]
    clock.advance(31)
    with pytest.raises(InvalidSignature, match="good for 30 s"):
        _workers(node, proof)
    for bad in (0, 86_401):
        with pytest.raises(InvalidConfig, match="proof_window_seconds"):
            ex(node, ADMIN, {"set_config": {"proof_window_seconds": bad}})
    config = json.loads(node.query(b'{"get_config":{}}'))
    assert (config["legacy_proofs"], config["proof_window_seconds"]) == (False, 30)


@pytest.mark.parametrize(
    ("proof_time", "error"),
    [
        (2**64, InvalidMessage),  # past 64 bits
        (-(2**70), InvalidMessage),
        ("1764500000", InvalidMessage),  # a number as text
        (True, InvalidMessage),
        (-1, InvalidMessage),  # JSON integers here are 0 and up
        (0, InvalidSignature),  # a time long past: outside the window
    ],
)
def test_a_bad_proof_time_is_a_clear_refusal(
    node: Node, clock: FixedClock, proof_time: object, error: type[Exception]
) -> None:
    proof = {**_proof(node, _now(clock)), "proof_time": proof_time}
    with pytest.raises(error):
        _workers(node, proof)


def test_hostile_text_in_a_proof_is_refused_and_nothing_is_kept(node: Node) -> None:
    for raw in (
        b'{"get_workers":{"signature":"\\ud800","subscriber_public_key":"02","proof_time":1}}',
        b'{"get_workers":' + b"[" * 10_000 + b"]" * 10_000 + b"}",
    ):
        with pytest.raises(ContractError):
            node.query(raw)
        assert node.cached_query(raw) is None
