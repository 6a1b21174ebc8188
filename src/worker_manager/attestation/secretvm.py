"""Import SecretVM's published image registry as allowed measurement sets.

SecretVM publishes one CSV row per VM image
(``template_name,vm_type,artifacts_ver,mrtd,rtmr0,rtmr1,rtmr2,rootfs_data,host_id``).
Each row becomes one :class:`~.policy.MeasurementSet` labelled
``template/vm_type/version`` (for example ``small/prod/v0.0.25``), pinning MRTD
and RTMR0-2. RTMR3 is per-instance on SecretVM, so it is left unpinned. Rows
that repeat the same label and measurements are kept once; one image may still
match several rows (different labels), which is expected.
"""

import csv
import io

from pydantic import ValidationError

from worker_manager.attestation.policy import MeasurementSet, PolicyError

REQUIRED_COLUMNS = ("template_name", "vm_type", "artifacts_ver", "mrtd", "rtmr0", "rtmr1", "rtmr2")


def measurement_sets_from_secretvm_csv(text: str) -> tuple[MeasurementSet, ...]:
    """One measurement set per registry row, in file order, duplicates dropped."""
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or ())]
    if missing:
        raise PolicyError(f"registry CSV lacks columns {missing}")
    result: list[MeasurementSet] = []
    seen: set[MeasurementSet] = set()
    for line, row in enumerate(reader, start=2):
        label = f"{row['template_name']}/{row['vm_type']}/{row['artifacts_ver']}"
        try:
            entry = MeasurementSet(
                label=label,
                mrtd=row["mrtd"],
                rtmr0=row["rtmr0"],
                rtmr1=row["rtmr1"],
                rtmr2=row["rtmr2"],
            )
        except ValidationError as exc:
            raise PolicyError(f"registry CSV line {line}: {exc}") from exc
        if entry not in seen:
            seen.add(entry)
            result.append(entry)
    return tuple(result)
