"""fetch_collateral against a tiny PCCS served on 127.0.0.1 from the stored sample collateral."""

import asyncio
from collections.abc import Iterator

import pytest

from worker_manager.attestation import AttestationError, CollateralBundle, Reason
from worker_manager.attestation.pccs import fetch_collateral

from .conftest import DATA, load_quote_file
from .fake_pccs import FakePccs, fake_pccs


@pytest.fixture
def pccs() -> Iterator[FakePccs]:
    """The fake PCCS serving the stored sample collateral."""
    with fake_pccs((DATA / "dcap-qvl" / "tdx_quote_collateral.json").read_text()) as state:
        yield state


def test_fetch_returns_the_same_bundle_as_the_import(
    pccs: FakePccs, bundles: dict[str, CollateralBundle]
) -> None:
    quote = load_quote_file("dcap-qvl/tdx_quote")
    bundle = asyncio.run(fetch_collateral(pccs.url, quote, timeout=20))
    assert bundle == bundles["dcap-qvl/tdx_quote_collateral.json"]
    assert any("fmspc=B0C06F000000" in p for p in pccs.paths)
    assert any(p.startswith("/sgx/certification/v4/pckcrl?ca=platform") for p in pccs.paths)


def test_pccs_errors_are_collateral_unavailable(pccs: FakePccs) -> None:
    pccs.down = True
    with pytest.raises(AttestationError) as info:
        asyncio.run(fetch_collateral(pccs.url, load_quote_file("dcap-qvl/tdx_quote"), timeout=20))
    assert info.value.code is Reason.COLLATERAL_UNAVAILABLE
    assert "HTTP 503" in info.value.message


def test_only_tdx_quotes_are_fetched_for(pccs: FakePccs) -> None:
    with pytest.raises(AttestationError) as info:
        asyncio.run(fetch_collateral(pccs.url, load_quote_file("dcap-qvl/sgx_quote")))
    assert info.value.code is Reason.NOT_TDX
    assert pccs.paths == []
