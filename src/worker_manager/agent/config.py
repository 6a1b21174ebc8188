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
"""

import stat
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

from worker_manager.keys import PrivateKey


class AgentConfigError(ValueError):
    """The agent's configuration is missing something or malformed (the message says what)."""


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
        return cls.from_dict(data, base=path.parent)

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, base: Path) -> Self:
        def need(table: dict[str, Any], key: str, where: str) -> Any:
            if key not in table:
                raise AgentConfigError(f"{where}: {key} is required")
            return table[key]

        def path(value: Any) -> Path:
            found = Path(str(value)).expanduser()
            return found if found.is_absolute() else base / found

        key = data.get("key", {})
        if not isinstance(key, dict):
            raise AgentConfigError("[key] must be a table")
        registration = None
        if "register" in data:
            reg = data["register"]
            registration = Registration(
                payment_wallet=str(need(reg, "payment_wallet", "[register]")),
                worker_type=str(need(reg, "worker_type", "[register]")),
                attestation_report_file=path(need(reg, "attestation_report_file", "[register]")),
                url=reg.get("url"),
                capacity=reg.get("capacity"),
                tls_certificate_from_url=bool(reg.get("tls_certificate_from_url", False)),
            )
            if registration.tls_certificate_from_url and not registration.url:
                raise AgentConfigError("[register] tls_certificate_from_url needs url")
        usage = data.get("usage", {})
        if "file" in usage and "url" in usage:
            raise AgentConfigError("[usage]: give file or url, not both")
        config = cls(
            node=str(need(data, "node", "the config")).rstrip("/"),
            ip_address=str(need(data, "ip_address", "the config")),
            key_file=path(need(key, "file", "[key]")),
            worker_key=bool(key.get("worker_key", False)),
            state_dir=path(data.get("state_dir", "agent-state")),
            registration=registration,
            usage_file=path(usage["file"]) if "file" in usage else None,
            usage_url=usage.get("url"),
            load_file=path(data["load_file"]) if "load_file" in data else None,
            poll_fraction=float(data.get("poll_fraction", 0.25)),
            settle_seconds=float(data.get("settle_seconds", 1.0)),
        )
        if not 0 < config.poll_fraction <= 1:
            raise AgentConfigError("poll_fraction must be in (0, 1]")
        if not 0 <= config.settle_seconds <= 3600:
            raise AgentConfigError("settle_seconds must be from 0 to 3600")
        if config.usage_url is not None and not config.usage_url.startswith(
            ("http://", "https://")
        ):
            raise AgentConfigError(f"[usage] url must be an http(s) URL, got {config.usage_url}")
        return config

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
