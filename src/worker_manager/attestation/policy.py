"""The admin's attestation policy: what a worker's TD must prove to be accepted.

The policy lives in contract config, so it round-trips through JSON
(:meth:`AttestationPolicy.to_json` is canonical: sorted keys, compact) and its
sha256 is stored with each verdict. Example::

    {
      "worker_types": {
        "llm-h100": {
          "require_gpu": true,
          "measurements": [
            {"label": "4xlarge_256GB_gpu/prod/v0.0.21",
             "mrtd": "ba87…109e", "rtmr0": "6fd4…2539", "rtmr1": "b918…d076",
             "rtmr2": "b354…da5c"}
          ]
        }
      },
      "allowed_tcb_statuses": ["UpToDate", "SWHardeningNeeded"],
      "binding": "worker_key",
      "require_fresh_challenge": true
    }

Field meanings (defaults in brackets):

* ``worker_types``: per worker type, the allowed measurement sets (a quote must
  match one exactly; ``rtmr3`` and ``mr_config_id`` are compared only when set)
  and ``require_gpu`` [false]. An unknown worker type allows nothing.
* ``allowed_tcb_statuses`` [UpToDate, SWHardeningNeeded]: ``Revoked`` is refused
  here and by dcap-qvl. No grace period is modelled yet: an admin who adds
  ``OutOfDate`` accepts it indefinitely.
* ``rejected_advisories`` []: Intel advisory IDs that always reject.
* ``min_tcb_eval_data_number`` [none]: collateral below it leaves the verdict unverified.
* ``max_collateral_age`` [none]: seconds since the bundle's issue; older is unverified.
* ``allow_debug`` [false]: dcap-qvl 0.7.0 refuses debug TDs itself, so ``true``
  cannot make a debug TD valid; it only drops our own duplicate check.
* ``allow_dynamic_platform``, ``allow_cached_keys``, ``allow_smt`` [true]: real
  cloud hosts report all three.
* ``binding`` ["worker_key"]: ``worker_key`` (ours, see :mod:`.binding`),
  ``secretvm_tls`` (report_data[0:32] = sha256 of the TLS key) or ``none``.
* ``require_fresh_challenge`` [true]: the bound challenge must be a current one;
  only meaningful with ``worker_key`` binding.
* ``reattest_every_epochs`` [none] and ``registration_mode`` ["reject" or
  "mark"]: read by the contract, not by the verifier.
* ``gpu_require_driver_rim`` [true]: without a signed driver RIM for the GPU's
  driver version the verdict stays unverified; false accepts checks 1-3 alone.
"""

import hashlib
import json
import string
from typing import Annotated, Literal, Protocol, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from worker_manager.contract.state import PolicyMode

TcbStatus = Literal[
    "UpToDate",
    "SWHardeningNeeded",
    "ConfigurationNeeded",
    "ConfigurationAndSWHardeningNeeded",
    "OutOfDate",
    "OutOfDateConfigurationNeeded",
]
BindingMode = Literal["worker_key", "secretvm_tls", "none"]
DEFAULT_TCB_STATUSES: tuple[TcbStatus, ...] = ("UpToDate", "SWHardeningNeeded")
#: Bounds that keep every later computation with these numbers in range (a policy
#: is checked once, when the admin sets it, and read on every verification).
MAX_TCB_EVAL_NUMBER = 2**32 - 1
MAX_COLLATERAL_AGE_S = 10 * 366 * 86_400
MAX_REATTEST_EPOCHS = 10**9


class PolicyError(ValueError):
    """The policy JSON or a registry file is invalid; the message says where."""


def _hex48(value: str) -> str:
    text = value.strip().lower().removeprefix("0x")
    if len(text) != 96 or not set(string.hexdigits).issuperset(text):
        raise ValueError("must be 48 bytes as 96 hex characters")
    return text


Hex48 = Annotated[str, AfterValidator(_hex48)]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Measured(Protocol):
    """What a measurement set is compared with: a quote, or the facts recorded of one."""

    @property
    def mrtd(self) -> str: ...
    @property
    def rtmr0(self) -> str: ...
    @property
    def rtmr1(self) -> str: ...
    @property
    def rtmr2(self) -> str: ...
    @property
    def rtmr3(self) -> str: ...
    @property
    def mr_config_id(self) -> str: ...


class MeasurementSet(_Frozen):
    """One allowed TD image: MRTD and RTMR0-2 always, RTMR3 and MRCONFIGID when pinned."""

    label: str = Field(min_length=1, max_length=200)
    mrtd: Hex48
    rtmr0: Hex48
    rtmr1: Hex48
    rtmr2: Hex48
    rtmr3: Hex48 | None = None
    mr_config_id: Hex48 | None = None

    def matches(self, quote: Measured) -> bool:
        """Exact match; an all-zero RTMR is a value like any other."""
        return (
            quote.mrtd == self.mrtd
            and (quote.rtmr0, quote.rtmr1, quote.rtmr2) == (self.rtmr0, self.rtmr1, self.rtmr2)
            and (self.rtmr3 is None or quote.rtmr3 == self.rtmr3)
            and (self.mr_config_id is None or quote.mr_config_id == self.mr_config_id)
        )


class WorkerTypePolicy(_Frozen):
    """What one worker type must run, and whether it must prove a GPU."""

    measurements: tuple[MeasurementSet, ...] = ()
    require_gpu: bool = False


class AttestationPolicy(_Frozen):
    """The whole policy; see the module docstring for each field."""

    worker_types: dict[str, WorkerTypePolicy] = Field(default_factory=dict)
    allowed_tcb_statuses: tuple[TcbStatus, ...] = DEFAULT_TCB_STATUSES
    rejected_advisories: tuple[str, ...] = ()
    min_tcb_eval_data_number: int | None = Field(default=None, ge=0, le=MAX_TCB_EVAL_NUMBER)
    max_collateral_age: int | None = Field(default=None, gt=0, le=MAX_COLLATERAL_AGE_S)
    allow_debug: bool = False
    allow_dynamic_platform: bool = True
    allow_cached_keys: bool = True
    allow_smt: bool = True
    binding: BindingMode = "worker_key"
    require_fresh_challenge: bool = True
    reattest_every_epochs: int | None = Field(default=None, gt=0, le=MAX_REATTEST_EPOCHS)
    registration_mode: PolicyMode = "reject"
    gpu_require_driver_rim: bool = True

    @field_validator("allowed_tcb_statuses", mode="before")
    @classmethod
    def _never_revoked(cls, value: object) -> object:
        if isinstance(value, list | tuple) and "Revoked" in value:
            raise ValueError("Revoked is never allowed")
        return value

    @model_validator(mode="after")
    def _freshness_needs_a_challenge(self) -> Self:
        if self.require_fresh_challenge and self.binding != "worker_key":
            raise ValueError(
                "require_fresh_challenge needs binding 'worker_key' (only it binds a challenge)"
            )
        return self

    def measurement_sets(self, worker_type: str) -> tuple[MeasurementSet, ...]:
        """Allowed sets for ``worker_type``; empty for an unknown type."""
        entry = self.worker_types.get(worker_type)
        return entry.measurements if entry else ()

    def requires_gpu(self, worker_type: str) -> bool:
        """Whether ``worker_type`` must send verified GPU evidence."""
        entry = self.worker_types.get(worker_type)
        return bool(entry and entry.require_gpu)

    def to_json(self) -> str:
        """Canonical JSON: sorted keys, compact, every field present."""
        return json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))

    @property
    def sha256(self) -> str:
        """sha256 of :meth:`to_json`, stored with verdicts."""
        return hashlib.sha256(self.to_json().encode()).hexdigest()

    @classmethod
    def from_json(cls, text: str | bytes) -> "AttestationPolicy":
        """Parse and validate, or raise PolicyError naming the bad field."""
        try:
            return cls.model_validate_json(text)
        except ValidationError as exc:
            raise PolicyError(str(exc)) from exc
