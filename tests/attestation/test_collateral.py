"""Collateral bundles: normalisation, hashing, validity windows, stores and selection."""

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from worker_manager.attestation import (
    AttestationError,
    CollateralBundle,
    DirectoryCollateralStore,
    FixedCollateral,
    MemoryCollateralStore,
    Reason,
    select_bundle,
)

from .conftest import DATA
from .synthetic import TestPki

A = "dcap-qvl/tdx_quote_collateral.json"
B = "dcap-qvl/tdx_quote_outdated_collateral.json"
C = "dcap-qvl/near-gas-test/quote_collateral.json"
E = "near-mpc/collateral.json"
QUOTE_FOR = {
    A: "dcap-qvl/tdx_quote",
    B: "dcap-qvl/tdx_quote_outdated",
    C: "dcap-qvl/near-gas-test/quote_hex.txt",
    E: "near-mpc/quote.json",
}


def ts(iso: str) -> int:
    return int(dt.datetime.fromisoformat(iso).timestamp())


def raw(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((DATA / name).read_text())
    return loaded


def code_of(text: str, **kwargs: Any) -> Reason:
    with pytest.raises(AttestationError) as info:
        CollateralBundle.from_json(text, **kwargs)
    return info.value.code


@pytest.mark.parametrize("name", [A, B, C, E])
def test_windows_match_the_readme(
    name: str, bundles: dict[str, CollateralBundle], expected: dict[str, Any]
) -> None:
    case = expected[QUOTE_FOR[name]]
    bundle = bundles[name]
    assert bundle.valid_from == ts(case["collateral_valid_from"])
    assert bundle.valid_until == ts(case["collateral_valid_until"])
    assert bundle.fmspc == case["fmspc"].lower()
    assert bundle.ca == "platform"
    assert bundle.is_valid_at(case["verify_at"])
    assert not bundle.is_valid_at(bundle.valid_until)  # the end is exclusive
    assert bundle.is_valid_at(bundle.valid_from)


def test_eval_number_is_the_lower_of_tcb_info_and_qe_identity(
    bundles: dict[str, CollateralBundle],
) -> None:
    assert bundles[A].tcb_eval_data_number == 17
    assert (
        json.loads(json.loads(bundles[E].canonical_json)["tcb_info"])["tcbEvaluationDataNumber"]
        == 20
    )
    assert bundles[E].tcb_eval_data_number == 19  # the QE identity's, as dcap-qvl reports


def test_canonical_json_round_trips_to_the_same_hash(bundles: dict[str, CollateralBundle]) -> None:
    for bundle in bundles.values():
        again = CollateralBundle.from_json(bundle.canonical_json)
        assert again == bundle
        assert bundle.to_dcap() is not None


def test_pck_certificate_chain_is_dropped() -> None:
    with_chain = raw(E)
    assert "pck_certificate_chain" in with_chain
    without = dict(with_chain)
    del without["pck_certificate_chain"]
    one = CollateralBundle.from_json(json.dumps(with_chain))
    two = CollateralBundle.from_json(json.dumps(without))
    assert one.sha256 == two.sha256
    assert "pck_certificate_chain" not in json.loads(one.canonical_json)


def test_root_ca_crl_as_hex_text_or_pem_normalises_to_the_same_bundle(
    bundles: dict[str, CollateralBundle],
) -> None:
    original = raw(A)
    der = bytes.fromhex(original["root_ca_crl"])
    quirk = dict(original, root_ca_crl=original["root_ca_crl"].encode().hex())  # hex of hex
    pem = x509.load_der_x509_crl(der).public_bytes(Encoding.PEM).decode()
    as_pem = dict(original, root_ca_crl=pem)
    upper = dict(original, root_ca_crl=original["root_ca_crl"].upper())
    for variant in (quirk, as_pem, upper):
        assert CollateralBundle.from_json(json.dumps(variant)).sha256 == bundles[A].sha256


def test_dcap_object_round_trip(bundles: dict[str, CollateralBundle]) -> None:
    bundle = bundles[C]
    assert CollateralBundle.from_dcap(bundle.to_dcap()).sha256 == bundle.sha256


def test_sgx_collateral_is_refused_as_a_mismatch() -> None:
    text = (DATA / "dcap-qvl" / "sgx_quote_collateral.json").read_text()
    assert code_of(text) is Reason.COLLATERAL_MISMATCH


@pytest.mark.parametrize(
    "change",
    [
        {"pck_crl": "zz"},
        {"pck_crl": "3000"},
        {"tcb_info_signature": "00"},
        {"tcb_info": "{not json"},
        {"tcb_info_issuer_chain": "no pem here"},
        {"unexpected": 1},
    ],
)
def test_broken_bundles_are_collateral_invalid(change: dict[str, object]) -> None:
    assert code_of(json.dumps(dict(raw(A), **change))) is Reason.COLLATERAL_INVALID


def test_missing_field_and_non_object() -> None:
    broken = raw(A)
    del broken["qe_identity"]
    assert code_of(json.dumps(broken)) is Reason.COLLATERAL_INVALID
    assert code_of("[]") is Reason.COLLATERAL_INVALID
    assert code_of("nope") is Reason.COLLATERAL_INVALID


def test_empty_window_is_refused() -> None:
    broken = raw(A)
    tcb = json.loads(broken["tcb_info"])
    tcb["nextUpdate"] = tcb["issueDate"]
    broken["tcb_info"] = json.dumps(tcb)
    assert code_of(json.dumps(broken)) is Reason.COLLATERAL_INVALID


def test_test_pki_bundles_need_an_explicit_ca(pki: TestPki) -> None:
    text = pki.collateral_json()
    assert code_of(text) is Reason.COLLATERAL_INVALID
    assert code_of(text, ca="somewhere") is Reason.COLLATERAL_INVALID
    assert CollateralBundle.from_json(text, ca="processor").ca == "processor"


def test_select_prefers_the_newest_bundle_valid_at_now(pki: TestPki) -> None:
    older = pki.collateral()
    newer = pki.collateral(tcb_status="UpToDate")  # same window, different bytes
    assert older.sha256 != newer.sha256
    now = older.valid_from + 10
    chosen = select_bundle([older, newer], now)
    assert chosen == min([older, newer], key=lambda b: b.sha256)  # tie: smallest sha256
    assert select_bundle([newer, older], now) == chosen


def test_select_reasons_when_nothing_is_valid(bundles: dict[str, CollateralBundle]) -> None:
    a = bundles[A]
    cases = [
        ([], 0, Reason.COLLATERAL_UNAVAILABLE),
        ([a], a.valid_from - 86400, Reason.COLLATERAL_NOT_YET_VALID),
        ([a], a.valid_until + 86400, Reason.COLLATERAL_EXPIRED),
        ([a], a.valid_until, Reason.COLLATERAL_EXPIRED),
    ]
    for candidates, now, code in cases:
        with pytest.raises(AttestationError) as info:
            select_bundle(candidates, now)
        assert info.value.code is code


def test_memory_store_keeps_versions_and_finds_by_hash(
    bundles: dict[str, CollateralBundle],
) -> None:
    store = MemoryCollateralStore()
    assert store.add(bundles[A])
    assert not store.add(bundles[A])
    assert store.add(bundles[E])  # same FMSPC and CA as A, a later version
    assert len(store) == 2
    assert set(store.bundles_for("B0C06F000000", "platform")) == {bundles[A], bundles[E]}
    assert store.bundles_for("b0c06f000000", "processor") == ()
    assert store.get(bundles[E].sha256) == bundles[E]
    assert store.get("0" * 64) is None
    assert select_bundle(store.bundles_for("b0c06f000000", "platform"), 1786622400) == bundles[E]


def test_directory_store_persists_and_reloads(tmp_path: Path, pki: TestPki) -> None:
    store = DirectoryCollateralStore(tmp_path)
    imported = store.import_file(DATA / A)
    assert store.add(pki.collateral())
    reopened = DirectoryCollateralStore(tmp_path)
    assert len(reopened) == 2
    assert reopened.get(imported.sha256) == imported
    files = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.json"))
    assert f"b0c06f000000-platform/{imported.sha256}.json" in files


def test_directory_store_refuses_a_file_that_does_not_match_its_name(
    tmp_path: Path, bundles: dict[str, CollateralBundle]
) -> None:
    store = DirectoryCollateralStore(tmp_path)
    bundle = store.import_file(DATA / A)
    path = tmp_path / f"b0c06f000000-platform/{bundle.sha256}.json"
    path.write_text(bundles[E].canonical_json)
    with pytest.raises(AttestationError):
        DirectoryCollateralStore(tmp_path)


def test_fixed_collateral_ignores_the_key(bundles: dict[str, CollateralBundle]) -> None:
    fixed = FixedCollateral(bundles[C])
    assert fixed.bundles_for("b0c06f000000", "platform") == (bundles[C],)


def test_a_watched_directory_loads_once_and_again_only_when_its_files_change(
    tmp_path: Path,
) -> None:
    from worker_manager.attestation.collateral_dir import WatchedCollateralDirectory

    bundle = CollateralBundle.from_json((DATA / A).read_bytes())
    watched = WatchedCollateralDirectory(tmp_path)
    assert watched.bundles_for(bundle.fmspc, bundle.ca) == ()
    first_store = watched._current()
    assert watched._current() is first_store, "nothing changed: nothing is read again"
    DirectoryCollateralStore(tmp_path).add(bundle)  # an import while the node runs
    assert [b.sha256 for b in watched.bundles_for(bundle.fmspc, bundle.ca)] == [bundle.sha256]
    assert watched._current() is not first_store
