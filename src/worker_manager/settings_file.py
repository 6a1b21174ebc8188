"""The schema of ``config.toml`` and the ``WM_*`` overrides, on pydantic-settings.

Kept apart from :mod:`worker_manager.settings` (the constants and the frozen
:class:`~worker_manager.settings.Settings` every part is handed), so that the tools
which only need a default do not load pydantic-settings.
"""

import difflib
import json
import tomllib
from collections.abc import Mapping
from pathlib import Path
from types import NoneType, UnionType
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from worker_manager.settings import (
    CONFIG_FILE,
    DEFAULT_BLOCK_INTERVAL_MS,
    DEFAULT_COLLATERAL_CHECK_INTERVAL_S,
    DEFAULT_COLLATERAL_REFRESH_BEFORE_S,
    DEFAULT_COLLATERAL_WARN_BEFORE_S,
    DEFAULT_DASHBOARD_REFRESH_S,
    DEFAULT_ENDPOINT_CHECK_CONCURRENCY,
    DEFAULT_ENDPOINT_CHECK_INTERVAL_S,
    DEFAULT_ENDPOINT_CHECK_TIMEOUT_S,
    DEFAULT_HOST,
    DEFAULT_KEEP_ALIVE_TIMEOUT_S,
    DEFAULT_MAX_STALENESS_MS,
    DEFAULT_MAX_TX_BYTES,
    DEFAULT_PORT,
    DEFAULT_REQUEST_TIMEOUT_S,
    DEFAULT_TX_BURST_PER_CLIENT,
    DEFAULT_TX_RATE_PER_CLIENT,
    ENV_OVERRIDES,
    MAX_SERVER_TIMEOUT_S,
    EndpointCheckMode,
    LogLevel,
    SettingsError,
)

# -- the file's schema ------------------------------------------------------------------


class Table(BaseModel):
    """A TOML table: unknown keys and values of the wrong type (``port = "1317"``,
    ``block_interval_ms = true``) are refused, never ignored or coerced."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class ServerTable(Table):
    host: str = DEFAULT_HOST
    port: int = Field(default=DEFAULT_PORT, ge=1, le=65535)
    request_timeout_s: int = Field(default=DEFAULT_REQUEST_TIMEOUT_S, ge=1, le=MAX_SERVER_TIMEOUT_S)
    keep_alive_timeout_s: int = Field(
        default=DEFAULT_KEEP_ALIVE_TIMEOUT_S, ge=1, le=MAX_SERVER_TIMEOUT_S
    )

    @field_validator("host")
    @classmethod
    def _not_blank(cls, host: str) -> str:
        if not host.strip():
            raise ValueError("must not be empty")
        return host


class DatabaseTable(Table):
    #: Empty: the SQLite file in the home.
    url: str = ""


class LogTable(Table):
    level: LogLevel = "info"

    @field_validator("level", mode="before")
    @classmethod
    def _any_case(cls, level: object) -> object:
        return level.lower() if isinstance(level, str) else level


class NodeTable(Table):
    block_interval_ms: int = Field(default=DEFAULT_BLOCK_INTERVAL_MS, ge=0, le=10_000)
    max_staleness_ms: int = Field(default=DEFAULT_MAX_STALENESS_MS, ge=10, le=60_000)
    max_tx_bytes: int = Field(default=DEFAULT_MAX_TX_BYTES, ge=1024, le=16 * 1024 * 1024)


class LimitsTable(Table):
    tx_rate_per_client: int = Field(default=DEFAULT_TX_RATE_PER_CLIENT, ge=0, le=1_000_000)
    tx_burst_per_client: int = Field(default=DEFAULT_TX_BURST_PER_CLIENT, ge=1, le=1_000_000)


class EndpointsTable(Table):
    #: "auto": check workers' TLS endpoints once an attestation policy exists.
    checks: EndpointCheckMode = "auto"
    interval_s: int = Field(default=DEFAULT_ENDPOINT_CHECK_INTERVAL_S, ge=1, le=86_400)
    timeout_s: int = Field(default=DEFAULT_ENDPOINT_CHECK_TIMEOUT_S, ge=1, le=300)
    concurrency: int = Field(default=DEFAULT_ENDPOINT_CHECK_CONCURRENCY, ge=1, le=1024)


class CollateralTable(Table):
    #: The PCCS (or Intel PCS) to refresh Intel collateral from; empty: never fetch.
    pccs_url: str = ""
    refresh_before_s: int = Field(
        default=DEFAULT_COLLATERAL_REFRESH_BEFORE_S, ge=60, le=90 * 86_400
    )
    check_interval_s: int = Field(default=DEFAULT_COLLATERAL_CHECK_INTERVAL_S, ge=10, le=86_400)
    warn_before_s: int = Field(default=DEFAULT_COLLATERAL_WARN_BEFORE_S, ge=0, le=90 * 86_400)

    @field_validator("pccs_url")
    @classmethod
    def _http_url(cls, url: str) -> str:
        url = url.strip()
        if url and not url.startswith(("http://", "https://")):
            raise ValueError("must be empty or an http:// or https:// URL")
        return url


class MetricsTable(Table):
    #: ``GET /metrics`` in Prometheus' text format (false: 404, and no latency timing).
    enabled: bool = True


class DashboardTable(Table):
    #: The pages at / and /dashboard/* (false: none of them exist).
    enabled: bool = True
    #: The operator token the /dashboard/* pages ask for; empty: a random one the node
    #: keeps in secrets/dashboard.token.
    token: str = Field(default="", max_length=256)
    refresh_s: int = Field(default=DEFAULT_DASHBOARD_REFRESH_S, ge=0, le=3600)


class NodeConfig(BaseSettings):
    """``config.toml`` with the ``WM_*`` overrides applied: what :meth:`Settings.load` reads."""

    model_config = SettingsConfigDict(extra="forbid", strict=True, frozen=True)

    chain_id: str = Field(min_length=1)
    server: ServerTable = Field(default_factory=ServerTable)
    database: DatabaseTable = Field(default_factory=DatabaseTable)
    log: LogTable = Field(default_factory=LogTable)
    node: NodeTable = Field(default_factory=NodeTable)
    limits: LimitsTable = Field(default_factory=LimitsTable)
    endpoints: EndpointsTable = Field(default_factory=EndpointsTable)
    metrics: MetricsTable = Field(default_factory=MetricsTable)
    collateral: CollateralTable = Field(default_factory=CollateralTable)
    dashboard: DashboardTable = Field(default_factory=DashboardTable)


class EnvironSource(PydanticBaseSettingsSource):
    """The ``WM_*`` overrides, from the mapping the caller passed (never the process environment
    behind its back). An empty variable counts as unset; a whole-number key's text is
    read as a number, and text that is not one is left for the model to refuse."""

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]) -> None:
        super().__init__(settings_cls)
        self.values: dict[str, dict[str, object]] = {}
        #: Which variable gave each key, so an error names the variable, not the file.
        self.origins: dict[tuple[str, ...], str] = {}
        for variable, (table, key) in ENV_OVERRIDES.items():
            text = environ.get(variable)
            if text:
                self.values.setdefault(table, {})[key] = _from_text(text, table, key)
                self.origins[(table, key)] = variable

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return self.values.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(self.values)


def _from_text(text: str, table: str, key: str) -> object:
    model = _table_model(NodeConfig.model_fields[table].annotation)
    assert model is not None
    if model.model_fields[key].annotation is int:
        try:
            return int(text)
        except ValueError:
            return text
    return text


def listen_address_from(environ: Mapping[str, str]) -> tuple[str, int]:
    """:func:`worker_manager.settings.listen_address`'s work (see there)."""
    source = EnvironSource(NodeConfig, environ)
    try:
        server = ServerTable.model_validate(source.values.get("server", {}))
    except ValidationError as exc:
        origins = {loc[1:]: name for loc, name in source.origins.items() if loc[0] == "server"}
        raise SettingsError(describe_errors(exc, ServerTable, "the environment", origins)) from None
    return server.host, server.port


def read_config(home: Path, environ: Mapping[str, str]) -> NodeConfig:
    """``home/config.toml`` with the ``WM_*`` overrides of ``environ``, validated."""
    path = home / CONFIG_FILE
    if not path.is_file():
        raise SettingsError(f"no {CONFIG_FILE} in {home}")
    try:
        file = TomlConfigSettingsSource(NodeConfig, toml_file=path)
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{path} is not valid TOML: {exc}") from exc
    except UnicodeDecodeError as exc:
        raise SettingsError(f"{path} is not UTF-8 text: {exc}") from exc
    except OSError as exc:
        raise SettingsError(f"cannot read {path}: {exc.strerror}") from exc
    env = EnvironSource(NodeConfig, environ)
    try:
        # Our two sources only, first wins: no .env file, no secrets dir, no process environment.
        # (mypy sees the fields' __init__, not BaseSettings' own keyword arguments.)
        config = NodeConfig(_build_sources=((env, file), {}))  # type: ignore[call-arg]
    except ValidationError as exc:
        raise SettingsError(describe_errors(exc, NodeConfig, str(path), env.origins)) from None
    return config


# -- errors a user can act on -----------------------------------------------------------


def describe_errors(
    exc: ValidationError,
    model: type[BaseModel],
    source: str,
    origins: Mapping[tuple[str, ...], str] | None = None,
) -> str:
    """One line per problem, each naming the file (``source``), the section and the key,
    or the variable in ``origins`` that gave the value (``WM_PORT must be ...``).

    Shared by the node's and the agent's configs, so both read the same way.
    """
    return "\n".join(_describe(error, model, source, origins or {}) for error in exc.errors())


def _describe(
    error: ErrorDetails,
    model: type[BaseModel],
    source: str,
    origins: Mapping[tuple[str, ...], str],
) -> str:
    loc = tuple(str(part) for part in error["loc"])
    kind, value = error["type"], error.get("input")
    ctx = error.get("ctx") or {}
    if not loc:  # a check on the whole file
        return f"{source}: {ctx.get('error', error['msg'])}"
    owner, field = _lookup(model, loc)
    is_table = (field is not None and _table_model(field.annotation) is not None) or (
        kind == "extra_forbidden" and isinstance(value, dict)
    )
    subject = f"[{'.'.join(loc)}]" if is_table else _key(loc)
    where = origins.get(loc) or f"{source}: {subject}"
    if kind == "extra_forbidden":
        what = "section" if is_table else "key"
        return f"{where}: unknown {what}; {_suggest(loc[-1], owner)}"
    if kind == "missing":
        return f"{where} is required"
    if kind == "value_error":
        return f"{where} {ctx.get('error', error['msg'])}"
    expected = _expected(field) if field is not None else error["msg"].lower()
    return f"{where} must be {expected} (got {_shown(value)})"


def _key(loc: tuple[str, ...]) -> str:
    *tables, key = loc
    return f"[{'.'.join(tables)}] {key}" if tables else key


def _lookup(
    model: type[BaseModel], loc: tuple[str, ...]
) -> tuple[type[BaseModel], FieldInfo | None]:
    """The model (table) that holds the last part of ``loc``, and its field if it has one."""
    owner = model
    for part in loc[:-1]:
        field = _fields(owner).get(part)
        inner = _table_model(field.annotation) if field is not None else None
        if inner is None:
            break
        owner = inner
    return owner, _fields(owner).get(loc[-1])


def _fields(model: type[BaseModel]) -> dict[str, FieldInfo]:
    """A model's fields by the key the file uses (the alias, where there is one)."""
    return {field.alias or name: field for name, field in model.model_fields.items()}


def _table_model(annotation: Any) -> type[BaseModel] | None:
    inner = _without_none(annotation)
    if isinstance(inner, type) and issubclass(inner, BaseModel):
        return inner
    return None


def _without_none(annotation: Any) -> Any:
    if get_origin(annotation) in (Union, UnionType):
        rest = [arg for arg in get_args(annotation) if arg is not NoneType]
        if len(rest) == 1:
            return rest[0]
    return annotation


def _suggest(name: str, owner: type[BaseModel]) -> str:
    """``did you mean port?`` when a known key is close, else the keys there are."""
    known = {
        key: f"[{key}]" if _table_model(field.annotation) is not None else key
        for key, field in _fields(owner).items()
    }
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    if close:
        return f"did you mean {known[close[0]]}?"
    return f"known here: {', '.join(known.values())}"


def _expected(field: FieldInfo) -> str:
    """What a field takes, in words, from its type and its bounds."""
    annotation = _without_none(field.annotation)
    bounds: dict[str, object] = {}
    for item in field.metadata:
        for name in ("ge", "gt", "le", "lt", "min_length"):
            if hasattr(item, name):
                bounds[name] = getattr(item, name)
    named = {bool: "true or false", str: "non-empty text" if bounds.get("min_length") else "text"}
    if _table_model(annotation) is not None:
        return "a table"
    if get_origin(annotation) is Literal:
        return "one of " + ", ".join(str(arg) for arg in get_args(annotation))
    if annotation in named:
        return named[annotation]
    if annotation is int and "ge" in bounds and "le" in bounds:
        return f"a whole number in {bounds['ge']}-{bounds['le']}"
    noun = "a whole number" if annotation is int else "a number"
    if "ge" in bounds and "le" in bounds:
        return f"{noun} from {bounds['ge']} to {bounds['le']}"
    words = {"ge": "at least", "gt": "above", "le": "at most", "lt": "below"}
    limits = [f"{words[name]} {bounds[name]}" for name in words if name in bounds]
    return " ".join([noun, " and ".join(limits)]) if limits else noun


def _shown(value: object) -> str:
    """A value as the user wrote it (TOML-ish: ``"x"``, ``true``)."""
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)
