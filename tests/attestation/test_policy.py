"""AttestationPolicy JSON, validation, measurement matching and the SecretVM registry import."""

import json

import pytest

from worker_manager.attestation import (
    AttestationPolicy,
    MeasurementSet,
    PolicyError,
    WorkerTypePolicy,
    measurement_sets_from_secretvm_csv,
    parse_quote,
)

from .conftest import DATA, load_quote_file

QUOTE_F = parse_quote(load_quote_file("secretvm/secretai_cpu_quote.txt"))
QUOTE_G = parse_quote(load_quote_file("secretvm/tdx_cpu_docker_check_quote.txt"))
REGISTRY = (DATA / "secretvm" / "tdx.csv").read_text()
ZERO = "00" * 48


def test_defaults() -> None:
    policy = AttestationPolicy()
    assert policy.allowed_tcb_statuses == ("UpToDate", "SWHardeningNeeded")
    assert policy.allow_debug is False
    assert policy.binding == "worker_key"
    assert policy.require_fresh_challenge is True
    assert policy.registration_mode == "reject"
    assert (policy.allow_dynamic_platform, policy.allow_cached_keys, policy.allow_smt) == (
        True,
        True,
        True,
    )
    assert policy.measurement_sets("anything") == ()
    assert not policy.requires_gpu("anything")


def test_json_round_trip_is_canonical() -> None:
    policy = AttestationPolicy(
        worker_types={
            "llm": WorkerTypePolicy(
                require_gpu=True,
                measurements=(
                    MeasurementSet(
                        label="x",
                        mrtd="AB" * 48,
                        rtmr0=ZERO,
                        rtmr1=ZERO,
                        rtmr2=ZERO,
                        rtmr3=ZERO,
                    ),
                ),
            )
        },
        rejected_advisories=("INTEL-SA-00615",),
        min_tcb_eval_data_number=17,
        max_collateral_age=30 * 86400,
        reattest_every_epochs=10,
        registration_mode="mark",
    )
    text = policy.to_json()
    assert json.loads(text)["worker_types"]["llm"]["measurements"][0]["mrtd"] == "ab" * 48
    again = AttestationPolicy.from_json(text)
    assert again == policy
    assert again.to_json() == text
    assert again.sha256 == policy.sha256
    assert list(json.loads(text)) == sorted(json.loads(text))


@pytest.mark.parametrize(
    "text",
    [
        '{"allowed_tcb_statuses": ["Revoked"]}',
        '{"allowed_tcb_statuses": ["OK"]}',
        '{"allowed_tcb_statuses": ["SW_HARDENING_NEEDED"]}',
        '{"binding": "none"}',  # fresh challenges need worker_key binding
        '{"binding": "magic", "require_fresh_challenge": false}',
        '{"registration_mode": "maybe"}',
        '{"unknown_field": 1}',
        '{"max_collateral_age": 0}',
        '{"max_collateral_age": 1180591620717411303424}',
        '{"reattest_every_epochs": 4611686018427387904}',
        '{"worker_types": {"x": {"measurements": [{"label": "l", "mrtd": "00", '
        '"rtmr0": "00", "rtmr1": "00", "rtmr2": "00"}]}}}',
        "not json",
    ],
)
def test_invalid_policies_are_refused(text: str) -> None:
    with pytest.raises(PolicyError):
        AttestationPolicy.from_json(text)


def test_optional_statuses_may_be_added() -> None:
    text = '{"allowed_tcb_statuses": ["UpToDate", "OutOfDate", "ConfigurationNeeded"]}'
    assert "OutOfDate" in AttestationPolicy.from_json(text).allowed_tcb_statuses


def test_measurement_matching_is_exact_and_zero_rtmr3_is_a_value() -> None:
    a = parse_quote(load_quote_file("dcap-qvl/tdx_quote"))
    assert a.rtmr3 == ZERO
    base = {"label": "a", "mrtd": a.mrtd, "rtmr0": a.rtmr0, "rtmr1": a.rtmr1, "rtmr2": a.rtmr2}
    assert MeasurementSet(**base).matches(a)
    assert MeasurementSet(**base, rtmr3=ZERO).matches(a)
    assert not MeasurementSet(**base, rtmr3="01" * 48).matches(a)
    assert MeasurementSet(**base, mr_config_id=ZERO).matches(a)
    assert not MeasurementSet(**dict(base, rtmr2=ZERO)).matches(a)


def test_mr_config_id_pins_a_dstack_compose_hash() -> None:
    e = parse_quote(load_quote_file("near-mpc/quote.json"))
    compose_hash = "2911e1f733466216dedb862d6d669e11256ee7a34ce4dbc66c4b807ba7a9c895"
    pinned = MeasurementSet(
        label="mpc",
        mrtd=e.mrtd,
        rtmr0=e.rtmr0,
        rtmr1=e.rtmr1,
        rtmr2=e.rtmr2,
        mr_config_id=("01" + compose_hash).ljust(96, "0"),
    )
    assert pinned.matches(e)


def test_secretvm_registry_import_labels_and_matches() -> None:
    sets = measurement_sets_from_secretvm_csv(REGISTRY)
    assert len(sets) > 50
    assert all(s.rtmr3 is None and s.mr_config_id is None for s in sets)
    assert len(set(sets)) == len(sets)
    assert [s.label for s in sets if s.matches(QUOTE_F)] == ["4xlarge_256GB_gpu/prod/v0.0.21"]
    assert sorted(s.label for s in sets if s.matches(QUOTE_G)) == [
        "small/dev/v0.0.25",
        "small/dev/v0.0.25-beta.2",
        "small/prod/v0.0.25",
        "small/prod/v0.0.25-beta.2",
    ]


def test_registry_errors_name_the_line() -> None:
    with pytest.raises(PolicyError, match="columns"):
        measurement_sets_from_secretvm_csv("a,b\n1,2\n")
    header = REGISTRY.splitlines()[0]
    with pytest.raises(PolicyError, match="line 2"):
        measurement_sets_from_secretvm_csv(header + "\nsmall,prod,v1,zz,00,00,00,x,y\n")
