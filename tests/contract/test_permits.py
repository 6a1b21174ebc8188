"""SNIP-24 query permits for get_workers, and revoke_permit, on the contract itself.

The permits the tests accept are made the way Keplr makes them, independently of the
code under test: the amino sign doc is written out here as a literal JSON string and
signed with coincurve; and a permit Keplr really signed (secret-toolkit's own test
vector) verifies.
"""

import base64
import hashlib
import json
from typing import Any

import coincurve
import pytest

from tests.conftest import (
    ADMIN,
    CHAIN_ID,
    OTHER,
    OTHER_KEY,
    OWNER,
    OWNER_KEY,
    SUBSCRIBER_KEY,
    register_msg,
    subscriber_proof,
)
from tests.contract.harness import ContractHarness
from tests.helpers import data, ex, q
from worker_manager.client import make_permit
from worker_manager.contract import ContractError
from worker_manager.contract.error import (
    InvalidMessage,
    InvalidSignature,
    InvalidUnicode,
    PermitRefused,
    PermitRevoked,
    SubscriberNotAllowed,
    UnknownMessage,
)
from worker_manager.contract.msg import Permit, PermitParams
from worker_manager.contract.permit import permit_sign_doc, permit_signer
from worker_manager.keys import PrivateKey

#: The amino sign doc Keplr's signAmino signs for a permit (SNIP-24; secret-toolkit's
#: SignedPermit): keys sorted, no whitespace. Written out, not built by the code.
KEPLR_SIGN_DOC = (
    '{"account_number":"0","chain_id":"CHAIN","fee":{"amount":[{"amount":"0",'
    '"denom":"uscrt"}],"gas":"1"},"memo":"","msgs":[{"type":"query_permit","value":'
    '{"allowed_tokens":["CONTRACT"],"permissions":["workers"],"permit_name":"NAME"}}],'
    '"sequence":"0"}'
)

#: A permit Keplr signed, from secret-toolkit's permit tests (packages/permit/src/funcs.rs).
TOOLKIT_PERMIT = {
    "params": {
        "chain_id": "pulsar-2",
        "permit_name": "memo_secret1rf03820fp8gngzg2w02vd30ns78qkc8rg8dxaq",
        "allowed_tokens": ["secret1rf03820fp8gngzg2w02vd30ns78qkc8rg8dxaq"],
        "permissions": ["history"],
    },
    "signature": {
        "pub_key": {
            "type": "tendermint/PubKeySecp256k1",
            "value": "A5M49l32ZrV+SDsPnoRv8fH7ivNC4gEX9prvd4RwvRaL",
        },
        "signature": (
            "hw/Mo3ZZYu1pEiDdymElFkuCuJzg9soDHw+4DxK7cL9rafiyykh7VynS+guotRAKXhfYMwCiyWmiznc6R+UlsQ=="
        ),
    },
}
TOOLKIT_SIGNER = "secret1399pyvvk3hvwgxwt3udkslsc5jl3rqv4yshfrl"


def keplr_permit(
    key: PrivateKey, chain_id: str, contract: str, name: str = "laptop"
) -> dict[str, Any]:
    """A permit as Keplr makes it: the literal sign doc, sha256, compact secp256k1."""
    doc = (
        KEPLR_SIGN_DOC.replace("CHAIN", chain_id)
        .replace("CONTRACT", contract)
        .replace("NAME", name)
    )
    private = coincurve.PrivateKey(key.secret)
    signature = private.sign_recoverable(hashlib.sha256(doc.encode()).digest(), hasher=None)[:64]
    public = private.public_key.format(compressed=True)
    return {
        "params": {
            "permit_name": name,
            "allowed_tokens": [contract],
            "chain_id": chain_id,
            "permissions": ["workers"],
        },
        "signature": {
            "pub_key": {
                "type": "tendermint/PubKeySecp256k1",
                "value": base64.b64encode(public).decode(),
            },
            "signature": base64.b64encode(signature).decode(),
        },
    }


def with_permit(permit: dict[str, Any], **page: Any) -> dict[str, Any]:
    return {"with_permit": {"permit": permit, "query": {"get_workers": page}}}


def ours(node: ContractHarness, key: PrivateKey = SUBSCRIBER_KEY, **where: Any) -> dict[str, Any]:
    """A permit made by the client's make_permit for this chain and contract."""
    return make_permit(
        key,
        where.get("name", "laptop"),
        where.get("tokens", [node.identity.contract_address]),
        where.get("chain_id", CHAIN_ID),
        where.get("permissions", ["workers"]),
    )


def addresses(answer: dict[str, Any]) -> list[str]:
    return [w["ip_address"] for w in answer["workers"]]


def test_a_permit_made_the_way_keplr_makes_it_is_accepted(node: ContractHarness) -> None:
    ex(node, ADMIN, register_msg("10.0.0.2"))
    ex(node, ADMIN, register_msg("10.0.0.1", payment_wallet=OTHER))
    permit = keplr_permit(SUBSCRIBER_KEY, CHAIN_ID, node.identity.contract_address)
    answer = q(node, with_permit(permit))
    # the same answer as get_workers with the subscriber's own proof
    assert answer == q(node, {"get_workers": subscriber_proof()})
    assert addresses(answer) == ["10.0.0.1", "10.0.0.2"]
    # the inner query pages and filters as get_workers does
    assert addresses(q(node, with_permit(permit, limit=1))) == ["10.0.0.1"]
    assert addresses(q(node, with_permit(permit, address=OWNER))) == ["10.0.0.2"]
    assert addresses(q(node, with_permit(permit, start_after="10.0.0.1"))) == ["10.0.0.2"]


def test_the_sign_doc_is_the_one_keplr_and_secret_toolkit_sign(node: ContractHarness) -> None:
    contract = node.identity.contract_address
    params = PermitParams(
        permit_name="laptop", allowed_tokens=[contract], chain_id=CHAIN_ID, permissions=["workers"]
    )
    expected = (
        KEPLR_SIGN_DOC.replace("CHAIN", CHAIN_ID)
        .replace("CONTRACT", contract)
        .replace("NAME", "laptop")
    )
    assert permit_sign_doc(params) == expected.encode()
    assert make_permit(SUBSCRIBER_KEY, "laptop", [contract], CHAIN_ID) == keplr_permit(
        SUBSCRIBER_KEY, CHAIN_ID, contract
    )


def test_a_permit_keplr_signed_verifies() -> None:
    """secret-toolkit's test vector: a real Keplr signature, and the signer it names."""
    public_key, account = permit_signer(Permit.model_validate(TOOLKIT_PERMIT))
    assert account == TOOLKIT_SIGNER
    assert public_key == base64.b64decode(TOOLKIT_PERMIT["signature"]["pub_key"]["value"])  # type: ignore[index]
    tampered = json.loads(json.dumps(TOOLKIT_PERMIT))
    tampered["params"]["permissions"] = ["owner"]
    with pytest.raises(InvalidSignature, match="does not verify"):
        permit_signer(Permit.model_validate(tampered))


def test_a_name_with_html_characters_verifies_as_keplr_escapes_it(node: ContractHarness) -> None:
    """cosmjs and Keplr escape & < > in the sign doc; a Rust contract's encoder does not.
    Either form is taken."""
    contract = node.identity.contract_address
    name = "a<b>&c"
    doc = (
        KEPLR_SIGN_DOC.replace("CHAIN", CHAIN_ID)
        .replace("CONTRACT", contract)
        .replace("NAME", "a\\u003cb\\u003e\\u0026c")
    )
    permit = keplr_permit(SUBSCRIBER_KEY, CHAIN_ID, contract, name)
    permit["signature"]["signature"] = base64.b64encode(
        SUBSCRIBER_KEY.sign_hash(hashlib.sha256(doc.encode()).digest())
    ).decode()
    ex(node, ADMIN, register_msg("10.0.0.1"))
    assert addresses(q(node, with_permit(permit))) == ["10.0.0.1"]
    assert addresses(q(node, with_permit(ours(node, name=name)))) == ["10.0.0.1"]


@pytest.mark.parametrize(
    ("where", "match"),
    [
        ({"chain_id": "secret-4"}, "not this chain"),
        (
            {"tokens": ["secret1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq"]},
            "does not name this contract",
        ),
        ({"tokens": []}, "does not name this contract"),
        ({"permissions": ["balance", "history"]}, "lacks the permission 'workers'"),
        ({"permissions": []}, "lacks the permission 'workers'"),
    ],
    ids=["another-chain", "another-contract", "no-contract", "other-permissions", "none"],
)
def test_a_permit_for_elsewhere_or_without_the_permission_is_refused(
    node: ContractHarness, where: dict[str, Any], match: str
) -> None:
    ex(node, ADMIN, register_msg("10.0.0.1"))
    with pytest.raises(PermitRefused, match=match) as refused:
        q(node, with_permit(ours(node, **where)))
    assert refused.value.code == "permit_refused"


def test_the_owner_permission_grants_it_and_other_contracts_may_share_the_permit(
    node: ContractHarness,
) -> None:
    ex(node, ADMIN, register_msg("10.0.0.1"))
    contract = node.identity.contract_address
    token = "secret1rf03820fp8gngzg2w02vd30ns78qkc8rg8dxaq"
    shared = ours(node, tokens=[token, contract], permissions=["balance", "owner"])
    assert addresses(q(node, with_permit(shared))) == ["10.0.0.1"]


def test_a_permit_signed_by_another_key_than_its_pub_key_is_refused(node: ContractHarness) -> None:
    permit = ours(node, key=OTHER_KEY)
    permit["signature"]["pub_key"] = ours(node)["signature"]["pub_key"]
    with pytest.raises(InvalidSignature, match="does not verify"):
        q(node, with_permit(permit))
    # and a permit whose params were changed after signing
    changed = ours(node)
    changed["params"]["permit_name"] = "another"
    with pytest.raises(InvalidSignature, match="does not verify"):
        q(node, with_permit(changed))


@pytest.mark.parametrize(
    ("part", "value", "match"),
    [
        (("pub_key", "type"), "tendermint/PubKeyEd25519", "pub_key.type must be"),
        (("pub_key", "value"), "not base64!", "pub_key.value is not base64"),
        (("pub_key", "value"), "AAAA", "pub_key.value must be 33 bytes, got 3"),
        (("pub_key", "value"), base64.b64encode(b"\x02" + b"\xff" * 32).decode(), "not a point"),
        (("pub_key", "value"), "Ag==" * 12, "not base64"),  # padding inside
        (("signature",), "zzzz\u00e9", "signature is not base64"),
        (("signature",), base64.b64encode(b"\x01" * 63).decode(), "must be 64 bytes"),
        (("signature",), base64.b64encode(b"\xff" * 64).decode(), "out of range"),
    ],
)
def test_a_malformed_key_or_signature_is_a_clear_refusal(
    node: ContractHarness, part: tuple[str, ...], value: str, match: str
) -> None:
    permit = ours(node)
    target = permit["signature"]
    for name in part[:-1]:
        target = target[name]
    target[part[-1]] = value
    with pytest.raises(InvalidSignature, match=match):
        q(node, with_permit(permit))


def test_a_revoked_permit_is_refused_and_only_its_signer_revokes_it(
    node: ContractHarness,
) -> None:
    ex(node, ADMIN, register_msg("10.0.0.1"))
    subscriber = SUBSCRIBER_KEY.address
    laptop, phone = ours(node, name="laptop"), ours(node, name="phone")
    other_laptop = ours(node, key=OTHER_KEY, name="laptop")
    # another account revoking the same name changes nothing for this signer
    outcome = ex(node, OTHER, {"revoke_permit": {"permit_name": "laptop"}})
    assert data(outcome) == {"account": OTHER, "already_revoked": False, "permit_name": "laptop"}
    assert dict(outcome.attributes)["action"] == "revoke_permit"
    assert addresses(q(node, with_permit(laptop))) == ["10.0.0.1"]
    with pytest.raises(PermitRevoked, match=f"revoked by its signer {OTHER}"):
        q(node, with_permit(other_laptop))
    # its signer revokes it: refused from then on; another name of the signer is not
    ex(node, subscriber, {"revoke_permit": {"permit_name": "laptop"}})
    with pytest.raises(PermitRevoked) as revoked:
        q(node, with_permit(laptop))
    assert (revoked.value.code, revoked.value.account, revoked.value.permit_name) == (
        "permit_revoked",
        subscriber,
        "laptop",
    )
    assert addresses(q(node, with_permit(phone))) == ["10.0.0.1"]
    # a newly signed permit of the revoked name is refused too; a repeat is harmless
    assert keplr_permit(SUBSCRIBER_KEY, CHAIN_ID, node.identity.contract_address) == laptop
    again = ex(node, subscriber, {"revoke_permit": {"permit_name": "laptop"}})
    assert data(again)["already_revoked"] is True
    # names are exact: another spelling is another name
    assert addresses(q(node, with_permit(ours(node, name="Laptop")))) == ["10.0.0.1"]


def test_revoking_runs_while_paused_and_needs_a_name(node: ContractHarness) -> None:
    ex(node, ADMIN, {"pause": {}})
    ex(node, OWNER, {"revoke_permit": {"permit_name": "x", "padding": "     "}})
    assert node.storage.is_permit_revoked(OWNER, "x")
    for bad in ("", "n" * 257):
        with pytest.raises(InvalidMessage, match=r"revoke_permit\.permit_name"):
            ex(node, OWNER, {"revoke_permit": {"permit_name": bad}})
    ex(node, OWNER, {"revoke_permit": {"permit_name": "n" * 256}})


def test_listed_subscribers_apply_to_the_permits_signer(node: ContractHarness) -> None:
    ex(node, ADMIN, register_msg("10.0.0.1"))
    ex(node, ADMIN, {"set_config": {"require_listed_subscribers": True}})
    with pytest.raises(SubscriberNotAllowed, match=SUBSCRIBER_KEY.public_key.hex()):
        q(node, with_permit(ours(node)))
    ex(node, ADMIN, {"add_subscriber": {"public_key": SUBSCRIBER_KEY.public_key.hex()}})
    assert addresses(q(node, with_permit(ours(node)))) == ["10.0.0.1"]
    with pytest.raises(SubscriberNotAllowed):
        q(node, with_permit(ours(node, key=OWNER_KEY)))


def test_the_inner_query_is_get_workers_without_a_proof(node: ContractHarness) -> None:
    permit = ours(node)
    with pytest.raises(UnknownMessage, match="with_permit query message 'get_models'"):
        q(node, {"with_permit": {"permit": permit, "query": {"get_models": {}}}})
    with pytest.raises(InvalidMessage, match=r"get_workers\.signature"):
        q(node, with_permit(permit, **subscriber_proof()))
    with pytest.raises(InvalidMessage, match="exactly one key"):
        q(node, {"with_permit": {"permit": permit, "query": {}}})
    with pytest.raises(InvalidMessage, match=r"with_permit\.permit"):
        q(node, {"with_permit": {"query": {"get_workers": {}}}})
    too_many = ours(node)
    too_many["params"]["allowed_tokens"] *= 101
    with pytest.raises(InvalidMessage, match=r"with_permit\.permit\.params\.allowed_tokens"):
        q(node, with_permit(too_many))
    with pytest.raises(ValueError, match="at most 100 items"):  # nor will the client make one
        ours(node, tokens=too_many["params"]["allowed_tokens"])


def _huge_limit(node: ContractHarness) -> str:
    return json.dumps(with_permit(ours(node), limit=1)).replace(
        '"limit": 1', '"limit": ' + "9" * 5000
    )


def _wrapped(text: str) -> Any:
    return lambda _node: text


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        (
            _wrapped(
                '{"with_permit":{"permit":{"params":{"permit_name":"\\ud800","allowed_tokens":[],'
                '"chain_id":"c","permissions":[]},"signature":{"pub_key":{"type":"t","value":"v"},'
                '"signature":"s"}},"query":{"get_workers":{}}}}'
            ),
            InvalidUnicode,
        ),
        (_huge_limit, InvalidMessage),
        (
            _wrapped('{"with_permit":{"permit":' + "[" * 10_000 + "]" * 10_000 + ',"query":{}}}'),
            InvalidMessage,
        ),
        (
            _wrapped('{"with_permit":{"permit":null,"query":' + "{" * 40 + "}" * 40 + "}}"),
            InvalidMessage,
        ),
        (_wrapped('{"with_permit":"permit"}'), InvalidMessage),
    ],
    ids=["lone-surrogate", "huge-int", "deep-array", "deep-object", "not-an-object"],
)
def test_hostile_permits_are_clear_refusals(
    node: ContractHarness, raw: Any, error: type[ContractError]
) -> None:
    with pytest.raises(error):
        node.query(raw(node))
