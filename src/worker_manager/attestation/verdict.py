"""Verdicts: the frozen, JSON-stable record of one verification.

A :class:`Verdict` is stored with the worker and shown in queries. Its JSON
(:meth:`Verdict.to_json`) has sorted keys, no whitespace and a
``verdict_version``, so equal verdicts serialise to equal bytes and a replay can
be compared byte for byte. Hex values are lowercase; times are unix seconds.

``quote_sha256`` hashes the canonical quote bytes; ``quote_body_sha256`` hashes
header || TD report, the part the attestation key signs, and is the one to
de-duplicate on (see :mod:`.quote`).

Status: ``valid`` only when every check passed; ``rejected`` when any reason is
a rejecting one; otherwise ``unverified`` (see :mod:`.errors`).

GPU checks report one of: ``pass``, ``fail``, ``skipped`` (an earlier check
failed), ``unavailable`` (no input to check against, e.g. no RIM), ``absent``
(the evidence does not carry the value, e.g. no FWID) and ``unchecked`` (we
cannot check it offline at all: ``ocsp`` and ``vbios_rim`` are always this).
"""

import dataclasses
import json
import types
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

from worker_manager.attestation.errors import Reason, is_unverified

VERDICT_VERSION = 1
CheckResult = Literal["pass", "fail", "skipped", "unavailable", "absent", "unchecked"]


class VerdictStatus(StrEnum):
    """The outcome of a verification."""

    VALID = "valid"
    REJECTED = "rejected"
    UNVERIFIED = "unverified"


def status_for(reasons: tuple[Reason, ...]) -> VerdictStatus:
    """Worst status over ``reasons``: rejected > unverified > valid."""
    if any(not is_unverified(r) for r in reasons):
        return VerdictStatus.REJECTED
    if reasons:
        return VerdictStatus.UNVERIFIED
    return VerdictStatus.VALID


@dataclass(frozen=True, slots=True)
class GpuChecks:
    """Which GPU checks ran and how each ended (values in the module docstring)."""

    device_cert_chain: CheckResult = "skipped"
    fwid: CheckResult = "skipped"
    spdm_signature: CheckResult = "skipped"
    nonce: CheckResult = "skipped"
    driver_rim: CheckResult = "skipped"
    vbios_rim: CheckResult = "unchecked"
    ocsp: CheckResult = "unchecked"


@dataclass(frozen=True, slots=True)
class GpuDevice:
    """The result for one GPU of the worker."""

    checks: GpuChecks
    reasons: tuple[str, ...] = ()
    driver_version: str = ""
    vbios_version: str = ""
    fwid: str = ""
    rim_sha256: str | None = None
    measurements_compared: int = 0
    mismatched_indexes: tuple[int, ...] = ()
    ignored_indexes: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class GpuVerdict:
    """The GPU half of a verdict; ``checks`` is the worst result over all devices."""

    status: VerdictStatus
    reasons: tuple[str, ...]
    message: str
    arch: str
    nonce: str
    checks: GpuChecks
    devices: tuple[GpuDevice, ...]


@dataclass(frozen=True, slots=True)
class Verdict:
    """Everything decided about one attestation report at ``verified_at``."""

    status: VerdictStatus
    reasons: tuple[str, ...]
    message: str
    verified_at: int
    quote_sha256: str | None = None
    quote_body_sha256: str | None = None
    quote_version: int | None = None
    mrtd: str | None = None
    rtmr0: str | None = None
    rtmr1: str | None = None
    rtmr2: str | None = None
    rtmr3: str | None = None
    mr_config_id: str | None = None
    report_data: str | None = None
    td_attributes: str | None = None
    debug: bool | None = None
    fmspc: str | None = None
    tcb_status: str | None = None
    advisory_ids: tuple[str, ...] = ()
    tcb_eval_data_number: int | None = None
    tcb_date: int | None = None
    measurement_label: str | None = None
    binding: str | None = None
    event_log_verified: bool | None = None
    gpu: GpuVerdict | None = None
    collateral_sha256: str | None = None
    collateral_valid_from: int | None = None
    collateral_valid_until: int | None = None
    policy_sha256: str | None = None

    @property
    def is_valid(self) -> bool:
        """True only for status ``valid``."""
        return self.status is VerdictStatus.VALID

    def to_json(self) -> str:
        """Canonical JSON: sorted keys, compact, with ``verdict_version``."""
        return dump_versioned(self, "verdict_version", VERDICT_VERSION)

    @classmethod
    def from_json(cls, text: str | bytes) -> "Verdict":
        """Inverse of :meth:`to_json`; raises ValueError for anything else."""
        result = load_versioned(
            cls, text, "verdict_version", VERDICT_VERSION, f"a version {VERDICT_VERSION} verdict"
        )
        if not isinstance(result, Verdict):  # pragma: no cover - load_versioned builds cls
            raise TypeError("not a verdict")
        return result


def dump_versioned(record: Any, version_key: str, version: int) -> str:
    """A frozen dataclass as canonical JSON (sorted keys, compact) with its version, so a
    later reader can tell the shape it was written in."""
    obj = dataclasses.asdict(record)
    obj[version_key] = version
    return json.dumps(obj, sort_keys=True, separators=(",", ":"))


def load_versioned(cls: type, text: str | bytes, version_key: str, version: int, what: str) -> Any:
    """Inverse of :func:`dump_versioned`; raises ValueError for anything but ``what``."""
    obj = json.loads(text)
    if not isinstance(obj, dict) or obj.pop(version_key, None) != version:
        raise ValueError(f"not {what}")
    return _load(cls, obj)


def _load(cls: type, obj: object) -> Any:
    """Build the frozen dataclass ``cls`` from JSON ``obj``, checking every field's type
    (nested dataclasses too); used for verdicts and for evidence (:mod:`.evidence`)."""
    if not isinstance(obj, dict):
        raise ValueError(f"{cls.__name__} must be a JSON object")
    names = {f.name for f in dataclasses.fields(cls)}
    if set(obj) != names:
        raise ValueError(f"{cls.__name__} fields differ: {sorted(set(obj) ^ names)}")
    hints = get_type_hints(cls)
    return cls(**{name: _convert(hints[name], obj[name], name) for name in names})


def _convert(tp: Any, value: object, name: str) -> object:
    origin = get_origin(tp)
    if origin in (Union, types.UnionType):
        if value is None:
            return None
        (inner,) = [a for a in get_args(tp) if a is not type(None)]
        return _convert(inner, value, name)
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return _load(tp, value)
    if origin is tuple:
        if not isinstance(value, list):
            raise ValueError(f"{name} must be a list")
        (item,) = {a for a in get_args(tp) if a is not Ellipsis}
        return tuple(_convert(item, v, name) for v in value)
    _check_scalar(tp, value, name)
    return VerdictStatus(str(value)) if tp is VerdictStatus else value


def _check_scalar(tp: Any, value: object, name: str) -> None:
    if get_origin(tp) is Literal:
        allowed = get_args(tp)
    elif tp is VerdictStatus:
        allowed = tuple(s.value for s in VerdictStatus)
    else:
        allowed = None
    if allowed is not None:
        if value not in allowed:
            raise ValueError(f"{name} must be one of {allowed}")
    elif (tp is int and isinstance(value, bool)) or not isinstance(value, tp):
        raise ValueError(f"{name} must be {tp.__name__}")
