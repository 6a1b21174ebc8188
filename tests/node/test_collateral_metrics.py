"""The collateral's age and time to nextUpdate in ``/metrics`` (the refresher's own
behaviour is tests/node/test_collateral_refresh.py's)."""

import datetime as dt

from prometheus_client.parser import text_string_to_metric_families

from tests.attestation.fake_pccs import FakePccs
from tests.node import test_collateral_refresh as refresh
from tests.node.test_collateral_refresh import Setup

# the refresher's fixtures: a node trusting a test PKI, its collateral, a fake PCCS
pki, bundle_a, json_b, pccs, setup = (
    refresh.pki,
    refresh.bundle_a,
    refresh.json_b,
    refresh.pccs,
    refresh.setup,
)


def test_the_collateral_gauges_are_the_nodes_collateral_health(setup: Setup) -> None:
    health = setup.node.collateral_health()
    assert health is not None
    assert health.oldest_age_s is not None
    assert health.next_update_in_s is not None
    samples = {
        sample.name: sample.value
        for family in text_string_to_metric_families(setup.node.metrics.render().decode())
        for sample in family.samples
    }
    assert samples["worker_manager_collateral_age_seconds"] == health.oldest_age_s
    assert samples["worker_manager_collateral_next_update_seconds"] == health.next_update_in_s


def test_a_failed_refresh_shows_as_zero(setup: Setup, pccs: FakePccs) -> None:
    pccs.down = True
    setup.at(dt.datetime(2026, 6, 29, tzinfo=dt.UTC))  # two days before the bundle ends
    assert setup.refresher.refresh_once().failed
    text = setup.node.metrics.render().decode()
    assert "worker_manager_collateral_last_refresh_ok 0.0" in text
    assert "worker_manager_collateral_next_update_seconds 172800.0" in text
