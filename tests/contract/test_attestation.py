"""Attestation in the contract: the policy, verdicts at registration, reject or mark,
new reports, re-verification, re-attestation, and what is served. Synthetic quotes
from a test PKI bind the registration fields; real quotes check against Intel's root."""

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from tests.attestation.synthetic import TestPki
from tests.conftest import ADMIN, CHAIN_ID, OTHER, OWNER, WORKER_KEY, register_msg
from tests.contract.harness import ContractHarness
from tests.helpers import data, ex, q
from worker_manager.attestation import (
    CollateralBundle,
    MemoryCollateralStore,
    WorkerKeyBinding,
    expected_report_data,
)
from worker_manager.attestation.nvidia.rim import MemoryRimStore
from worker_manager.attestation.quote import parse_quote
from worker_manager.contract.error import (
    AttestationRefused,
    InvalidConfig,
    InvalidMessage,
    Unauthorized,
)
from worker_manager.node import Examiner, FixedClock, Node
from worker_manager.node.host_api import HostApi

DATA = Path(__file__).resolve().parents[1] / "data" / "attestation"
SEED = b"attestation test seed".ljust(32, b".")
IN_WINDOW = int(dt.datetime(2026, 6, 15, tzinfo=dt.UTC).timestamp())
API_WITH_SEED = HostApi(SEED)
KEY = WORKER_KEY.public_key.hex()


@pytest.fixture(scope="module")
def pki() -> TestPki:
    return TestPki.create()


@pytest.fixture
def clock() -> FixedClock:
    """Inside the test PKI's collateral window."""
    return FixedClock(IN_WINDOW * 10**9)


@pytest.fixture
def node(clock: FixedClock, pki: TestPki) -> ContractHarness:
    """The contract with a host that examines against the test PKI (never in production)."""
    examiner = Examiner(
        collateral=MemoryCollateralStore([pki.collateral()]),
        rims=MemoryRimStore(),
        test_root_ca_der=pki.root_der,
    )
    return ContractHarness(clock, API_WITH_SEED, chain_id=CHAIN_ID, admin=ADMIN, examiner=examiner)


@pytest.fixture
def synthetic(
    node: ContractHarness, clock: FixedClock
) -> tuple[ContractHarness, HostApi, FixedClock]:
    return node, API_WITH_SEED, clock


def measurements(raw: bytes) -> dict[str, Any]:
    quote = parse_quote(raw)
    return {
        "label": "image-1",
        "mrtd": quote.mrtd,
        "rtmr0": quote.rtmr0,
        "rtmr1": quote.rtmr1,
        "rtmr2": quote.rtmr2,
        "rtmr3": quote.rtmr3,
    }


def policy(allowed: bytes, **overrides: Any) -> dict[str, Any]:
    return {
        "worker_types": {"llama3.3:70b": {"measurements": [measurements(allowed)]}},
        "binding": "worker_key",
        "require_fresh_challenge": True,
        **overrides,
    }


def bound_quote(
    pki: TestPki,
    node: Node,
    api: HostApi,
    *,
    wallet: str = OWNER,
    key: str = KEY,
    epoch_offset: int = 0,
) -> str:
    epoch = node.clock.now_ns() // 10**9 // 60 + epoch_offset
    binding = WorkerKeyBinding(
        chain_id=CHAIN_ID,
        worker_pubkey=bytes.fromhex(key),
        payment_wallet=wallet,
        challenge=api.liveliness_challenge(epoch),
    )
    return pki.quote(expected_report_data(binding, gpu=False)).hex()


def register(node: Node, ip: str, report: str, **fields: Any) -> dict[str, Any]:
    msg = register_msg(ip, attestation_report=report, worker_public_key=KEY, **fields)
    return data(ex(node, ADMIN, msg))


def test_without_a_policy_reports_are_unchecked_and_served(node: Node) -> None:
    ex(node, ADMIN, register_msg("10.0.0.1"))
    found = q(node, {"get_worker": {"ip_address": "10.0.0.1"}})
    assert (found["attestation_status"], found["served"]) == ("unchecked", True)
    assert q(node, {"get_attestation_policy": {}}) == {"policy": None}


def test_a_bound_quote_verifies_and_the_verdict_is_shown(synthetic, pki: TestPki) -> None:
    node, api, _ = synthetic
    quote = bound_quote(pki, node, api)
    ex(node, ADMIN, {"set_attestation_policy": {"policy": policy(bytes.fromhex(quote))}})
    stored = q(node, {"get_attestation_policy": {}})["policy"]
    assert stored["binding"] == "worker_key"
    assert register(node, "10.0.0.1", quote)["attestation_status"] == "valid"
    found = q(node, {"get_worker": {"ip_address": "10.0.0.1"}})
    assert (found["attestation_status"], found["served"]) == ("valid", True)
    verdict = found["attestation_verdict"]
    assert verdict["status"] == "valid"
    assert verdict["mrtd"] == parse_quote(bytes.fromhex(quote)).mrtd
    assert verdict["tcb_status"] == "UpToDate"
    assert verdict["measurement_label"] == "image-1"
    assert verdict["verified_at"] == IN_WINDOW
    assert q(node, {"get_urls": {}})["urls"] == ["https://10.0.0.1"]


def test_the_previous_epochs_challenge_still_binds(synthetic, pki: TestPki) -> None:
    node, api, _ = synthetic
    quote = bound_quote(pki, node, api, epoch_offset=-1)
    ex(node, ADMIN, {"set_attestation_policy": {"policy": policy(bytes.fromhex(quote))}})
    assert register(node, "10.0.0.1", quote)["attestation_status"] == "valid"


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda pki, node, api: bound_quote(pki, node, api, wallet=OTHER), "binding_mismatch"),
        (
            lambda pki, node, api: bound_quote(pki, node, api, key="02" + "ab" * 32),
            "binding_mismatch",
        ),
        (lambda pki, node, api: bound_quote(pki, node, api, epoch_offset=-5), "binding_mismatch"),
        (lambda pki, node, api: bound_quote(pki, node, api)[:-200], "malformed_quote"),
    ],
    ids=["another-wallet", "another-key", "stale-challenge", "truncated"],
)
def test_a_quote_that_does_not_verify_is_refused_and_nothing_changes(
    synthetic, pki: TestPki, unchanged, make, reason: str
) -> None:
    node, api, _ = synthetic
    good = bytes.fromhex(bound_quote(pki, node, api))
    ex(node, ADMIN, {"set_attestation_policy": {"policy": policy(good)}})
    with unchanged(), pytest.raises(AttestationRefused) as err:
        register(node, "10.0.0.1", make(pki, node, api))
    assert reason in err.value.reasons


def test_measurements_off_the_allowlist_are_refused(synthetic, pki: TestPki, unchanged) -> None:
    node, api, _ = synthetic
    quote = bound_quote(pki, node, api)
    other = policy(bytes.fromhex(quote))
    other["worker_types"]["llama3.3:70b"]["measurements"][0]["mrtd"] = "00" * 48
    ex(node, ADMIN, {"set_attestation_policy": {"policy": other}})
    with unchanged(), pytest.raises(AttestationRefused) as err:
        register(node, "10.0.0.1", quote)
    assert "measurement_not_allowed" in err.value.reasons


def test_an_empty_report_registers_a_worker_not_attested_and_served_without_a_policy(
    synthetic, pki: TestPki
) -> None:
    """The original's own register_worker script sends "attestation_report": ""."""
    node, api, _ = synthetic
    ex(node, ADMIN, register_msg("10.0.0.1", attestation_report="", worker_type="llama3.3:70b"))
    found = q(node, {"get_worker": {"ip_address": "10.0.0.1"}})
    assert found["attestation_status"] == "not_attested"
    assert found["attestation_reasons"] == ["no_attestation_report"]
    assert (found["served"], found["not_served_because"]) == (True, [])
    assert q(node, {"get_u_r_ls": {"model": "llama3.3:70b"}}) == {"urls": ["https://10.0.0.1"]}
    # once a policy exists it is no longer served, and says why
    good = bytes.fromhex(bound_quote(pki, node, api))
    ex(node, ADMIN, {"set_attestation_policy": {"policy": policy(good, registration_mode="mark")}})
    found = q(node, {"get_worker": {"ip_address": "10.0.0.1"}})
    assert (found["served"], found["not_served_because"]) == (False, ["attestation_not_attested"])
    assert q(node, {"get_u_r_ls": {"model": "llama3.3:70b"}}) == {"urls": []}
    assert q(node, {"get_models": {}}) == {"models": []}
    ex(node, ADMIN, {"set_attestation_policy": {"policy": None}})
    assert q(node, {"get_u_r_ls": {"model": "llama3.3:70b"}}) == {"urls": ["https://10.0.0.1"]}


def test_an_empty_report_under_a_policy_is_refused_or_marked_as_the_policy_says(
    synthetic, pki: TestPki, unchanged
) -> None:
    node, api, _ = synthetic
    good = bytes.fromhex(bound_quote(pki, node, api))
    ex(node, ADMIN, {"set_attestation_policy": {"policy": policy(good)}})  # reject mode
    with unchanged(), pytest.raises(AttestationRefused, match="requires a report"):
        ex(node, ADMIN, register_msg("10.0.0.1", attestation_report=""))
    # a worker that was attested may not drop its report under a reject policy
    assert register(node, "10.0.0.3", bound_quote(pki, node, api))["attestation_status"] == "valid"
    with unchanged(), pytest.raises(AttestationRefused):
        ex(node, OWNER, {"set_worker_attestation": {"ip_address": "10.0.0.3",
                                                    "attestation_report": ""}})  # fmt: skip
    ex(node, ADMIN, {"set_attestation_policy": {"policy": policy(good, registration_mode="mark")}})
    outcome = data(ex(node, ADMIN, register_msg("10.0.0.2", attestation_report="")))
    assert outcome["attestation_status"] == "not_attested"
    found = q(node, {"get_worker": {"ip_address": "10.0.0.2"}})
    assert found["not_served_because"] == ["attestation_not_attested"]


def test_in_mark_mode_a_failing_worker_is_kept_but_never_served(synthetic, pki: TestPki) -> None:
    node, api, _ = synthetic
    good = bytes.fromhex(bound_quote(pki, node, api))
    ex(node, ADMIN, {"set_attestation_policy": {"policy": policy(good, registration_mode="mark")}})
    assert (
        register(node, "10.0.0.2", bound_quote(pki, node, api, wallet=OTHER))["attestation_status"]
        == "rejected"
    )
    found = q(node, {"get_worker": {"ip_address": "10.0.0.2"}})
    assert found["served"] is False
    assert found["not_served_because"] == ["attestation_rejected"]
    assert "binding_mismatch" in found["attestation_reasons"]
    assert q(node, {"get_urls": {}}) == {"urls": []}
    assert q(node, {"get_models": {}}) == {"models": []}


def test_a_new_report_replaces_the_old_and_reverify_follows_the_policy(
    synthetic, pki: TestPki, unchanged
) -> None:
    node, api, _ = synthetic
    quote = bound_quote(pki, node, api)
    ex(
        node,
        ADMIN,
        {
            "set_attestation_policy": {
                "policy": policy(bytes.fromhex(quote), registration_mode="mark")
            }
        },
    )
    register(node, "10.0.0.1", bound_quote(pki, node, api, wallet=OTHER))  # rejected, kept
    with unchanged(), pytest.raises(Unauthorized):
        ex(
            node,
            OTHER,
            {"set_worker_attestation": {"ip_address": "10.0.0.1", "attestation_report": quote}},
        )
    ex(
        node,
        OWNER,
        {"set_worker_attestation": {"ip_address": "10.0.0.1", "attestation_report": quote}},
    )
    assert q(node, {"get_worker": {"ip_address": "10.0.0.1"}})["served"] is True
    # the admin tightens the policy: nothing changes until the workers are re-verified
    tighter = policy(bytes.fromhex(quote), registration_mode="mark")
    tighter["worker_types"]["llama3.3:70b"]["measurements"][0]["rtmr1"] = "11" * 48
    ex(node, ADMIN, {"set_attestation_policy": {"policy": tighter}})
    assert q(node, {"get_worker": {"ip_address": "10.0.0.1"}})["served"] is True
    assert q(node, {"get_worker_addresses": {}}) == {
        "addresses": ["10.0.0.1"],
        "next_start_after": None,
    }
    result = data(ex(node, ADMIN, {"reverify_workers": {"ip_addresses": ["10.0.0.1"]}}))
    assert result == {"verified": 1, "statuses": {"rejected": 1}}
    found = q(node, {"get_worker": {"ip_address": "10.0.0.1"}})
    assert (found["attestation_status"], found["served"]) == ("rejected", False)
    with unchanged(), pytest.raises(Unauthorized):
        ex(node, OWNER, {"reverify_workers": {"ip_addresses": ["10.0.0.1"]}})


def test_re_attestation_is_required_every_n_epochs(synthetic, pki: TestPki) -> None:
    node, api, clock = synthetic
    quote = bound_quote(pki, node, api)
    ex(
        node,
        ADMIN,
        {
            "set_attestation_policy": {
                "policy": policy(bytes.fromhex(quote), reattest_every_epochs=2)
            }
        },
    )
    register(node, "10.0.0.1", quote)
    for _ in range(3):
        clock.advance(60)
        node.tick()
        ex(
            node,
            OWNER,
            {
                "report_liveliness": {
                    "ip_address": "10.0.0.1",
                    "challenge": q(node, {"get_liveliness_challenge": {}})["challenge"],
                    "signature": None,
                }
            },
        ) if False else None
    found = q(node, {"get_worker": {"ip_address": "10.0.0.1"}})
    assert "attestation_too_old" in found["not_served_because"]
    ex(
        node,
        OWNER,
        {
            "set_worker_attestation": {
                "ip_address": "10.0.0.1",
                "attestation_report": bound_quote(pki, node, api),
            }
        },
    )
    found = q(node, {"get_worker": {"ip_address": "10.0.0.1"}})
    assert "attestation_too_old" not in found["not_served_because"]


def test_a_bad_policy_is_refused(synthetic, unchanged) -> None:
    node, _, _ = synthetic
    for bad in (
        {"allowed_tcb_statuses": ["Revoked"]},
        {"binding": "magic"},
        {"unknown": 1},
        # numbers every later verification would compute with
        {"max_collateral_age": 2**62},
        {"min_tcb_eval_data_number": 2**40},
        {"reattest_every_epochs": 2**62},
    ):
        with unchanged(), pytest.raises(InvalidConfig):
            ex(node, ADMIN, {"set_attestation_policy": {"policy": bad}})
    # past 64 bits the message itself is refused, before the policy is read
    with unchanged(), pytest.raises(InvalidMessage):
        ex(node, ADMIN, {"set_attestation_policy": {"policy": {"max_collateral_age": 2**70}}})


def test_a_real_quote_verifies_against_intels_root() -> None:
    """Sample A at its fixed time, real collateral, Intel's root: valid; later: unverified."""
    expected = json.loads((DATA / "expected.json").read_text())
    case = next(c for c in expected["cases"] if c["id"] == "dcap-qvl/tdx_v4_uptodate")
    raw = (DATA / "dcap-qvl" / "tdx_quote").read_bytes()
    bundle = CollateralBundle.from_json((DATA / case["collateral"]).read_bytes())
    examiner = Examiner(collateral=MemoryCollateralStore([bundle]), rims=MemoryRimStore())
    clock = FixedClock(case["verify_at"] * 10**9)
    node = ContractHarness(clock, API_WITH_SEED, chain_id=CHAIN_ID, admin=ADMIN, examiner=examiner)
    ex(
        node,
        ADMIN,
        {
            "set_attestation_policy": {
                "policy": {
                    "worker_types": {"llama3.3:70b": {"measurements": [measurements(raw)]}},
                    "binding": "none",
                    "require_fresh_challenge": False,
                    "registration_mode": "mark",
                }
            }
        },
    )
    registered = data(ex(node, ADMIN, register_msg("10.0.0.1", attestation_report=raw.hex())))
    assert registered["attestation_status"] == "valid"
    clock.advance(60 * 86400)  # the collateral has expired
    ex(node, ADMIN, {"reverify_workers": {"ip_addresses": ["10.0.0.1"]}})
    found = q(node, {"get_worker": {"ip_address": "10.0.0.1"}})
    assert found["attestation_status"] in ("unverified", "rejected")
    assert found["served"] is False
