"""The client's paging helpers read every page, in both twins: shrunk to two a page so
five workers' addresses and reports take three queries each."""

import asyncio
from typing import Any

import pytest

from tests.conftest import ADMIN, OWNER, register_msg
from worker_manager.client import AsyncClient, Client, _base
from worker_manager.node import Node

PERIOD = 3600
NOW_PERIOD = 1_767_225_600 // PERIOD
ADDRESSES = [f"10.0.0.{i}" for i in range(1, 6)]


@pytest.fixture
def reported(node: Node, monkeypatch: pytest.MonkeyPatch) -> None:
    """Five workers, each with reports for the two periods before the current one."""
    monkeypatch.setattr(_base, "PAGE_SIZE", 2)
    for address in ADDRESSES:
        node.execute(ADMIN, register_msg(address))
        for period in (NOW_PERIOD - 2, NOW_PERIOD - 1):
            node.execute(OWNER, _report(address, period))


def _report(address: str, period: int) -> dict[str, Any]:
    usage = [{"subscriber": "02aa", "requests": 1, "input_tokens": 2, "output_tokens": 3}]
    return {"report_work": {"ip_address": address, "period": period, "usage": usage}}


def test_the_sync_client_reads_every_page(base_url: str, reported: None) -> None:
    with Client(base_url) as client:
        assert client.worker_addresses() == ADDRESSES
        reports = client.work_reports()
        assert [(r.period, r.ip_address) for r in reports] == [
            (p, a) for p in (NOW_PERIOD - 2, NOW_PERIOD - 1) for a in ADDRESSES
        ]
        assert [r.ip_address for r in client.work_reports(period=NOW_PERIOD - 1)] == ADDRESSES
        (total,) = client.work_totals("subscriber")
        assert (total.key, total.requests, total.lines) == ("02aa", 10, 10)


def test_the_async_client_reads_every_page(base_url: str, reported: None) -> None:
    async def scenario() -> tuple[list[str], int, int]:
        async with AsyncClient(base_url) as client:
            addresses = await client.worker_addresses()
            reports = await client.work_reports(ip_address="10.0.0.3")
            totals = await client.work_totals("worker")
            challenge = await client.liveliness_challenge()
            assert challenge.epoch > 0
            return addresses, len(reports), len(totals)

    assert asyncio.run(scenario()) == (ADDRESSES, 2, 5)
