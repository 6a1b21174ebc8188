"""A collateral store persisted to a directory, for the node (never used while verifying).

Layout: ``<root>/<fmspc>-<ca>/<sha256>.json``, each file holding one bundle's
canonical JSON (see :mod:`.collateral`), so the file name is the hash of its
content. Every version is kept. The directory is read once when the store is
opened; afterwards lookups are served from memory like
:class:`~.collateral_store.MemoryCollateralStore`, and additions are written
atomically (temporary file, then rename).
"""

import os
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

from worker_manager.attestation.collateral import CollateralBundle
from worker_manager.attestation.collateral_store import MemoryCollateralStore
from worker_manager.attestation.errors import AttestationError, Reason


class DirectoryCollateralStore(MemoryCollateralStore):
    """A :class:`MemoryCollateralStore` mirrored to a directory (see the module docstring)."""

    def __init__(self, root: Path) -> None:
        super().__init__()
        self.root = root
        for path in sorted(root.glob("*-*/*.json")):
            bundle = CollateralBundle.from_json(
                path.read_bytes(), ca=path.parent.name.partition("-")[2]
            )
            if bundle.sha256 != path.stem:
                raise AttestationError(
                    Reason.COLLATERAL_INVALID, f"{path} does not hash to its file name"
                )
            super().add(bundle)

    def add(self, bundle: CollateralBundle) -> bool:
        """Keep ``bundle`` and write it (atomically) unless already held."""
        if not super().add(bundle):
            return False
        folder = self.root / f"{bundle.fmspc}-{bundle.ca}"
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(bundle.canonical_json)
        os.replace(tmp, folder / f"{bundle.sha256}.json")
        return True

    def import_file(self, path: Path, *, ca: str | None = None) -> CollateralBundle:
        """Normalise a bundle file (dcap-qvl JSON layout) and keep it."""
        bundle = CollateralBundle.from_json(path.read_bytes(), ca=ca)
        self.add(bundle)
        return bundle


class WatchedCollateralDirectory:
    """A collateral directory for a running node: loaded once, and again only when its
    files change (a bundle imported or fetched while the node runs counts at once).

    Bundle files are named by their content's sha256, so the set of names says whether
    anything changed; listing it costs a directory scan, reading it all a parse of every
    bundle."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._names: tuple[str, ...] | None = None
        self._store = MemoryCollateralStore()

    def _current(self) -> MemoryCollateralStore:
        names = tuple(sorted(str(p.relative_to(self.root)) for p in self.root.glob("*-*/*.json")))
        if names != self._names:
            self._store = DirectoryCollateralStore(self.root)
            self._names = names
        return self._store

    def bundles_for(self, fmspc: str, ca: str) -> Sequence[CollateralBundle]:
        """Every bundle held for this key, as the directory holds them now."""
        return self._current().bundles_for(fmspc, ca)

    def __iter__(self) -> Iterator[CollateralBundle]:
        """Every bundle the directory holds now (every version of every platform)."""
        return iter(self._current())

    def add(self, bundle: CollateralBundle) -> bool:
        """Write ``bundle`` into the directory (atomically; False if already held): the
        collateral refresher's way in, counted at once like an imported bundle."""
        return DirectoryCollateralStore(self.root).add(bundle)
