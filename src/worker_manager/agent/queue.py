"""Work reports waiting to be acknowledged, kept on disk so a restart loses none.

Each pending report is one JSON file, written atomically (temporary file, fsync,
rename) before the agent sends it and removed only once the node acknowledges
it (committed, or refused as already filed). ``reported.json`` remembers the
last period handled, so a restart neither skips nor repeats a period.
"""

import json
import os
import tempfile
from pathlib import Path
from typing import Any


class ReportQueue:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.pending_dir = directory / "pending"
        self.pending_dir.mkdir(parents=True, exist_ok=True)

    def _write(self, path: Path, data: Any) -> None:
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, sort_keys=True)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)

    def last_period(self) -> int | None:
        path = self.directory / "reported.json"
        if not path.exists():
            return None
        return int(json.loads(path.read_text())["last_period"])

    def set_last_period(self, period: int) -> None:
        self._write(self.directory / "reported.json", {"last_period": period})

    def add(self, period: int, usage: list[dict[str, object]]) -> None:
        self._write(self.pending_dir / f"{period}.json", {"period": period, "usage": usage})

    def pending(self) -> list[dict[str, Any]]:
        """Pending reports, oldest period first."""
        found = []
        for path in self.pending_dir.glob("*.json"):
            found.append(json.loads(path.read_text()))
        return sorted(found, key=lambda report: int(report["period"]))

    def done(self, period: int) -> None:
        (self.pending_dir / f"{period}.json").unlink(missing_ok=True)
