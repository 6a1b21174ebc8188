"""Verdict JSON: canonical, round-trips, and refuses anything else."""

import json

import pytest

from worker_manager.attestation import (
    GpuChecks,
    GpuDevice,
    GpuVerdict,
    Reason,
    Verdict,
    VerdictStatus,
)
from worker_manager.attestation.verdict import status_for

GPU = GpuVerdict(
    status=VerdictStatus.VALID,
    reasons=(),
    message="ok",
    arch="HOPPER",
    nonce="ab" * 32,
    checks=GpuChecks(device_cert_chain="pass", fwid="absent"),
    devices=(GpuDevice(checks=GpuChecks(), mismatched_indexes=(7, 21), rim_sha256=None),),
)
VERDICT = Verdict(
    status=VerdictStatus.UNVERIFIED,
    reasons=("collateral_unavailable",),
    message="collateral_unavailable: none",
    verified_at=1751328000,
    quote_sha256="00" * 32,
    quote_version=4,
    debug=False,
    advisory_ids=("INTEL-SA-00615",),
    gpu=GPU,
)


def test_round_trip_and_canonical_form() -> None:
    text = VERDICT.to_json()
    assert Verdict.from_json(text) == VERDICT
    assert Verdict.from_json(text.encode()).to_json() == text
    obj = json.loads(text)
    assert obj["verdict_version"] == 1
    assert list(obj) == sorted(obj)
    assert obj["gpu"]["checks"]["ocsp"] == "unchecked"
    assert " " not in text.replace("collateral_unavailable: none", "")


@pytest.mark.parametrize(
    "change",
    [
        lambda o: o.pop("verdict_version"),
        lambda o: o.update(verdict_version=2),
        lambda o: o.update(status="maybe"),
        lambda o: o.update(verified_at="now"),
        lambda o: o.update(verified_at=True),
        lambda o: o.update(reasons="collateral_unavailable"),
        lambda o: o.update(extra=1),
        lambda o: o.pop("message"),
        lambda o: o["gpu"]["checks"].update(ocsp="good"),
        lambda o: o["gpu"].update(devices=[{}]),
    ],
)
def test_malformed_json_is_refused(change: object) -> None:
    obj = json.loads(VERDICT.to_json())
    assert callable(change)
    change(obj)
    with pytest.raises(ValueError):  # noqa: PT011 - any ValueError subclass
        Verdict.from_json(json.dumps(obj))


def test_status_is_the_worst_reason() -> None:
    assert status_for(()) is VerdictStatus.VALID
    assert status_for((Reason.COLLATERAL_EXPIRED,)) is VerdictStatus.UNVERIFIED
    assert (
        status_for((Reason.COLLATERAL_EXPIRED, Reason.MEASUREMENT_NOT_ALLOWED))
        is VerdictStatus.REJECTED
    )
    assert VERDICT.is_valid is False
