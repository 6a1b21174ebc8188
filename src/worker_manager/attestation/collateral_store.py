"""Where verification finds collateral: stores keyed by (FMSPC, CA), and the selection rule.

Verification only ever asks a :class:`CollateralSource` for the bundles of one
(FMSPC, CA) and then picks one with :func:`select_bundle` for the given
``now``. Stores keep every version they were given, so a replay of an old
transaction still finds the bundle it was verified with (by sha256).

* :class:`MemoryCollateralStore`: in memory (tests, the node's cache).
* :class:`~.collateral_dir.DirectoryCollateralStore` (its own module, as it
  touches the disk): the same, persisted to a directory.
* :class:`FixedCollateral`: one bundle whatever the key; for replays ("verify
  with exactly the bundle recorded in the verdict") and for tests.
"""

from collections.abc import Iterable, Iterator, Sequence
from typing import Protocol

from worker_manager.attestation.collateral import CollateralBundle
from worker_manager.attestation.errors import AttestationError, Reason


class CollateralSource(Protocol):
    """Anything that can list the bundles it holds for one (FMSPC, CA)."""

    def bundles_for(self, fmspc: str, ca: str) -> Sequence[CollateralBundle]:
        """Every bundle known for this key (lowercase fmspc), in any order."""
        ...


def select_bundle(bundles: Iterable[CollateralBundle], now: int) -> CollateralBundle:
    """The bundle to verify with at ``now``: valid then, newest first, deterministic.

    Among the valid bundles the one issued last wins; ties go to the higher TCB
    evaluation number, then the smaller sha256. Raises AttestationError:
    ``collateral_unavailable`` (none at all), ``collateral_expired`` (all ended
    before ``now``) or ``collateral_not_yet_valid`` (some start after ``now``).
    """
    candidates = list(bundles)
    if not candidates:
        raise AttestationError(Reason.COLLATERAL_UNAVAILABLE, "no collateral for this platform")
    valid = [b for b in candidates if b.is_valid_at(now)]
    if valid:
        return min(valid, key=lambda b: (-b.valid_from, -b.tcb_eval_data_number, b.sha256))
    if any(b.valid_from > now for b in candidates):
        first = min(b.valid_from for b in candidates if b.valid_from > now)
        raise AttestationError(
            Reason.COLLATERAL_NOT_YET_VALID,
            f"no bundle valid at {now}; the earliest starts at {first}",
        )
    last = max(b.valid_until for b in candidates)
    raise AttestationError(
        Reason.COLLATERAL_EXPIRED, f"no bundle valid at {now}; the newest ended at {last}"
    )


class MemoryCollateralStore:
    """Bundles in memory, several versions per (FMSPC, CA)."""

    def __init__(self, bundles: Iterable[CollateralBundle] = ()) -> None:
        self._by_key: dict[tuple[str, str], dict[str, CollateralBundle]] = {}
        for bundle in bundles:
            self.add(bundle)

    def add(self, bundle: CollateralBundle) -> bool:
        """Keep ``bundle``; False when the same bytes were already held."""
        versions = self._by_key.setdefault((bundle.fmspc, bundle.ca), {})
        if bundle.sha256 in versions:
            return False
        versions[bundle.sha256] = bundle
        return True

    def bundles_for(self, fmspc: str, ca: str) -> Sequence[CollateralBundle]:
        """Every version held for this key."""
        return tuple(self._by_key.get((fmspc.lower(), ca.lower()), {}).values())

    def get(self, sha256: str) -> CollateralBundle | None:
        """The bundle with this sha256, for replays."""
        for versions in self._by_key.values():
            if sha256 in versions:
                return versions[sha256]
        return None

    def __iter__(self) -> Iterator[CollateralBundle]:
        return iter([b for v in self._by_key.values() for b in v.values()])

    def __len__(self) -> int:
        return sum(len(v) for v in self._by_key.values())


class FixedCollateral:
    """Always offers the same bundle, whatever the quote's FMSPC and CA."""

    def __init__(self, bundle: CollateralBundle) -> None:
        self.bundle = bundle

    def bundles_for(self, fmspc: str, ca: str) -> Sequence[CollateralBundle]:
        """The one bundle (dcap-qvl will still reject it if the FMSPC differs)."""
        return (self.bundle,)
