"""The Python client against a real HTTP node: every message, typed answers and errors."""

import asyncio

import pytest

from tests.conftest import (
    ADMIN,
    ADMIN_KEY,
    GENESIS_NS,
    NEW_ADMIN,
    NEW_ADMIN_KEY,
    OTHER,
    OTHER_KEY,
    OWNER,
    OWNER_KEY,
    SUBSCRIBER_KEY,
    WORKER_KEY,
)
from worker_manager.client import (
    AsyncClient,
    Client,
    ContractRefused,
    NotFound,
    TransportError,
    TxFailed,
    TxRejected,
    Worker,
    make_permit,
)
from worker_manager.node import Node


def test_every_message_through_the_sync_client(base_url: str, node: Node) -> None:
    with Client(base_url, key=ADMIN_KEY) as admin, Client(base_url, key=OWNER_KEY) as owner:
        result = admin.register_worker(
            "10.0.0.1",
            OWNER,
            "quote",
            "llama3.3:70b",
            url="https://w1.example",
            worker_public_key=WORKER_KEY.public_key.hex(),
            capacity=2,
        )
        assert result.ok
        assert result.data == {
            "ip_address": "10.0.0.1",
            "status": "registered",
            "attestation_status": "unchecked",
        }
        assert owner.set_worker_type("10.0.0.1", "mistral").ok
        assert owner.set_worker_url("10.0.0.1", None).ok
        assert owner.set_worker_address("10.0.0.1", "10.0.0.2").ok
        assert owner.set_worker_wallet("10.0.0.2", OTHER).ok
        worker = admin.worker("10.0.0.2")
        assert isinstance(worker, Worker)
        assert (worker.payment_wallet, worker.worker_type, worker.capacity) == (OTHER, "mistral", 2)
        assert admin.models() == ["mistral"]
        assert admin.urls(model="mistral") == ["https://10.0.0.2"]
        # time-bound (at the test node's fixed clock), then the original's proof
        page = admin.workers(subscriber_key=SUBSCRIBER_KEY, proof_time=GENESIS_NS // 10**9)
        assert [w.ip_address for w in page.workers] == ["10.0.0.2"]
        assert admin.workers(subscriber_key=SUBSCRIBER_KEY, legacy_proof=True) == page
        with pytest.raises(ContractRefused, match="is 3600 s from the block time"):
            admin.workers(subscriber_key=SUBSCRIBER_KEY, proof_time=GENESIS_NS // 10**9 - 3600)
        assert admin.remove_worker("10.0.0.2").ok
        assert admin.add_subscriber(SUBSCRIBER_KEY.public_key.hex()).ok
        assert [s.public_key for s in admin.subscribers()] == [SUBSCRIBER_KEY.public_key.hex()]
        assert admin.remove_subscriber(SUBSCRIBER_KEY.public_key.hex()).ok
        assert admin.set_config(url_template="https://{host}:21434").ok
        assert admin.pause().ok
        assert admin.config().paused
        assert admin.unpause().ok
        assert admin.propose_admin(NEW_ADMIN).ok
        assert admin.cancel_admin_proposal().ok
        assert admin.propose_admin(NEW_ADMIN).ok
        with Client(base_url, key=NEW_ADMIN_KEY) as new_admin:
            assert new_admin.accept_admin().ok
        assert admin.config().admin == NEW_ADMIN
        info = admin.tx(result.txhash)
        assert info.sender == ADMIN
        assert info.messages[0]["msg"]["register_worker"]["ip_address"] == "10.0.0.1"
        assert admin.account().sequence == 10


def test_contract_refusals_raise_tx_failed_with_the_code(base_url: str, node: Node) -> None:
    with Client(base_url, key=OTHER_KEY) as other:
        with pytest.raises(TxFailed) as err:
            other.register_worker("10.0.0.1", OWNER, "quote", "m")
        assert err.value.code == "unauthorized"
        assert err.value.height >= 2
        assert other.tx(err.value.txhash).result.error == "unauthorized"
        # the failed tx used its sequence; the client knows and keeps going
        with pytest.raises(TxFailed):
            other.remove_worker("10.0.0.1")
        assert other.account().sequence == 2


def test_queries_raise_contract_errors_with_the_code(base_url: str) -> None:
    with Client(base_url) as client:
        with pytest.raises(ContractRefused) as err:
            client.worker("10.9.9.9")
        assert err.value.code == "worker_not_found"
        with pytest.raises(ContractRefused) as err:
            client.workers(signature="00", subscriber_public_key="00")
        assert err.value.code == "invalid_signature"
        with pytest.raises(NotFound):
            client.tx("AB" * 32)
        with pytest.raises(ValueError, match="no key"):
            client.pause()


def test_a_stale_sequence_is_recovered_once(base_url: str, node: Node) -> None:
    with Client(base_url, key=ADMIN_KEY) as first, Client(base_url, key=ADMIN_KEY) as second:
        first.register_worker("10.0.0.1", OWNER, "q", "m")
        second.register_worker("10.0.0.2", OWNER, "q", "m")  # reads sequence 1 itself
        first.register_worker("10.0.0.3", OWNER, "q", "m")  # its sequence 1 is stale: retried
    assert node.get_account(ADMIN).sequence == 3


def test_ante_refusals_raise_tx_rejected(base_url: str, node: Node) -> None:
    with Client(base_url, key=ADMIN_KEY) as client:
        client.pause()
    with Client(base_url, key=OWNER_KEY) as owner, pytest.raises(TxRejected) as err:
        owner.remove_worker("10.0.0.1")
    assert err.value.code == "paused"
    assert err.value.status == 409


def test_an_unreachable_node_is_a_transport_error() -> None:
    with Client("http://127.0.0.1:9", timeout=2) as client, pytest.raises(TransportError):
        client.models()


def test_the_async_client_does_the_same(base_url: str, node: Node) -> None:
    async def scenario() -> list[str]:
        async with AsyncClient(base_url, key=ADMIN_KEY) as admin:
            await admin.register_worker("10.0.0.1", OWNER, "quote", "a")
            await admin.register_worker("10.0.0.2", OWNER, "quote", "b")
            with pytest.raises(TxFailed):
                await admin.register_worker("10.0.0.2", OWNER, "quote", "b")
            assert (await admin.worker("10.0.0.1")).worker_type == "a"
            assert (await admin.account()).sequence == 3
            return await admin.models()

    assert asyncio.run(scenario()) == ["a", "b"]


def test_permits_through_both_clients(base_url: str, node: Node) -> None:
    with Client(base_url, key=ADMIN_KEY) as admin, Client(base_url, key=SUBSCRIBER_KEY) as sub:
        admin.register_worker("10.0.0.1", OWNER, "quote", "m")
        info = sub.info()
        permit = make_permit(SUBSCRIBER_KEY, "laptop", [info.contract_address], info.chain_id)
        page = sub.workers(permit=permit, limit=5)
        assert [w.ip_address for w in page.workers] == ["10.0.0.1"]
        assert page == admin.workers(subscriber_key=SUBSCRIBER_KEY, legacy_proof=True)
        result = sub.revoke_permit("laptop")
        assert result.data == {
            "account": SUBSCRIBER_KEY.address,
            "already_revoked": False,
            "permit_name": "laptop",
        }
        with pytest.raises(ContractRefused) as err:
            admin.workers(permit=permit)
        assert err.value.code == "permit_revoked"
        elsewhere = make_permit(SUBSCRIBER_KEY, "phone", [OWNER], info.chain_id)
        with pytest.raises(ContractRefused) as err:
            admin.workers(permit=elsewhere)
        assert err.value.code == "permit_refused"

    async def scenario() -> list[str]:
        phone = make_permit(SUBSCRIBER_KEY, "phone", [info.contract_address], info.chain_id)
        async with AsyncClient(base_url, key=SUBSCRIBER_KEY) as client:
            found = [w.ip_address for w in (await client.workers(permit=phone)).workers]
            assert (await client.revoke_permit("phone")).ok
            with pytest.raises(ContractRefused, match="revoked by its signer"):
                await client.workers(permit=phone)
            return found

    assert asyncio.run(scenario()) == ["10.0.0.1"]
