"""Fetch collateral from a PCCS (or Intel PCS): node side only.

This is the one module of the package that does network I/O, and nothing in
the verification path imports it. The node calls :func:`fetch_collateral` from
its event loop, outside the contract core, and adds the bundle to its
collateral store; verification then finds it there like an imported bundle.

dcap-qvl's ``get_collateral`` asks, under the configured base URL:
``/sgx/certification/v4/pckcrl?ca=…&encoding=der`` (issuer chain in the
``SGX-PCK-CRL-Issuer-Chain`` header), ``/tdx/certification/v4/tcb?fmspc=…``
(``TCB-Info-Issuer-Chain``), ``/tdx/certification/v4/qe/identity``
(``SGX-Enclave-Identity-Issuer-Chain``) and ``/sgx/certification/v4/rootcacrl``
(hex text, as Intel PCS serves it).
"""

import asyncio

import dcap_qvl

from worker_manager.attestation.collateral import CollateralBundle
from worker_manager.attestation.errors import AttestationError, Reason
from worker_manager.attestation.quote import parse_quote

INTEL_PCS_URL: str = dcap_qvl.INTEL_PCS_URL
DEFAULT_TIMEOUT = 30.0


async def fetch_collateral(
    pccs_url: str, quote: bytes, *, timeout: float = DEFAULT_TIMEOUT
) -> CollateralBundle:
    """Fetch and normalise the bundle for ``quote``'s FMSPC and CA.

    Raises AttestationError: the quote's own codes (``malformed_quote``,
    ``not_tdx`` …), ``collateral_unavailable`` when the PCCS fails or times out,
    ``collateral_invalid`` when its answer is not a usable bundle.
    """
    info = parse_quote(quote)
    try:
        fetched = await asyncio.wait_for(dcap_qvl.get_collateral(pccs_url, info.raw), timeout)
    except TimeoutError as exc:
        raise AttestationError(
            Reason.COLLATERAL_UNAVAILABLE, f"PCCS {pccs_url} did not answer in {timeout}s"
        ) from exc
    except (ValueError, RuntimeError) as exc:
        raise AttestationError(Reason.COLLATERAL_UNAVAILABLE, f"PCCS {pccs_url}: {exc}") from exc
    return CollateralBundle.from_dcap(fetched, ca=info.ca)
