"""deploy/grafana/worker-manager.json and deploy/prometheus/alerts.yml parse, and every
metric they use is one a node's ``/metrics`` has."""

import json
import re
from pathlib import Path

import yaml
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import ADMIN, register_msg
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

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
DASHBOARD = DEPLOY / "grafana" / "worker-manager.json"
ALERTS = DEPLOY / "prometheus" / "alerts.yml"
METRIC = re.compile(r"\bworker_manager_[a-z0-9_]+")
SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum"), "gauge": ("",)}


def _exposed(setup: Setup) -> set[str]:
    """Every series name a scrape of this node offers (a family's, with its suffixes)."""
    setup.node.execute(ADMIN, register_msg("10.0.0.1"))
    text = setup.node.metrics.render().decode()
    return {
        family.name + suffix
        for family in text_string_to_metric_families(text)
        for suffix in SUFFIXES.get(family.type, ("",))
    }


def _dashboard_exprs() -> list[str]:
    board = json.loads(DASHBOARD.read_text())
    assert board["panels"]
    return [t["expr"] for panel in board["panels"] for t in panel["targets"]]


def _alert_exprs() -> list[str]:
    rules = yaml.safe_load(ALERTS.read_text())
    found = [rule for group in rules["groups"] for rule in group["rules"]]
    assert all({"alert", "expr", "labels", "annotations"} <= set(rule) for rule in found)
    return [str(rule["expr"]) for rule in found]


def test_the_dashboard_and_the_alerts_use_only_metrics_a_node_has(setup: Setup) -> None:
    exposed = _exposed(setup)
    used = {name for expr in _dashboard_exprs() + _alert_exprs() for name in METRIC.findall(expr)}
    assert used, "no metric found"
    assert used <= exposed, sorted(used - exposed)
    # and the alerts cover what docs/operations.md promises
    names = {
        rule["alert"] for g in yaml.safe_load(ALERTS.read_text())["groups"] for rule in g["rules"]
    }
    assert {
        "WorkerManagerNoServedWorkers",
        "WorkerManagerTxRefusals",
        "WorkerManagerSlowRequests",
        "WorkerManagerDatabaseErrors",
        "WorkerManagerCollateralExpiring",
    } <= names
