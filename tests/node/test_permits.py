"""SNIP-24 permits through a node: revoke_permit in signed txs (the ante, then a block),
on both engines; permit queries never answered from the cache; revocations kept by
export and import."""

import json
from typing import Any

import pytest

from tests.conftest import (
    ADMIN,
    ADMIN_KEY,
    API,
    CHAIN_ID,
    OTHER_KEY,
    SUBSCRIBER_KEY,
    register_msg,
)
from tests.helpers import ex
from tests.node.test_ante import send, signed
from tests.store.snapshot_helpers import export, load
from worker_manager.client import make_permit
from worker_manager.contract import ContractError
from worker_manager.contract.error import (
    InvalidMessage,
    InvalidSignature,
    InvalidUnicode,
    PermitRevoked,
)
from worker_manager.keys import PrivateKey
from worker_manager.node import AnteError, Node
from worker_manager.store import Store


def permit_query(node: Node, key: PrivateKey = SUBSCRIBER_KEY, name: str = "laptop") -> bytes:
    permit = make_permit(key, name, [node.identity.contract_address], CHAIN_ID)
    return json.dumps({"with_permit": {"permit": permit, "query": {"get_workers": {}}}}).encode()


def workers(node: Node, raw: bytes) -> list[str]:
    return [w["ip_address"] for w in json.loads(node.query(raw))["workers"]]


def revoke(node: Node, key: PrivateKey, name: str) -> Any:
    result = send(node, signed(node, key, {"revoke_permit": {"permit_name": name}}))
    assert result.ok, result.log
    return json.loads(result.data)


def test_a_signed_revoke_permit_refuses_the_signers_permit_at_once(node: Node) -> None:
    ex(node, ADMIN, register_msg("10.0.0.1"))
    mine, theirs = permit_query(node), permit_query(node, OTHER_KEY)
    assert workers(node, mine) == workers(node, theirs) == ["10.0.0.1"]
    assert node.cached_query(mine) is None  # answered, but never kept
    # another account revoking the same name: its own permit only
    assert revoke(node, OTHER_KEY, "laptop") == {
        "account": OTHER_KEY.address,
        "already_revoked": False,
        "permit_name": "laptop",
    }
    assert workers(node, mine) == ["10.0.0.1"]
    with pytest.raises(PermitRevoked):
        node.query(theirs)
    # the signer revokes it: the very bytes answered a block ago are refused now
    height = node.height
    revoke(node, SUBSCRIBER_KEY, "laptop")
    assert node.height == height + 1
    with pytest.raises(PermitRevoked, match=SUBSCRIBER_KEY.address):
        node.query(mine)
    assert node.cached_query(mine) is None
    assert workers(node, permit_query(node, name="phone")) == ["10.0.0.1"]
    record = node.get_tx(
        send(node, signed(node, SUBSCRIBER_KEY, {"revoke_permit": {"permit_name": "laptop"}})).hash
    )
    assert record is not None
    assert record.sender == SUBSCRIBER_KEY.address


def test_revoking_goes_through_while_the_contract_is_paused(node: Node) -> None:
    ex(node, ADMIN, register_msg("10.0.0.1"))
    assert send(node, signed(node, ADMIN_KEY, {"pause": {}})).ok
    revoke(node, SUBSCRIBER_KEY, "laptop")
    with pytest.raises(PermitRevoked):
        node.query(permit_query(node))


def test_a_bad_revoke_permit_is_refused_before_the_block_and_keeps_nothing(node: Node) -> None:
    ex(node, ADMIN, register_msg("10.0.0.1"))
    height = node.height
    for name in ("", "n" * 257, 7):
        with pytest.raises(AnteError) as refused:
            node.broadcast(signed(node, SUBSCRIBER_KEY, {"revoke_permit": {"permit_name": name}}))
        assert refused.value.error == "invalid_message"
    assert node.height == height
    assert workers(node, permit_query(node)) == ["10.0.0.1"]  # nothing was revoked
    with pytest.raises(ValueError, match="at least 1 character"):  # nor made, by the client
        permit_query(node, name="")


def test_hostile_permit_queries_are_refused_and_never_kept(node: Node) -> None:
    good = json.loads(permit_query(node))
    bad_base64 = json.loads(json.dumps(good))
    bad_base64["with_permit"]["permit"]["signature"]["signature"] = "%%%%"
    for raw, error in (
        (json.dumps(bad_base64).encode(), InvalidSignature),
        (
            permit_query(node).replace(b'"get_workers": {}', b'"get_workers": {"limit": 1e999}'),
            InvalidMessage,
        ),
        (permit_query(node).replace(b'"laptop"', b'"\\udfff"'), InvalidUnicode),
        (b'{"with_permit":' + b"{" * 10_000 + b"}" * 10_000 + b"}", InvalidMessage),
    ):
        with pytest.raises(error):
            node.query(raw)
        assert node.cached_query(raw) is None
    with pytest.raises(ContractError):
        node.query(permit_query(node).replace(b'"get_workers": {}', b'"get_workers": {"x": 1}'))


def test_revocations_survive_export_and_import(
    node: Node, store: Store, empty_database_url: str
) -> None:
    ex(node, ADMIN, register_msg("10.0.0.1"))
    revoke(node, SUBSCRIBER_KEY, "laptop")
    load(empty_database_url, export(store))
    imported = Store(empty_database_url)
    copy = Node(imported, node.clock, api=API)
    try:
        with pytest.raises(PermitRevoked):
            copy.query(permit_query(copy))
        assert workers(copy, permit_query(copy, name="phone")) == ["10.0.0.1"]
    finally:
        copy.close()
        imported.close()
