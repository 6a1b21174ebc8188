"""The original contract's three integration flows, through the unmodified secret-sdk,
against a node with an attestation policy (``test_secret_clients`` runs them without).

Register with an empty report (as the original's ``register_worker`` script does),
change the worker's address and wallet as its owner, and list the workers with the
original's subscriber proof: under a ``mark`` policy the worker is kept, shown
``not_attested`` and never served; under ``reject`` the empty report is refused in its
block with a readable ``rawlog``, and nothing changes."""

import json
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest

from tests.conftest import SUBSCRIBER_KEY
from tests.e2e.test_secret_clients import (
    ADMIN_MNEMONIC,
    EXECUTE_PRELUDE,
    OTHER,
    OTHER_MNEMONIC,
    OWNER,
    OWNER_MNEMONIC,
    LcdNode,
    serving_node,
)

pytestmark = pytest.mark.slow

#: Measurements no quote has: under this policy no report verifies.
NO_IMAGE = {"label": "none", **{k: "00" * 48 for k in ("mrtd", "rtmr0", "rtmr1", "rtmr2")}}


def policy(mode: str) -> dict[str, Any]:
    return {
        "worker_types": {"llama3.3:70b": {"measurements": [NO_IMAGE]}},
        "registration_mode": mode,
    }


@pytest.fixture(scope="module")
def policy_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LcdNode]:
    with serving_node(tmp_path_factory.mktemp("lcd-policy-e2e")) as node:
        yield node


_UNDER_POLICY = (
    EXECUTE_PRELUDE
    + """
from secret_sdk.key.raw import RawKey

subscriber = RawKey(bytes.fromhex(INPUT["subscriber"]))
public = subscriber.public_key.key
proof = {"signature": subscriber.sign(public).hex(), "subscriber_public_key": public.hex()}

run("policy_mark", admin, {"set_attestation_policy": {"policy": INPUT["mark"]}})
# 1. the original's register_worker script: an empty report
run("register_empty", admin, {"register_worker": INPUT["worker"]})
# 2. the owner moves it and hands it to another wallet
move = {"old_ip_address": "10.8.0.1", "new_ip_address": "10.8.0.11"}
run("set_worker_address", owner, {"set_worker_address": move})
hand = {"ip_address": "10.8.0.11", "payment_wallet": INPUT["other_address"]}
run("set_worker_wallet", owner, {"set_worker_wallet": hand})
# 3. list the workers with the original's subscriber proof
out["workers"] = c.wasm.contract_query(contract, {"get_workers": proof})
out["urls"] = c.wasm.contract_query(contract, {"get_u_r_ls": {}})
out["models"] = c.wasm.contract_query(contract, {"get_models": {}})

run("policy_reject", admin, {"set_attestation_policy": {"policy": INPUT["reject"]}})
again = dict(INPUT["worker"], ip_address="10.8.0.2")
run("register_empty_rejected", admin, {"register_worker": again})
out["rejected_lookup"] = c.wasm.contract_query(contract, {"get_worker_addresses": {}})
emit(out)
"""
)


@pytest.fixture(scope="module")
def under_policy(policy_node: LcdNode, secret_clients: ModuleType) -> dict[str, Any]:
    return dict(
        secret_clients.run_client(
            _UNDER_POLICY,
            input=policy_node.client_input(
                admin=ADMIN_MNEMONIC,
                owner=OWNER_MNEMONIC,
                other=OTHER_MNEMONIC,
                other_address=OTHER,
                subscriber=SUBSCRIBER_KEY.secret.hex(),
                mark=policy("mark"),
                reject=policy("reject"),
                worker={
                    "ip_address": "10.8.0.1",
                    "payment_wallet": OWNER,
                    "attestation_report": "",
                    "worker_type": "llama3.3:70b",
                },
            ),
            timeout=240,
        )
    )


def test_under_mark_the_empty_report_registers_a_worker_never_served(
    under_policy: dict[str, Any],
) -> None:
    assert under_policy["policy_mark"]["code"] == 0, under_policy["policy_mark"]["rawlog"]
    outcome = under_policy["register_empty"]
    assert outcome["code"] == 0, outcome["rawlog"]
    assert json.loads(outcome["data"][0]) == {
        "ip_address": "10.8.0.1",
        "status": "registered",
        "attestation_status": "not_attested",
    }
    assert under_policy["urls"] == {"urls": []}
    assert under_policy["models"] == {"models": []}


def test_the_owner_moves_and_hands_over_the_worker(under_policy: dict[str, Any]) -> None:
    for step in ("set_worker_address", "set_worker_wallet"):
        assert under_policy[step]["code"] == 0, under_policy[step]["rawlog"]


def test_the_subscriber_lists_it_with_the_reason_it_is_not_served(
    under_policy: dict[str, Any],
) -> None:
    (worker,) = under_policy["workers"]["workers"]
    assert (worker["ip_address"], worker["payment_wallet"]) == ("10.8.0.11", OTHER)
    assert worker["attestation_status"] == "not_attested"
    assert worker["attestation_reasons"] == ["no_attestation_report"]
    assert worker["served"] is False
    assert worker["not_served_because"] == ["attestation_not_attested"]


def test_under_reject_the_empty_report_is_refused_and_nothing_changes(
    under_policy: dict[str, Any],
) -> None:
    assert under_policy["policy_reject"]["code"] == 0
    outcome = under_policy["register_empty_rejected"]
    assert outcome["broadcast_code"] == 0  # accepted into a block, refused by the contract
    assert outcome["code"] != 0
    assert "attestation_refused" in outcome["rawlog"]
    assert "the attestation policy requires a report; none was given" in outcome["rawlog"]
    assert under_policy["rejected_lookup"]["addresses"] == ["10.8.0.11"]
