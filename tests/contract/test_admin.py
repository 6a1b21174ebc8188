"""Admin messages: two-step hand-over, subscribers, config, pause."""

import pytest

from tests.conftest import (
    ADMIN,
    NEW_ADMIN,
    OTHER,
    OWNER,
    SUBSCRIBER_KEY,
    register_msg,
    subscriber_proof,
)
from tests.helpers import ex, q
from worker_manager.contract.error import (
    InvalidAddress,
    InvalidConfig,
    InvalidField,
    InvalidMessage,
    InvalidUrl,
    NoPendingAdmin,
    Paused,
    SubscriberExists,
    SubscriberNotAllowed,
    SubscriberNotFound,
    Unauthorized,
)
from worker_manager.node import Node

ADMIN_ONLY = [
    {"propose_admin": {"new_admin": NEW_ADMIN}},
    {"cancel_admin_proposal": {}},
    {"add_subscriber": {"public_key": SUBSCRIBER_KEY.public_key.hex()}},
    {"remove_subscriber": {"public_key": SUBSCRIBER_KEY.public_key.hex()}},
    {"set_config": {"registration_mode": "open"}},
    {"pause": {}},
    {"unpause": {}},
]


@pytest.mark.parametrize("msg", ADMIN_ONLY, ids=lambda m: next(iter(m)))
def test_admin_messages_refuse_everyone_else(node: Node, unchanged, msg: dict[str, object]) -> None:
    with unchanged(), pytest.raises(Unauthorized) as err:
        ex(node, OTHER, msg)
    assert err.value == Unauthorized(OTHER, "the admin")


def test_admin_hand_over_takes_two_steps(node: Node) -> None:
    ex(node, ADMIN, {"propose_admin": {"new_admin": NEW_ADMIN}})
    config = q(node, {"get_config": {}})
    assert (config["admin"], config["pending_admin"]) == (ADMIN, NEW_ADMIN)
    # until accepted, the old admin stays in charge
    ex(node, ADMIN, register_msg("10.0.0.1"))
    ex(node, NEW_ADMIN, {"accept_admin": {}})
    config = q(node, {"get_config": {}})
    assert (config["admin"], config["pending_admin"]) == (NEW_ADMIN, None)
    with pytest.raises(Unauthorized):
        ex(node, ADMIN, register_msg("10.0.0.2"))
    ex(node, NEW_ADMIN, register_msg("10.0.0.2"))


def test_only_the_proposed_account_may_accept(node: Node, unchanged) -> None:
    ex(node, ADMIN, {"propose_admin": {"new_admin": NEW_ADMIN}})
    with unchanged(), pytest.raises(Unauthorized) as err:
        ex(node, OTHER, {"accept_admin": {}})
    assert err.value.required == "the proposed admin"


def test_accepting_with_no_proposal_is_refused(node: Node, unchanged) -> None:
    with unchanged(), pytest.raises(NoPendingAdmin):
        ex(node, NEW_ADMIN, {"accept_admin": {}})


def test_a_proposal_can_be_cancelled(node: Node) -> None:
    ex(node, ADMIN, {"propose_admin": {"new_admin": NEW_ADMIN}})
    ex(node, ADMIN, {"cancel_admin_proposal": {}})
    with pytest.raises(NoPendingAdmin):
        ex(node, NEW_ADMIN, {"accept_admin": {}})
    with pytest.raises(NoPendingAdmin):
        ex(node, ADMIN, {"cancel_admin_proposal": {}})


def test_a_second_proposal_replaces_the_first(node: Node) -> None:
    ex(node, ADMIN, {"propose_admin": {"new_admin": OTHER}})
    ex(node, ADMIN, {"propose_admin": {"new_admin": NEW_ADMIN}})
    with pytest.raises(Unauthorized):
        ex(node, OTHER, {"accept_admin": {}})
    ex(node, NEW_ADMIN, {"accept_admin": {}})


def test_proposing_an_invalid_address_is_refused(node: Node, unchanged) -> None:
    with unchanged(), pytest.raises(InvalidAddress):
        ex(node, ADMIN, {"propose_admin": {"new_admin": "secret1xyz"}})


def test_pause_stops_everything_but_admin_messages_and_queries(node: Node) -> None:
    ex(node, ADMIN, register_msg("10.0.0.1"))
    ex(node, ADMIN, {"pause": {}})
    assert q(node, {"get_config": {}})["paused"] is True
    for sender, msg in [
        (ADMIN, register_msg("10.0.0.2")),
        (OWNER, {"set_worker_type": {"ip_address": "10.0.0.1", "worker_type": "x"}}),
        (OWNER, {"remove_worker": {"ip_address": "10.0.0.1"}}),
    ]:
        with pytest.raises(Paused):
            ex(node, sender, msg)
    assert q(node, {"get_models": {}}) == {"models": ["llama3.3:70b"]}
    ex(node, ADMIN, {"pause": {}})  # a repeat is harmless
    ex(node, ADMIN, {"set_config": {"url_template": "https://{host}:21434"}})
    ex(node, ADMIN, {"unpause": {}})
    ex(node, OWNER, {"remove_worker": {"ip_address": "10.0.0.1"}})


def test_set_config_changes_only_what_it_names(node: Node) -> None:
    before = q(node, {"get_config": {}})
    ex(node, ADMIN, {"set_config": {"url_template": "http://{host}:11434"}})
    after = q(node, {"get_config": {}})
    assert after == {**before, "url_template": "http://{host}:11434"}


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({}, InvalidMessage),
        ({"url_template": "https://fixed.example"}, InvalidUrl),
        ({"url_template": "https://{address}/{path}"}, InvalidUrl),
        ({"url_template": "ftp://{address}"}, InvalidUrl),
        ({"max_attestation_report_bytes": 10}, InvalidConfig),
        ({"max_attestation_report_bytes": 2 * 1024 * 1024}, InvalidConfig),
        ({"registration_mode": "anyone"}, InvalidMessage),
        ({"paused": True}, InvalidMessage),
    ],
)
def test_bad_config_is_refused(
    node: Node, unchanged, changes: dict[str, object], error: type[Exception]
) -> None:
    with unchanged(), pytest.raises(error):
        ex(node, ADMIN, {"set_config": changes})


def test_subscribers_are_added_listed_and_removed(node: Node) -> None:
    key = SUBSCRIBER_KEY.public_key.hex()
    ex(node, ADMIN, {"add_subscriber": {"public_key": key.upper()}})
    listed = q(node, {"get_subscribers": {}})["subscribers"]
    assert listed == [{"public_key": key, "added_height": 2}]
    with pytest.raises(SubscriberExists):
        ex(node, ADMIN, {"add_subscriber": {"public_key": key}})
    ex(node, ADMIN, {"remove_subscriber": {"public_key": key}})
    assert q(node, {"get_subscribers": {}}) == {"subscribers": []}
    with pytest.raises(SubscriberNotFound):
        ex(node, ADMIN, {"remove_subscriber": {"public_key": key}})


def test_a_subscriber_key_must_be_a_real_public_key(node: Node, unchanged) -> None:
    with unchanged(), pytest.raises(InvalidField):
        ex(node, ADMIN, {"add_subscriber": {"public_key": "03" + "ff" * 32}})


def test_listed_subscribers_only_when_the_config_says_so(node: Node) -> None:
    proof = subscriber_proof()
    assert q(node, {"get_workers": proof}) == {"workers": [], "next_start_after": None}
    ex(node, ADMIN, {"set_config": {"require_listed_subscribers": True}})
    with pytest.raises(SubscriberNotAllowed):
        q(node, {"get_workers": proof})
    ex(node, ADMIN, {"add_subscriber": {"public_key": proof["subscriber_public_key"]}})
    assert q(node, {"get_workers": proof})["workers"] == []
