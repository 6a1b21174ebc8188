"""The attestation material a home keeps, and checking a report against it offline.

A home holds Intel collateral bundles (``HOME/collateral``, imported or fetched
from a PCCS) and signed NVIDIA driver RIMs (``HOME/rims``). The node examines
reports with them (:func:`worker_manager.node.bootstrap.examiner`); an operator
checks a report offline with :func:`verify_report` before sending it.
"""

import asyncio
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from worker_manager.application.errors import BadInput, Failed
from worker_manager.attestation import (
    AttestationError,
    AttestationPolicy,
    CollateralBundle,
    DirectoryCollateralStore,
    MemoryCollateralStore,
    Verdict,
    decode_report,
    verify_attestation,
)
from worker_manager.attestation.nvidia.rim import DriverRim, MemoryRimStore, load_driver_rim
from worker_manager.attestation.pccs import fetch_collateral
from worker_manager.attestation.policy import MeasurementSet, PolicyError, WorkerTypePolicy
from worker_manager.attestation.quote import parse_quote
from worker_manager.client import Client
from worker_manager.contract.attestation import MAX_REVERIFY_BATCH
from worker_manager.home import ensure_home
from worker_manager.node.bootstrap import COLLATERAL_DIR, RIMS_DIR, load_rims


def _folder(home: Path, name: str) -> Path:
    ensure_home(home)
    path = home / name
    path.mkdir(exist_ok=True)
    return path


def import_collateral(
    home: Path, texts: Sequence[tuple[str, str]], *, ca: str | None = None
) -> Iterator[CollateralBundle]:
    """Keep each ``(name, JSON text)`` bundle in the home: all are checked before any is kept."""
    bundles = []
    for name, text in texts:
        try:
            bundles.append(CollateralBundle.from_json(text, ca=ca))
        except AttestationError as exc:
            raise Failed(f"{name}: {exc}") from exc
    store = DirectoryCollateralStore(_folder(home, COLLATERAL_DIR))
    for bundle in bundles:
        store.add(bundle)
        yield bundle


def fetch_collateral_into(home: Path, report: str, pccs: str) -> CollateralBundle:
    """Fetch the bundle for the report's platform from a PCCS and keep it in the home."""
    try:
        quote = decode_report(report).quote
        bundle = asyncio.run(fetch_collateral(pccs, quote))
    except (OSError, AttestationError) as exc:
        raise Failed(str(exc)) from exc
    DirectoryCollateralStore(_folder(home, COLLATERAL_DIR)).add(bundle)
    return bundle


def import_rim(home: Path, name: str, data: bytes) -> DriverRim:
    """Check a signed driver RIM and keep it in the home under ``name``."""
    try:
        rim = load_driver_rim(data)
    except AttestationError as exc:
        raise Failed(f"{name}: {exc}") from exc
    (_folder(home, RIMS_DIR) / name).write_bytes(data)
    return rim


def own_measurements_policy(report: str, worker_type: str) -> AttestationPolicy:
    """A policy that allows the quote's own measurements: check the crypto and TCB only."""
    quote = parse_quote(decode_report(report).quote)
    own = MeasurementSet(
        label="this quote",
        mrtd=quote.mrtd,
        rtmr0=quote.rtmr0,
        rtmr1=quote.rtmr1,
        rtmr2=quote.rtmr2,
        rtmr3=quote.rtmr3,
    )
    return AttestationPolicy(
        worker_types={worker_type: WorkerTypePolicy(measurements=(own,))},
        binding="none",
        require_fresh_challenge=False,
        gpu_require_driver_rim=False,
    )


@dataclass(frozen=True, slots=True)
class OfflineCheck:
    """What to check a report against, besides the home's own collateral and RIMs."""

    collateral_texts: Sequence[tuple[str, str]] = ()
    policy_text: str | None = None
    worker_type: str = "any"


def verify_report(home: Path, report: str, check: OfflineCheck, *, now: int) -> Verdict:
    """Verify ``report`` offline at ``now`` with the home's bundles and RIMs (read, never
    written) plus ``check``'s bundles, under ``check``'s policy (default: the quote's own
    measurements, so only the crypto and the TCB are judged)."""
    bundles = home / COLLATERAL_DIR
    store = MemoryCollateralStore(
        list(DirectoryCollateralStore(bundles)) if bundles.is_dir() else ()
    )
    for name, text in check.collateral_texts:
        try:
            store.add(CollateralBundle.from_json(text))
        except AttestationError as exc:
            raise BadInput(f"{name}: {exc}") from exc
    try:
        policy = (
            AttestationPolicy.from_json(check.policy_text)
            if check.policy_text is not None
            else own_measurements_policy(report, check.worker_type)
        )
    except PolicyError as exc:
        raise BadInput(f"policy: {exc}") from exc
    except AttestationError as exc:
        raise Failed(str(exc)) from exc
    rims: MemoryRimStore = load_rims(home / RIMS_DIR)
    return verify_attestation(
        report,
        collateral=store,
        now=now,
        policy=policy,
        worker_type=check.worker_type,
        rims=rims,
    )


def reverify_workers(
    client: Client, addresses: Sequence[str] | None = None
) -> tuple[int, dict[str, int]]:
    """Have the contract verify workers' reports again (every worker when ``addresses`` is
    None), 200 per tx as the contract takes them; (how many, count per verdict status)."""
    todo = list(addresses) if addresses is not None else list(client.worker_addresses())
    totals: dict[str, int] = {}
    for start in range(0, len(todo), MAX_REVERIFY_BATCH):
        result = client.execute(
            {"reverify_workers": {"ip_addresses": todo[start : start + MAX_REVERIFY_BATCH]}}
        )
        for status, count in (result.data or {}).get("statuses", {}).items():
            totals[status] = totals.get(status, 0) + int(count)
    return len(todo), totals
