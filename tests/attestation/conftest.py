"""Shared fixtures: the real samples, their expectations, collateral, RIMs and a test PKI."""

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from worker_manager.attestation import (
    AttestationPolicy,
    CollateralBundle,
    MeasurementSet,
    MemoryCollateralStore,
    MemoryRimStore,
    WorkerTypePolicy,
    parse_quote,
)

from .synthetic import TestPki

DATA = Path(__file__).resolve().parents[1] / "data" / "attestation"
WORKER_TYPE = "llm"


def load_quote_file(relative: str) -> bytes:
    """A sample quote as bytes, whatever its on-disk encoding."""
    path = DATA / relative
    if relative.endswith(".txt"):
        return bytes.fromhex(path.read_text().strip())
    if relative.endswith(".json"):
        return bytes(json.loads(path.read_text()))
    return path.read_bytes()


@pytest.fixture(scope="session")
def expected() -> dict[str, dict[str, Any]]:
    """expected.json's TDX cases keyed by quote path (e.g. ``dcap-qvl/tdx_quote``)."""
    cases = json.loads((DATA / "expected.json").read_text())["cases"]
    return {case["quote"]: case for case in cases}


@pytest.fixture(scope="session")
def bundles() -> dict[str, CollateralBundle]:
    """Every real TDX collateral bundle, keyed by its file path."""
    names = (
        "dcap-qvl/tdx_quote_collateral.json",
        "dcap-qvl/tdx_quote_outdated_collateral.json",
        "dcap-qvl/near-gas-test/quote_collateral.json",
        "near-mpc/collateral.json",
    )
    return {n: CollateralBundle.from_json((DATA / n).read_bytes()) for n in names}


@pytest.fixture
def collateral_store(bundles: dict[str, CollateralBundle]) -> MemoryCollateralStore:
    """A store holding all real TDX bundles."""
    return MemoryCollateralStore(bundles.values())


@pytest.fixture(scope="session")
def rims() -> MemoryRimStore:
    """The real, signed 550.144.03 GH100 driver RIM."""
    store = MemoryRimStore()
    store.add_xml((DATA / "nvidia" / "NV_GPU_DRIVER_GH100_550.144.03.xml").read_bytes())
    return store


@pytest.fixture(scope="session")
def pki() -> TestPki:
    """One throw-away Intel look-alike for the whole session (key generation is cheap)."""
    return TestPki.create()


def allow_quotes(*quotes: bytes, **overrides: Any) -> AttestationPolicy:
    """A policy allowing exactly these quotes' MRTD/RTMR0-3 for WORKER_TYPE."""
    sets = []
    for i, raw in enumerate(quotes):
        q = parse_quote(raw)
        sets.append(
            MeasurementSet(
                label=f"set-{i}",
                mrtd=q.mrtd,
                rtmr0=q.rtmr0,
                rtmr1=q.rtmr1,
                rtmr2=q.rtmr2,
                rtmr3=q.rtmr3,
            )
        )
    fields: dict[str, Any] = {
        "binding": "none",
        "require_fresh_challenge": False,
        "worker_types": {WORKER_TYPE: WorkerTypePolicy(measurements=tuple(sets))},
    }
    fields.update(overrides)
    return AttestationPolicy(**fields)


@pytest.fixture
def policy_for() -> Callable[..., AttestationPolicy]:
    """``policy_for(quote_bytes, ..., **overrides)``: see :func:`allow_quotes`."""
    return allow_quotes
