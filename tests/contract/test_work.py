"""Work reports: one per worker per period, signed like liveliness, totals and pages."""

import pytest

from tests.conftest import ADMIN, CHAIN_ID, OTHER, OWNER, OWNER_KEY, WORKER_KEY, register_msg
from tests.helpers import data, ex, q
from worker_manager.contract.error import (
    InvalidField,
    InvalidMessage,
    InvalidSignature,
    ReportAlreadyFiled,
    Unauthorized,
)
from worker_manager.contract.liveliness import work_sign_bytes
from worker_manager.node import FixedClock, Node

PERIOD = 3600
NOW_PERIOD = 1_767_225_600 // PERIOD


def usage(*lines: tuple[str, int, int, int]) -> list[dict[str, object]]:
    return [
        {"subscriber": s, "requests": r, "input_tokens": i, "output_tokens": o}
        for s, r, i, o in lines
    ]


def report(
    node: Node,
    ip: str,
    period: int,
    lines: list[dict[str, object]],
    sender: str = OWNER,
    signature: str | None = None,
) -> dict[str, object]:
    body: dict[str, object] = {"ip_address": ip, "period": period, "usage": lines}
    if signature is not None:
        body["signature"] = signature
    return data(ex(node, sender, {"report_work": body}))


@pytest.fixture
def workers(node: Node) -> None:
    ex(node, ADMIN, register_msg("10.0.0.1"))
    ex(node, ADMIN, register_msg("10.0.0.2", payment_wallet=OTHER))


def test_a_report_is_stored_once_and_a_second_is_refused(
    node: Node, workers: None, unchanged
) -> None:
    lines = usage(("02aa", 10, 1000, 500), ("02bb", 1, 5, 7))
    assert report(node, "10.0.0.1", NOW_PERIOD - 1, lines) == {
        "ip_address": "10.0.0.1",
        "period": NOW_PERIOD - 1,
        "lines": 2,
    }
    with unchanged(), pytest.raises(ReportAlreadyFiled) as err:
        report(node, "10.0.0.1", NOW_PERIOD - 1, usage(("02aa", 999, 0, 0)))
    assert (err.value.ip_address, err.value.period) == ("10.0.0.1", NOW_PERIOD - 1)
    found = q(node, {"get_work_reports": {"ip_address": "10.0.0.1"}})["reports"]
    assert len(found) == 1
    assert found[0]["usage"][0] == {
        "subscriber": "02aa",
        "requests": 10,
        "input_tokens": 1000,
        "output_tokens": 500,
    }
    assert found[0]["payment_wallet"] == OWNER


def test_totals_per_worker_subscriber_period_and_wallet(
    node: Node, workers: None, clock: FixedClock
) -> None:
    report(node, "10.0.0.1", NOW_PERIOD - 2, usage(("02aa", 1, 10, 20), ("02bb", 2, 20, 40)))
    report(node, "10.0.0.1", NOW_PERIOD - 1, usage(("02aa", 3, 30, 60)))
    report(node, "10.0.0.2", NOW_PERIOD - 1, usage(("02bb", 4, 40, 80)), sender=OTHER)

    def totals(by: str, **filters: object) -> list[dict[str, object]]:
        found: list[dict[str, object]] = q(node, {"get_work_totals": {"by": by, **filters}})[
            "totals"
        ]
        return found

    assert totals("worker") == [
        {"key": "10.0.0.1", "lines": 3, "requests": 6, "input_tokens": 60, "output_tokens": 120},
        {"key": "10.0.0.2", "lines": 1, "requests": 4, "input_tokens": 40, "output_tokens": 80},
    ]
    assert [(t["key"], t["requests"]) for t in totals("subscriber")] == [("02aa", 4), ("02bb", 6)]
    assert [(t["key"], t["requests"]) for t in totals("period")] == [
        (str(NOW_PERIOD - 2), 3),
        (str(NOW_PERIOD - 1), 7),
    ]
    assert [(t["key"], t["requests"]) for t in totals("wallet")] == sorted([(OWNER, 6), (OTHER, 4)])
    assert [t["requests"] for t in totals("worker", from_period=NOW_PERIOD - 1)] == [3, 4]
    assert [t["key"] for t in totals("worker", subscriber="02BB")] == ["10.0.0.1", "10.0.0.2"]
    assert totals("worker", ip_address="10.0.0.2")[0]["requests"] == 4
    with pytest.raises(InvalidField):
        totals("worker", from_period=5, to_period=4)
    with pytest.raises(InvalidMessage):
        totals("everything")


def test_totals_come_in_pages(node: Node, workers: None) -> None:
    report(node, "10.0.0.1", NOW_PERIOD - 3, usage(("02aa", 1, 0, 0)))
    report(node, "10.0.0.1", NOW_PERIOD - 2, usage(("02aa", 2, 0, 0)))
    report(node, "10.0.0.1", NOW_PERIOD - 1, usage(("02aa", 3, 0, 0)))
    first = q(node, {"get_work_totals": {"by": "period", "limit": 2}})
    assert [t["requests"] for t in first["totals"]] == [1, 2]
    assert first["next_start_after"] == str(NOW_PERIOD - 2)
    rest = q(
        node,
        {"get_work_totals": {"by": "period", "start_after": first["next_start_after"]}},
    )
    assert [t["requests"] for t in rest["totals"]] == [3]
    assert rest["next_start_after"] is None
    for bad in ({"limit": 0}, {"limit": 10_001}, {"start_after": "nope"}):
        with pytest.raises(InvalidField):
            q(node, {"get_work_totals": {"by": "period", **bad}})


def test_totals_past_2_63_are_exact_not_an_error(node: Node, workers: None) -> None:
    """Each count is at most 2**53 - 1, but a thousand of them sum past SQLite's 2**63."""
    big = 2**53 - 1
    lines = usage(*((f"02{i:04x}", big, big, 1) for i in range(1000)))
    report(node, "10.0.0.1", NOW_PERIOD - 2, lines)
    report(node, "10.0.0.1", NOW_PERIOD - 1, lines)
    totals = q(node, {"get_work_totals": {"by": "worker"}})["totals"]
    assert totals[0]["requests"] == 2000 * big > 2**63
    assert totals[0]["output_tokens"] == 2000
    assert q(node, {"get_work_totals": {"by": "period"}})["totals"][1]["input_tokens"] == 1000 * big


def test_reports_page_in_period_then_worker_order(node: Node, workers: None) -> None:
    report(node, "10.0.0.2", NOW_PERIOD - 2, usage(), sender=OTHER)
    report(node, "10.0.0.1", NOW_PERIOD - 1, usage())
    report(node, "10.0.0.1", NOW_PERIOD - 2, usage())
    first = q(node, {"get_work_reports": {"limit": 2}})["reports"]
    assert [(r["period"], r["ip_address"]) for r in first] == [
        (NOW_PERIOD - 2, "10.0.0.1"),
        (NOW_PERIOD - 2, "10.0.0.2"),
    ]
    rest = q(
        node,
        {"get_work_reports": {"start_after": {"period": NOW_PERIOD - 2, "ip_address": "10.0.0.2"}}},
    )["reports"]
    assert [(r["period"], r["ip_address"]) for r in rest] == [(NOW_PERIOD - 1, "10.0.0.1")]
    assert len(q(node, {"get_work_reports": {"period": NOW_PERIOD - 2}})["reports"]) == 2


@pytest.mark.parametrize(
    ("period", "lines", "field"),
    [
        (NOW_PERIOD, usage(), "period"),  # not ended yet
        (NOW_PERIOD - 49, usage(), "period"),  # too old
        (NOW_PERIOD - 1, usage(("02aa", 1, 1, 1), ("02AA", 1, 1, 1)), "usage[1].subscriber"),
        (NOW_PERIOD - 1, usage(("", 1, 1, 1)), "usage[0].subscriber"),
        (NOW_PERIOD - 1, usage(("02aa", 1, 2**60, 1)), "usage[0].input_tokens"),
    ],
)
def test_bad_reports_are_refused(
    node: Node, workers: None, unchanged, period: int, lines: list[dict[str, object]], field: str
) -> None:
    with unchanged(), pytest.raises(InvalidField) as err:
        report(node, "10.0.0.1", period, lines)
    assert err.value.field == field


@pytest.mark.parametrize("requests", [-1, 2**64, 2**70])
def test_counts_outside_0_to_2_63_are_not_even_parsed(
    node: Node, workers: None, unchanged, requests: int
) -> None:
    with unchanged(), pytest.raises(InvalidMessage) as err:
        report(node, "10.0.0.1", NOW_PERIOD - 1, usage(("02aa", requests, 1, 1)))
    assert "report_work.usage[0].requests" in err.value.message
    assert "out of range" in err.value.message


def test_only_the_owner_or_the_worker_key_reports(node: Node, workers: None, unchanged) -> None:
    with unchanged(), pytest.raises(Unauthorized):
        report(node, "10.0.0.1", NOW_PERIOD - 1, usage(), sender=OTHER)
    ex(node, ADMIN, register_msg("10.0.0.3", worker_public_key=WORKER_KEY.public_key.hex()))
    lines = usage(("02aa", 5, 50, 100))
    sign = work_sign_bytes(
        chain_id=CHAIN_ID,
        contract=node.identity.contract_address,
        ip_address="10.0.0.3",
        period=NOW_PERIOD - 1,
        usage=lines,
    )
    with unchanged(), pytest.raises(InvalidSignature):
        report(node, "10.0.0.3", NOW_PERIOD - 1, lines, signature=OWNER_KEY.sign(sign).hex())
    with unchanged(), pytest.raises(InvalidSignature):  # the signature covers the numbers
        report(
            node,
            "10.0.0.3",
            NOW_PERIOD - 1,
            usage(("02aa", 6, 50, 100)),
            signature=WORKER_KEY.sign(sign).hex(),
        )
    report(
        node, "10.0.0.3", NOW_PERIOD - 1, lines, sender=OTHER, signature=WORKER_KEY.sign(sign).hex()
    )
