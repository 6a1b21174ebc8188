"""Signed transactions through the node: every ante refusal changes nothing; accepted
txs land in blocks, move sequences, and can be looked up."""

import json
from typing import Any

import pytest

from tests.conftest import ADMIN_KEY, CHAIN_ID, OTHER_KEY, OWNER, OWNER_KEY, make_node, register_msg
from worker_manager.keys import PrivateKey
from worker_manager.node import AnteError, Node
from worker_manager.node.deliver import account_number_for
from worker_manager.tx import build_execute_tx


def signed(
    node: Node,
    key: PrivateKey,
    msg: dict[str, Any] | bytes,
    *,
    sequence: int | None = None,
    chain_id: str | None = None,
    account_number: int | None = None,
    contract: str | None = None,
    memo: str = "",
    hint: bool = True,
) -> bytes:
    raw = msg if isinstance(msg, bytes) else json.dumps(msg).encode()
    return build_execute_tx(
        key,
        contract or node.identity.contract_address,
        raw,
        chain_id=chain_id or CHAIN_ID,
        account_number=account_number_for(key.address)
        if account_number is None
        else account_number,
        sequence=node.get_account(key.address).sequence if sequence is None else sequence,
        memo=memo,
        with_hint=hint,
    )


def send(node: Node, tx: bytes) -> Any:
    return node.broadcast(tx).future.result(timeout=10)


def test_a_signed_tx_lands_in_a_block_and_is_recorded(node: Node) -> None:
    tx = signed(node, ADMIN_KEY, register_msg("10.0.0.1"))
    result = send(node, tx)
    assert result.ok
    assert result.height == 2
    assert json.loads(result.data) == {
        "ip_address": "10.0.0.1",
        "status": "registered",
        "attestation_status": "unchecked",
    }
    record = node.get_tx(result.hash)
    assert record is not None
    assert record.sender == ADMIN_KEY.address
    assert record.tx_bytes == tx
    assert json.loads(record.messages)[0]["msg"] == register_msg("10.0.0.1")
    assert node.get_tx(result.hash.lower()) == record
    block, txs = node.get_block(2) or (None, [])
    assert block is not None
    assert [t.hash for t in txs] == [result.hash]
    account = node.get_account(ADMIN_KEY.address)
    assert account.sequence == 1
    assert account.account_number == account_number_for(ADMIN_KEY.address)
    assert account.public_key == ADMIN_KEY.public_key.hex()


def test_accounts_exist_before_their_first_tx(node: Node) -> None:
    account = node.get_account(OTHER_KEY.address)
    assert account.sequence == 0
    assert account.public_key is None
    assert account.account_number == account_number_for(OTHER_KEY.address)


def test_a_contract_refusal_is_included_and_uses_the_sequence(node: Node, unchanged) -> None:
    with unchanged():
        result = send(node, signed(node, OTHER_KEY, register_msg("10.0.0.1")))
    assert result.code == 3
    assert result.codespace == "compute"
    assert result.error == "unauthorized"
    assert "is not the admin" in result.log
    assert node.get_account(OTHER_KEY.address).sequence == 1
    assert node.get_tx(result.hash).code == 3  # type: ignore[union-attr]


def _refused(node: Node, tx: bytes, error: str, code: int, text: str, unchanged) -> AnteError:
    height = node.height
    with unchanged(everything=True), pytest.raises(AnteError) as err:
        node.broadcast(tx)
    assert err.value.error == error
    assert err.value.code == code
    assert text in err.value.log
    assert node.height == height
    return err.value


def test_a_replayed_tx_is_refused(node: Node, unchanged) -> None:
    tx = signed(node, ADMIN_KEY, register_msg("10.0.0.1"))
    send(node, tx)
    _refused(node, tx, "wrong_sequence", 32, "expected 1, got 0", unchanged)


def test_a_tx_from_the_future_is_refused(node: Node, unchanged) -> None:
    tx = signed(node, ADMIN_KEY, register_msg("10.0.0.1"), sequence=5)
    _refused(node, tx, "wrong_sequence", 32, "expected 0, got 5", unchanged)


def test_a_tx_for_another_chain_is_refused(node: Node, unchanged) -> None:
    tx = signed(node, ADMIN_KEY, register_msg(), chain_id="secret-4")
    err = _refused(node, tx, "wrong_chain_id", 28, "signed for chain secret-4", unchanged)
    assert CHAIN_ID in err.log
    # without our hint (as secret-sdk sends it) it is a plain bad signature
    tx = signed(node, ADMIN_KEY, register_msg(), chain_id="secret-4", hint=False)
    _refused(node, tx, "bad_signature", 4, f"chain-id ({CHAIN_ID})", unchanged)


def test_a_tx_for_another_account_number_is_refused(node: Node, unchanged) -> None:
    tx = signed(node, ADMIN_KEY, register_msg(), account_number=7)
    err = _refused(node, tx, "wrong_account_number", 3, "account number 7", unchanged)
    assert err.codespace == "worker-manager"


def test_a_bad_signature_is_refused(node: Node, unchanged) -> None:
    tx = bytearray(signed(node, ADMIN_KEY, register_msg()))
    tx[-1] ^= 0x01  # the last byte belongs to the signature
    _refused(node, bytes(tx), "bad_signature", 4, "signature verification failed", unchanged)


def test_garbage_is_refused(node: Node, unchanged) -> None:
    _refused(node, b"\x00\x01garbage", "tx_decode", 2, "", unchanged)


def test_an_oversized_tx_is_refused(store, clock) -> None:
    from tests.conftest import ADMIN, API

    Node.genesis(store, chain_id=CHAIN_ID, admin=ADMIN, clock=clock, api=API)
    small = make_node(store, clock, max_tx_bytes=2048)
    try:
        tx = signed(small, ADMIN_KEY, register_msg(attestation_report="a" * 4096))
        with pytest.raises(AnteError) as err:
            small.broadcast(tx)
        assert err.value.error == "tx_too_large"
        assert err.value.code == 21
    finally:
        small.close()


DEEP = b'{"register_worker":' + b"[" * 10_000 + b"]" * 10_000 + b"}"


@pytest.mark.parametrize(
    ("msg", "error", "text"),
    [
        ({"report_everything": {}}, "unknown_message", "unknown execute message"),
        ({"register_worker": {"ip_address": 1}}, "invalid_message", "register_worker.ip_address"),
        (b"{not json", "invalid_message", "not valid JSON"),
        # neither JSON nor a Secret envelope (the node opens those too)
        (b"\x00\x01\x02 not json at all", "invalid_message", "cannot open the encrypted"),
        # text no database or client can hold: refused before it can reach a block
        (register_msg(url="https://\ud800.example"), "invalid_unicode", "U+D800"),
        (register_msg(worker_type="a\udfffb"), "invalid_unicode", "worker_type holds U+DFFF"),
        ({"remove_worker": {"ip_address": "10.0.0.1", "\ud800": 1}}, "invalid_unicode", "a key"),
        (b'{"remove_worker":{"ip_address":"\xed\xa0\x80"}}', "invalid_unicode", "not valid UTF-8"),
        (register_msg(url="https://a\u0000.example"), "invalid_message", "NUL character"),
        (register_msg(capacity=2**64), "invalid_message", "out of range"),
        (register_msg(capacity=-1), "invalid_message", "out of range"),
        (b'{"register_worker":{"capacity":NaN}}', "invalid_message", "NaN is not a JSON number"),
        (b'{"register_worker":{"capacity":1e999}}', "invalid_message", "too large"),
        (DEEP, "invalid_message", "nested more than 32 levels"),
    ],
    ids=lambda v: v if isinstance(v, str) and len(v) < 40 else None,
)
def test_an_unknown_malformed_or_hostile_message_is_refused(
    node: Node, unchanged, msg: dict[str, Any] | bytes, error: str, text: str
) -> None:
    tx = signed(node, ADMIN_KEY, msg)
    _refused(node, tx, error, 6, text, unchanged)


def test_a_tx_for_another_contract_is_refused(node: Node, unchanged) -> None:
    tx = signed(node, ADMIN_KEY, register_msg(), contract=OWNER)
    _refused(node, tx, "unknown_contract", 7, "this node runs", unchanged)


def test_a_paused_contract_refuses_all_but_admin_messages(node: Node, unchanged) -> None:
    send(node, signed(node, ADMIN_KEY, {"pause": {}}))
    tx = signed(node, OTHER_KEY, {"remove_worker": {"ip_address": "10.0.0.1"}})
    err = _refused(node, tx, "paused", 2, "paused", unchanged)
    assert err.codespace == "worker-manager"
    assert send(node, signed(node, ADMIN_KEY, {"unpause": {}})).ok
    assert send(node, tx).code == 3  # now it reaches the contract (and the worker is unknown)


def test_a_paused_contract_still_takes_liveliness_answers_signed(node: Node) -> None:
    """The ante asks the contract what runs while paused (one rule, one place)."""
    assert send(node, signed(node, ADMIN_KEY, register_msg("10.0.0.1"))).ok
    assert send(node, signed(node, ADMIN_KEY, {"pause": {}})).ok
    challenge = json.loads(node.query(b'{"get_liveliness_challenge":{}}'))["challenge"]
    answer = {"report_liveliness": {"ip_address": "10.0.0.1", "challenge": challenge}}
    result = send(node, signed(node, OWNER_KEY, answer))
    assert result.ok, result.log
    worker = json.loads(node.query(b'{"get_worker":{"ip_address":"10.0.0.1"}}'))
    assert worker["last_seen"] is not None


def test_a_signers_next_tx_can_follow_before_the_block(node: Node) -> None:
    first = node.broadcast(signed(node, ADMIN_KEY, register_msg("10.0.0.1"), sequence=0))
    second = node.broadcast(signed(node, ADMIN_KEY, register_msg("10.0.0.2"), sequence=1))
    assert node.get_account(ADMIN_KEY.address).sequence == 2
    assert first.future.result(10).ok
    assert second.future.result(10).ok


def test_txs_that_arrive_together_share_a_block(store, clock) -> None:
    from tests.conftest import ADMIN, API

    Node.genesis(store, chain_id=CHAIN_ID, admin=ADMIN, clock=clock, api=API)
    batched = make_node(store, clock, block_interval_s=0.2)
    try:
        pending = [
            batched.broadcast(signed(batched, ADMIN_KEY, register_msg(f"10.0.1.{i}"), sequence=i))
            for i in range(20)
        ]
        results = [p.future.result(10) for p in pending]
    finally:
        batched.close()
    assert {r.height for r in results} == {2}
    assert [r.index for r in results] == list(range(20))
    block, _ = batched.get_block(2) or (None, [])
    assert block is not None
    assert block.tx_count == 20
