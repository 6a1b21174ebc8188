"""200 concurrent clients with their own keys, against a real node process: every tx
succeeds with the right per-account sequence, and the log replays to the same state."""

import asyncio
import hashlib
import json

from tests.conftest import ADMIN_KEY
from tests.e2e.conftest import RunningNode, cli
from worker_manager.client import AsyncClient, Client
from worker_manager.keys import PrivateKey

CLIENTS = 200
TXS_EACH = 3


def test_200_concurrent_clients_then_replay(running_node: RunningNode) -> None:
    with Client(running_node.url, key=ADMIN_KEY) as admin:
        admin.set_config(registration_mode="open")
    keys = [PrivateKey(hashlib.sha256(f"client {i}".encode()).digest()) for i in range(CLIENTS)]

    async def one(index: int, key: PrivateKey) -> list[int]:
        async with AsyncClient(running_node.url, key=key, timeout=120) as client:
            heights = []
            for n in range(TXS_EACH):
                result = await client.register_worker(
                    f"10.{index // 250}.{index % 250}.{n + 1}", key.address, "quote", f"m{n}"
                )
                heights.append(result.height)
            return heights

    async def everyone() -> list[list[int]]:
        return await asyncio.gather(*(one(i, k) for i, k in enumerate(keys)))

    heights = asyncio.run(everyone())
    assert all(h[0] < h[1] < h[2] for h in heights)
    with Client(running_node.url) as reader:
        assert reader.config().workers == CLIENTS * TXS_EACH
        for key in keys[:: CLIENTS // 10]:
            assert reader.account(key.address).sequence == TXS_EACH
        blocks = reader.info().height
    # group commit: far fewer blocks than txs
    assert blocks < CLIENTS * TXS_EACH
    report = json.loads(cli("verify", "--home", str(running_node.home), "--json").stdout)
    assert report["ok"] is True, report["mismatches"]
    assert report["blocks"] >= blocks
    # genesis, set_config, the clients' txs, and the node's own epoch ticks
    assert report["txs"] >= CLIENTS * TXS_EACH + 2
