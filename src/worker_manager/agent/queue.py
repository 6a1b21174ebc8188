"""Work reports waiting to be acknowledged, kept on disk so a restart loses none.

Each pending report is one JSON file in ``pending/``, written atomically
(temporary file, fsync, rename) before the agent sends it and removed only once
the node acknowledges it (committed, or refused as already filed). Reports the
node will never take are moved aside: to ``expired/`` when they fell out of the
contract's window (or were queued under another period length), to ``refused/``
when the contract refused them for good. ``reported.json`` remembers how far the
agent has queued, as a time (``queued_until``), so a restart neither skips nor
repeats a period and a change of the period length re-bases it.
"""

import json
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

log = logging.getLogger(__name__)

Aside = Literal["expired", "refused"]


@dataclass(frozen=True, slots=True)
class PendingReport:
    path: Path
    period: int
    #: The period length it was queued under; None if an older agent wrote it.
    period_seconds: int | None
    usage: list[dict[str, object]]


class ReportQueue:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.pending_dir = directory / "pending"
        self.pending_dir.mkdir(parents=True, exist_ok=True)
        for leftover in [*directory.glob(".tmp-*"), *self.pending_dir.glob(".tmp-*")]:
            leftover.unlink(missing_ok=True)  # a write cut short by a stop

    def _write(self, path: Path, data: Any) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)  # in case it was removed meanwhile
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(data, handle, sort_keys=True)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, path)
        finally:
            Path(temporary).unlink(missing_ok=True)  # left only by a write that failed

    # how far the agent has queued ----------------------------------------------

    def queued_until(self, period_seconds: int) -> int | None:
        """The end (Unix seconds) of the last period queued, or None on a first run.

        A file an older agent wrote holds ``last_period`` only; it is read in the
        current ``period_seconds``.
        """
        path = self.directory / "reported.json"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if "queued_until" in data:
                return int(data["queued_until"])
            return (int(data["last_period"]) + 1) * period_seconds
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning(
                "%s is unreadable (%s); starting from the period that just ended", path, exc
            )
            return None

    def set_queued_until(self, end: int, period: int, period_seconds: int) -> None:
        data = {"queued_until": end, "last_period": period, "period_seconds": period_seconds}
        self._write(self.directory / "reported.json", data)

    # pending reports -------------------------------------------------------------

    def add(self, period: int, period_seconds: int, usage: list[dict[str, object]]) -> None:
        data = {"period": period, "period_seconds": period_seconds, "usage": usage}
        self._write(self.pending_dir / f"{period}.json", data)

    def pending(self) -> list[PendingReport]:
        """Pending reports, oldest period first. An unreadable file is moved to refused/."""
        found = []
        for path in self.pending_dir.glob("*.json"):
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
                length = data.get("period_seconds")
                found.append(
                    PendingReport(
                        path=path,
                        period=int(data["period"]),
                        period_seconds=None if length is None else int(length),
                        usage=list(data["usage"]),
                    )
                )
            except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
                moved = self._move(path, "refused")
                log.error("pending report %s is unreadable (%s); moved to %s", path, exc, moved)
        return sorted(found, key=lambda report: report.period)

    def done(self, report: PendingReport) -> None:
        report.path.unlink(missing_ok=True)

    def set_aside(self, report: PendingReport, where: Aside) -> Path:
        """Move a report the node will never take to ``expired/`` or ``refused/``."""
        return self._move(report.path, where)

    def _move(self, path: Path, where: Aside) -> Path:
        folder = self.directory / where
        folder.mkdir(exist_ok=True)
        target = folder / path.name
        copy = 1
        while target.exists():  # an earlier report of the same number stays
            target = folder / f"{path.stem}.{copy}{path.suffix}"
            copy += 1
        if path.exists():
            shutil.move(str(path), str(target))
        return folder
