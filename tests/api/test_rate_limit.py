"""Each client's tx rate is capped on the write routes; queries and other clients go on."""

import base64

import httpx
import pytest

from tests.conftest import ADMIN_KEY, register_msg
from tests.node.test_ante import signed
from tests.server_thread import ServerThread
from worker_manager.api.rate_limit import RateLimiter
from worker_manager.node import Node


class Ticks:
    """A clock the test moves by hand (seconds)."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_bucket_allows_a_burst_then_the_rate() -> None:
    ticks = Ticks()
    limiter = RateLimiter(rate=2, burst=3, clock=ticks)
    assert [limiter.allow("a") for _ in range(3)] == [None, None, None]
    assert limiter.allow("a") == pytest.approx(0.5)
    assert limiter.allow("b") is None, "another client has its own bucket"
    ticks.now = 0.5
    assert limiter.allow("a") is None
    assert limiter.allow("a") is not None
    ticks.now = 100
    assert [limiter.allow("a") for _ in range(3)] == [None, None, None], "never above the burst"
    assert limiter.allow("a") is not None


def test_memory_stays_bounded_whatever_the_number_of_clients() -> None:
    limiter = RateLimiter(rate=1, burst=1, max_clients=100)
    for i in range(10_000):
        limiter.allow(f"10.0.{i // 256}.{i % 256}")
    assert limiter.tracked == 100


def test_a_rate_of_zero_turns_the_limit_off() -> None:
    limiter = RateLimiter(rate=0, burst=1)
    assert all(limiter.allow("a") is None for _ in range(1000))


@pytest.mark.parametrize("front_door", [True, False], ids=["front-door", "framework-only"])
@pytest.mark.parametrize("path", ["/v1/txs", "/cosmos/tx/v1beta1/txs"])
def test_a_client_over_its_rate_gets_429_and_others_go_on(
    node: Node, front_door: bool, path: str
) -> None:
    limiter = RateLimiter(rate=0.001, burst=2)
    tx = base64.b64encode(signed(node, ADMIN_KEY, register_msg("10.0.0.1"))).decode()
    mode = "sync" if path == "/v1/txs" else "BROADCAST_MODE_SYNC"
    with ServerThread(node, front_door=front_door, tx_limiter=limiter) as url:
        with httpx.Client(base_url=url) as client:
            answers = [client.post(path, json={"tx_bytes": tx, "mode": mode}) for _ in range(3)]
            assert [a.status_code for a in answers[:2]] != [429, 429]
            limited = answers[2]
            assert limited.status_code == 429, limited.text
            assert int(limited.headers["retry-after"]) >= 1
            if path == "/v1/txs":
                assert limited.json()["code"] == "rate_limited"
            else:
                assert limited.json()["code"] == 8
            # reads are not limited
            assert client.post("/v1/query", json={"get_models": {}}).status_code == 200
        other = httpx.HTTPTransport(local_address="127.0.0.2")
        with httpx.Client(base_url=url, transport=other) as c2:
            again = c2.post(path, json={"tx_bytes": tx, "mode": mode})
            assert again.status_code != 429, "another client address has its own budget"
