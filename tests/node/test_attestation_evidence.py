"""Attestation evidence in the node: examined before the block, recorded with the tx,
judged again from the log by a replay that reads no collateral."""

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.attestation.synthetic import TestPki
from tests.conftest import ADMIN, register_msg
from tests.contract.test_attestation import (
    KEY,
    SEED,
    bound_quote,
    policy,
    register,
)
from tests.helpers import ex
from tests.synthetic_node import trusting_node
from worker_manager.node import FixedClock, Node
from worker_manager.node.host_api import HostApi
from worker_manager.store import Store


@pytest.fixture(scope="module")
def pki() -> TestPki:
    return TestPki.create()


@pytest.fixture
def synthetic(store: Store, pki: TestPki) -> Iterator[tuple[Node, HostApi, FixedClock]]:
    """A node trusting the test PKI (never done in production), inside its collateral window."""
    node, api, clock = trusting_node(store, pki)
    yield node, api, clock
    node.close()


def test_evidence_is_recorded_and_a_replay_needs_no_collateral(
    synthetic, pki: TestPki, store: Store, tmp_path: Path
) -> None:
    """The node examines the quote before its block and records the evidence with the tx;
    replaying the log judges that evidence with a host that holds no collateral at all."""
    from worker_manager.node.replay import replay

    node, api, _ = synthetic
    quote = bound_quote(pki, node, api)
    ex(node, ADMIN, {"set_attestation_policy": {"policy": policy(bytes.fromhex(quote))}})
    outcome = ex(
        node, ADMIN, register_msg("10.0.0.1", attestation_report=quote, worker_public_key=KEY)
    )
    record = node.get_tx(outcome.hash)
    assert record is not None
    assert record.inputs is not None
    (given,) = json.loads(record.inputs)
    (evidence,) = given["evidence"].values()
    assert json.loads(evidence)["claims"]["tcb_status"] == "UpToDate"
    target = Store(f"sqlite:///{tmp_path / 'replay.db'}")
    target.migrate()
    try:
        report = replay(store, target, HostApi(SEED))  # a host with no collateral, no PKI
    finally:
        target.close()
    assert report.ok, report.mismatches


def test_a_report_checked_before_a_policy_existed_is_judged_not_examined(
    synthetic, pki: TestPki
) -> None:
    """A registration checked while no policy was set carries no evidence (nothing would
    be judged). If a policy reaches the chain before it, it is judged on what was
    examined, nothing: ``not_examined``, which a ``reject`` policy refuses."""
    from worker_manager.contract.msg import parse_execute
    from worker_manager.node.pending import ContractCall, PendingTx

    node, api, _ = synthetic
    quote = bound_quote(pki, node, api)
    msg = register_msg("10.0.0.2", attestation_report=quote, worker_public_key=KEY)
    checked_earlier = PendingTx(
        hash="AB" * 32,
        kind="internal",
        sender=ADMIN,
        calls=(ContractCall(msg=parse_execute(msg), msg_json=msg),),
    )
    ex(node, ADMIN, {"set_attestation_policy": {"policy": policy(bytes.fromhex(quote))}})
    node.pipeline.admit(checked_earlier)  # queued after the policy, never examined
    result = checked_earlier.future.result(10)
    assert result.error == "attestation_refused"
    assert "not_examined" in result.log
    # sent again, it is examined and verifies
    assert register(node, "10.0.0.2", quote)["attestation_status"] == "valid"


def test_a_reverification_is_examined_from_the_stored_reports(synthetic, pki: TestPki) -> None:
    """``reverify_workers`` carries no report: the node examines the stored ones of the
    workers it names before the block, and records that evidence with the tx."""
    node, api, _ = synthetic
    quote = bound_quote(pki, node, api)
    ex(node, ADMIN, {"set_attestation_policy": {"policy": policy(bytes.fromhex(quote))}})
    assert register(node, "10.0.0.3", quote)["attestation_status"] == "valid"
    outcome = ex(node, ADMIN, {"reverify_workers": {"ip_addresses": ["10.0.0.3"]}})
    record = node.get_tx(outcome.hash)
    assert record is not None
    assert record.inputs is not None
    (given,) = json.loads(record.inputs)
    assert len(given["evidence"]) == 1
    assert json.loads(outcome.data) == {"verified": 1, "statuses": {"valid": 1}}
