"""The Python client against a real node process: every message with real keys, the
ante refusals and the authorization refusals."""

import base64
import json

import httpx
import pytest

from tests.conftest import (
    ADMIN,
    ADMIN_KEY,
    NEW_ADMIN,
    NEW_ADMIN_KEY,
    OTHER,
    OTHER_KEY,
    OWNER,
    OWNER_KEY,
    SUBSCRIBER_KEY,
)
from tests.e2e.conftest import RunningNode
from worker_manager.client import Client, TxFailed, TxRejected
from worker_manager.node.deliver import account_number_for
from worker_manager.tx import build_execute_tx


def test_every_message_and_refusal_through_the_client(running_node: RunningNode) -> None:
    url = running_node.url
    with (
        Client(url, key=ADMIN_KEY) as admin,
        Client(url, key=OWNER_KEY) as owner,
        Client(url, key=OTHER_KEY) as other,
    ):
        first = admin.register_worker("10.5.0.1", OWNER, "quote", "llama3.3:70b")
        owner.set_worker_type("10.5.0.1", "mistral")
        owner.set_worker_url("10.5.0.1", "https://w.example")
        owner.set_worker_address("10.5.0.1", "10.5.0.2")
        owner.set_worker_wallet("10.5.0.2", OTHER)
        admin.add_subscriber(SUBSCRIBER_KEY.public_key.hex())
        assert [w.ip_address for w in admin.workers(subscriber_key=SUBSCRIBER_KEY).workers] == [
            "10.5.0.2"
        ]
        admin.remove_subscriber(SUBSCRIBER_KEY.public_key.hex())
        admin.set_config(require_listed_subscribers=False)
        # authorization refusals: included, code 3, nothing changes
        for call in (
            lambda: owner.set_worker_type("10.5.0.2", "x"),  # no longer the owner
            lambda: owner.remove_worker("10.5.0.2"),
            other.pause,
            lambda: other.register_worker("10.5.0.3", OTHER, "q", "m"),
            other.accept_admin,
        ):
            with pytest.raises(TxFailed) as err:
                call()
            assert err.value.code in ("unauthorized", "no_pending_admin")
        assert admin.worker("10.5.0.2").worker_type == "mistral"
        admin.pause()
        with pytest.raises(TxRejected) as rejected:
            other.remove_worker("10.5.0.2")
        assert rejected.value.code == "paused"
        admin.unpause()
        other.remove_worker("10.5.0.2")
        admin.propose_admin(NEW_ADMIN)
        admin.cancel_admin_proposal()
        admin.propose_admin(NEW_ADMIN)
        with Client(url, key=NEW_ADMIN_KEY) as new_admin:
            new_admin.accept_admin()
            new_admin.propose_admin(ADMIN)
        admin.accept_admin()
        assert admin.config().admin == ADMIN
        assert admin.tx(first.txhash).sender == ADMIN

    # ante refusals, with tx bytes a client would not make on its own
    contract = str(running_node.info["contract_address"])
    sequence = httpx.get(f"{url}/v1/accounts/{OTHER}").json()["sequence"]
    msg = json.dumps({"pause": {}}).encode()

    def post(tx: bytes) -> dict[str, object]:
        body = {"tx_bytes": base64.b64encode(tx).decode(), "mode": "commit"}
        answer: dict[str, object] = httpx.post(f"{url}/v1/txs", json=body, timeout=30).json()
        return answer

    def tx(**overrides: object) -> bytes:
        options: dict[str, object] = {
            "chain_id": "wm-e2e-1",
            "account_number": account_number_for(OTHER),
            "sequence": sequence,
            "with_hint": True,
        }
        options.update(overrides)
        return build_execute_tx(OTHER_KEY, contract, msg, **options)  # type: ignore[arg-type]

    assert post(tx(chain_id="secret-4"))["code"] == "wrong_chain_id"
    assert post(tx(account_number=1))["code"] == "wrong_account_number"
    assert post(tx(sequence=sequence + 7))["code"] == "wrong_sequence"
    assert post(tx(chain_id="secret-4", with_hint=False))["code"] == "bad_signature"
    assert post(b"\x0a\x02zz")["code"] == "tx_decode"
    garbled = tx(**{})
    assert post(garbled[:-1] + bytes([garbled[-1] ^ 1]))["code"] == "bad_signature"
    bad_message = build_execute_tx(
        OTHER_KEY,
        contract,
        b'{"nope": {}}',
        chain_id="wm-e2e-1",
        account_number=account_number_for(OTHER),
        sequence=sequence,
    )
    assert post(bad_message)["code"] == "unknown_message"
    huge = build_execute_tx(
        OTHER_KEY,
        contract,
        json.dumps(
            {"register_worker": {"ip_address": "a", "attestation_report": "x" * 1_100_000}}
        ).encode(),
        chain_id="wm-e2e-1",
        account_number=account_number_for(OTHER),
        sequence=sequence,
    )
    assert post(huge)["code"] == "tx_too_large"
    assert httpx.get(f"{url}/v1/accounts/{OTHER}").json()["sequence"] == sequence
