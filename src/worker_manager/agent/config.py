"""The agent's configuration file (TOML). See docs/agent.md for every key.

Example::

    node = "http://registry.example:1317"
    ip_address = "10.0.0.7:21434"
    state_dir = "/var/lib/worker-manager-agent"

    [key]
    file = "/etc/worker-manager/worker.key"   # hex secp256k1 private key, mode 0600
    worker_key = true                         # registered as the worker's worker key

    [register]                                # optional
    payment_wallet = "secret1..."
    worker_type = "llama3.3:70b"
    attestation_report_file = "/run/tdx/quote.hex"

    [usage]
    file = "/var/log/metering/usage.jsonl"    # or: url = "http://127.0.0.1:9100/usage"

A misspelt key, an unknown section or a value of the wrong type is refused, never
ignored, with an :class:`AgentConfigError` naming the file, the section and the key
(``agent.toml: [register] payment_walet: unknown key; did you mean payment_wallet?``):
an agent that silently dropped ``[register]`` or its usage source would run, and
report nothing.
"""

import stat
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

from pydantic import Field, ValidationError, field_validator, model_validator

from worker_manager.keys import PrivateKey
from worker_manager.settings_file import Table, describe_errors


class AgentConfigError(ValueError):
    """The agent's configuration is missing something or malformed (the message says what)."""


# -- the file's schema: unknown keys and values of the wrong type are refused -----------


class KeyTable(Table):
    file: str
    worker_key: bool = False


class RegisterTable(Table):
    payment_wallet: str
    worker_type: str
    attestation_report_file: str
    url: str | None = None
    capacity: int | None = None
    tls_certificate_from_url: bool = False

    @model_validator(mode="after")
    def _certificate_needs_url(self) -> Self:
        if self.tls_certificate_from_url and not self.url:
            raise ValueError("tls_certificate_from_url needs url")
        return self


class UsageTable(Table):
    file: str | None = None
    url: str | None = None

    @field_validator("url")
    @classmethod
    def _http(cls, url: str | None) -> str | None:
        if url is not None and not url.startswith(("http://", "https://")):
            raise ValueError(f"must be an http(s) URL, got {url}")
        return url

    @model_validator(mode="after")
    def _one_source(self) -> Self:
        if self.file is not None and self.url is not None:
            raise ValueError("gives file and url; give one, not both")
        return self


class AgentFile(Table):
    """The agent's TOML file as written (paths still relative to it)."""

    node: str
    ip_address: str
    state_dir: str = "agent-state"
    load_file: str | None = None
    poll_fraction: float = Field(0.25, gt=0, le=1)
    settle_seconds: float = Field(1.0, ge=0, le=3600)
    key: KeyTable
    #: ``[register]`` (a field cannot be named ``register``: pydantic models have one).
    registration: RegisterTable | None = Field(None, alias="register")
    usage: UsageTable = Field(default_factory=UsageTable)


@dataclass(frozen=True, slots=True)
class Registration:
    payment_wallet: str
    worker_type: str
    attestation_report_file: Path
    url: str | None = None
    capacity: int | None = None
    #: SecretVM binding: put the TLS certificate that ``url`` serves into the report.
    tls_certificate_from_url: bool = False


@dataclass(frozen=True, slots=True)
class AgentConfig:
    node: str
    ip_address: str
    key_file: Path
    worker_key: bool
    state_dir: Path
    registration: Registration | None = None
    usage_file: Path | None = None
    usage_url: str | None = None
    load_file: Path | None = None
    #: How often to look at the challenge, as a share of the epoch.
    poll_fraction: float = 0.25
    #: Wait this long after a work period ends before reporting it (late usage lines).
    settle_seconds: float = 1.0

    @classmethod
    def load(cls, path: Path) -> Self:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise AgentConfigError(f"no agent config at {path}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise AgentConfigError(f"{path} is not valid TOML: {exc}") from exc
        except UnicodeDecodeError as exc:
            raise AgentConfigError(f"{path} is not UTF-8 text: {exc}") from exc
        except OSError as exc:
            raise AgentConfigError(f"cannot read the agent config {path}: {exc.strerror}") from exc
        return cls.from_dict(data, base=path.parent, source=str(path))

    @classmethod
    def from_dict(
        cls, data: dict[str, Any], *, base: Path, source: str = "the agent config"
    ) -> Self:
        """Check ``data`` against the schema; relative paths are taken from ``base`` (the
        config file's directory). Errors name ``source``, the section and the key."""
        try:
            file = AgentFile.model_validate(data)
        except ValidationError as exc:
            raise AgentConfigError(describe_errors(exc, AgentFile, source)) from None

        def path(value: str) -> Path:
            found = Path(value).expanduser()
            return found if found.is_absolute() else base / found

        reg = file.registration
        return cls(
            node=file.node.rstrip("/"),
            ip_address=file.ip_address,
            key_file=path(file.key.file),
            worker_key=file.key.worker_key,
            state_dir=path(file.state_dir),
            registration=None
            if reg is None
            else Registration(
                payment_wallet=reg.payment_wallet,
                worker_type=reg.worker_type,
                attestation_report_file=path(reg.attestation_report_file),
                url=reg.url,
                capacity=reg.capacity,
                tls_certificate_from_url=reg.tls_certificate_from_url,
            ),
            usage_file=path(file.usage.file) if file.usage.file is not None else None,
            usage_url=file.usage.url,
            load_file=path(file.load_file) if file.load_file is not None else None,
            poll_fraction=file.poll_fraction,
            settle_seconds=file.settle_seconds,
        )

    def private_key(self) -> PrivateKey:
        """The key that signs the agent's txs (and answers, as the worker key).

        Refused when the file is open to group or others (any of mode 0o077).
        """
        try:
            mode = stat.S_IMODE(self.key_file.stat().st_mode)
            text = self.key_file.read_text().strip()
        except FileNotFoundError as exc:
            raise AgentConfigError(f"no key file at {self.key_file}") from exc
        except (OSError, UnicodeDecodeError) as exc:
            raise AgentConfigError(f"cannot read the key file {self.key_file}: {exc}") from exc
        if mode & 0o077:
            raise AgentConfigError(
                f"the key file {self.key_file} is open to group or others (mode {mode:04o}); "
                f"a worker key must be private: run chmod 600 {self.key_file}"
            )
        try:
            return PrivateKey(bytes.fromhex(text.removeprefix("0x")))
        except ValueError as exc:
            raise AgentConfigError(
                f"{self.key_file} must hold a 32-byte secp256k1 private key in hex"
            ) from exc
