"""Contract aliases at the ante: executes sent to an alias run on the node's contract,
and only the aliases the node was given are accepted."""

import json

import pytest

from tests.conftest import ADMIN, ADMIN_KEY, API, CHAIN_ID, OWNER, make_node, register_msg
from tests.helpers import q
from worker_manager.node import AnteError, Node
from worker_manager.node.deliver import account_number_for
from worker_manager.secret.aliases import SECRET_AI_SDK_DEFAULT_CONTRACT
from worker_manager.tx import build_execute_tx


def tx_to(node: Node, contract: str) -> bytes:
    return build_execute_tx(
        ADMIN_KEY,
        contract,
        json.dumps(register_msg("10.0.0.1")).encode(),
        chain_id=CHAIN_ID,
        account_number=account_number_for(ADMIN_KEY.address),
        sequence=node.get_account(ADMIN_KEY.address).sequence,
    )


def test_without_aliases_only_the_own_address_is_accepted(store, clock) -> None:
    Node.genesis(store, chain_id=CHAIN_ID, admin=ADMIN, clock=clock, api=API)
    node = make_node(store, clock, contract_aliases=frozenset())
    assert not node.is_our_contract(SECRET_AI_SDK_DEFAULT_CONTRACT)
    with pytest.raises(AnteError) as err:
        node.broadcast(tx_to(node, SECRET_AI_SDK_DEFAULT_CONTRACT))
    assert err.value.error == "unknown_contract"
    assert err.value.code == 7
    assert node.get_account(ADMIN_KEY.address).sequence == 0


def test_an_execute_sent_to_an_alias_runs_on_the_contract(node: Node) -> None:
    """The test node, like a served one, answers to the aliases."""
    assert node.is_our_contract(SECRET_AI_SDK_DEFAULT_CONTRACT)
    assert node.is_our_contract(node.identity.contract_address)
    assert not node.is_our_contract(OWNER)
    result = node.broadcast(tx_to(node, SECRET_AI_SDK_DEFAULT_CONTRACT)).future.result(timeout=10)
    assert result.ok
    assert q(node, {"get_worker": {"ip_address": "10.0.0.1"}})["payment_wallet"] == OWNER
    events = [e for e in result.events if e["type"] == "wasm"]
    assert events[0]["attributes"][0]["value"] == node.identity.contract_address
