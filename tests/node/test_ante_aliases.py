"""Contract aliases at the ante: executes sent to an alias run on the node's contract,
and only the aliases the node was given are accepted."""

import json

import pytest

from tests.conftest import ADMIN_KEY, CHAIN_ID, OWNER, register_msg
from tests.helpers import q
from worker_manager.lcd.aliases import CONTRACT_ALIASES, SECRET_AI_SDK_DEFAULT_CONTRACT
from worker_manager.node import AnteError, Node
from worker_manager.node.deliver import account_number_for
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


def test_without_aliases_only_the_own_address_is_accepted(node: Node) -> None:
    assert node.ante.contract_aliases == frozenset()
    with pytest.raises(AnteError) as err:
        node.broadcast(tx_to(node, SECRET_AI_SDK_DEFAULT_CONTRACT))
    assert err.value.error == "unknown_contract"
    assert err.value.code == 7
    assert node.get_account(ADMIN_KEY.address).sequence == 0


def test_an_execute_sent_to_an_alias_runs_on_the_contract(node: Node) -> None:
    node.ante.contract_aliases = CONTRACT_ALIASES
    assert node.ante.is_our_contract(SECRET_AI_SDK_DEFAULT_CONTRACT)
    assert node.ante.is_our_contract(node.identity.contract_address)
    assert not node.ante.is_our_contract(OWNER)
    result = node.broadcast(tx_to(node, SECRET_AI_SDK_DEFAULT_CONTRACT)).future.result(timeout=10)
    assert result.ok
    assert q(node, {"get_worker": {"ip_address": "10.0.0.1"}})["payment_wallet"] == OWNER
    events = [e for e in result.events if e["type"] == "wasm"]
    assert events[0]["attributes"][0]["value"] == node.identity.contract_address
