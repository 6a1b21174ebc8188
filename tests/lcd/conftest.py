"""The test node with Secret's encryption switched on, served over real HTTP, and a
small client-side helper that speaks the LCD the way secret-sdk does."""

import base64
import json
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.conftest import CHAIN_ID
from tests.server_thread import ServerThread
from worker_manager.keys import PrivateKey
from worker_manager.node import Node
from worker_manager.node.deliver import account_number_for
from worker_manager.secret.encryption import MessageKey, X25519KeyPair, seal_envelope
from worker_manager.tx import ExecuteContractMsg, TxCoin, build_tx


@pytest.fixture
def lcd_node(node: Node) -> Node:
    """The test node, built as ``build_node`` builds one: x25519 key, envelope opener,
    aliases (see ``make_node`` in tests/conftest.py)."""
    return node


@dataclass
class Lcd:
    """What a Secret client does, with our own client-side helpers, over real HTTP."""

    url: str
    node: Node
    client_key: X25519KeyPair

    @property
    def contract(self) -> str:
        return self.node.identity.contract_address

    @property
    def node_public_key(self) -> bytes:
        return base64.b64decode(self.get("/registration/v1beta1/tx-key").json()["key"])

    def get(self, path: str, **params: str) -> httpx.Response:
        return httpx.get(f"{self.url}{path}", params=params or None, timeout=10)

    def post(self, path: str, body: Any) -> httpx.Response:
        return httpx.post(f"{self.url}{path}", json=body, timeout=10)

    def seal(self, msg: Any, code_hash: str | None = None) -> tuple[bytes, MessageKey]:
        text = msg if isinstance(msg, bytes) else json.dumps(msg, separators=(",", ":")).encode()
        return seal_envelope(
            self.client_key,
            self.node_public_key,
            code_hash or self.node.identity.code_hash,
            text,
        )

    def query_url(self, envelope: bytes, contract: str | None = None) -> str:
        """The URL secret-sdk requests: ``+`` as ``%2B``, ``=`` as ``%3D``, ``/`` kept."""
        address = contract or self.contract
        encoded = base64.b64encode(envelope).decode()
        quoted = encoded.replace("+", "%2B").replace("=", "%3D")
        return (
            f"{self.url}/compute/v1beta1/query/{address}?contract_address={address}&query={quoted}"
        )

    def signed_tx(
        self,
        key: PrivateKey,
        messages: Sequence[bytes],
        *,
        contract: str | None = None,
        sequence: int | None = None,
        chain_id: str = CHAIN_ID,
        funds: Sequence[TxCoin] = (),
    ) -> bytes:
        if sequence is None:
            account = self.get(f"/cosmos/auth/v1beta1/accounts/{key.address}").json()
            sequence = int(account["account"]["sequence"])
        return build_tx(
            key,
            [
                ExecuteContractMsg(
                    sender=key.address,
                    contract=contract or self.contract,
                    msg=m,
                    sent_funds=tuple(funds),
                )
                for m in messages
            ],
            chain_id=chain_id,
            account_number=account_number_for(key.address),
            sequence=sequence,
        )

    def broadcast(self, tx: bytes, mode: Any = "BROADCAST_MODE_SYNC") -> dict[str, Any]:
        r = self.post(
            "/cosmos/tx/v1beta1/txs", {"tx_bytes": base64.b64encode(tx).decode(), "mode": mode}
        )
        assert r.status_code == 200, r.text
        answer: dict[str, Any] = r.json()["tx_response"]
        return answer

    def wait_tx(self, txhash: str, timeout: float = 10) -> dict[str, Any]:
        """Poll the tx lookup until the tx's block commits, as scripts do."""
        deadline = time.monotonic() + timeout
        while True:
            r = self.get(f"/cosmos/tx/v1beta1/txs/{txhash}")
            if r.status_code == 200:
                found: dict[str, Any] = r.json()
                return found
            assert r.status_code == 404, r.text
            assert time.monotonic() < deadline, f"tx {txhash} did not commit"
            time.sleep(0.01)


@pytest.fixture
def base_url(node: Node) -> Iterator[str]:
    """The test node served as ``serve`` serves it. (The LCD routes are the FastAPI
    app's own, but for the encrypted query's successes, which the front door answers
    itself, byte for byte alike: tests/lcd/test_front_door.py.)"""
    with ServerThread(node) as url:
        yield url


@pytest.fixture
def lcd(lcd_node: Node, base_url: str) -> Lcd:
    return Lcd(base_url, lcd_node, X25519KeyPair(bytes(range(32, 64))))
