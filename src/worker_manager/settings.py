"""Settings: ``config.toml`` in the home, overridden by ``WM_*`` variables, read once.

This is the only module that reads the environment. Everything else gets a
frozen :class:`Settings` passed down.

The file is described by pydantic-settings models, one per TOML table, that refuse
what they do not know: a misspelt key, an unknown section or a value of the wrong
type stops the node with a :class:`SettingsError` naming the file, the section and
the key (``config.toml: [server] prot: unknown key; did you mean port?``), rather
than being ignored for a default. Priority: command-line options (applied by the
caller with :meth:`Settings.with_changes`) > ``WM_*`` variables > the file > defaults.
"""

import difflib
import json
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from types import NoneType, UnionType
from typing import Any, Literal, Self, Union, get_args, get_origin

import platformdirs
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

CONFIG_FILE = "config.toml"
DATABASE_FILE = "worker-manager.db"
SECRETS_DIR = "secrets"
KEYRING_DIR = "keyring"
DEFAULT_HOST = "127.0.0.1"
#: The port Secret LCD clients expect.
DEFAULT_PORT = 1317
DEFAULT_NODE_URL = f"http://{DEFAULT_HOST}:{DEFAULT_PORT}"
LogLevel = Literal["debug", "info", "warning", "error"]
LOG_LEVELS: tuple[str, ...] = get_args(LogLevel)
#: A block closes this long after its first tx arrived (or when it is full).
DEFAULT_BLOCK_INTERVAL_MS = 20
DEFAULT_MAX_TX_BYTES = 1024 * 1024
#: Abuse limits: a client's txs a second on the write routes, and the burst it may send.
DEFAULT_TX_RATE_PER_CLIENT = 100
DEFAULT_TX_BURST_PER_CLIENT = 1000
#: A connection whose request has not fully arrived this long after it opened (or after
#: the request's first byte, on a kept-alive connection) is closed: slow clients.
DEFAULT_REQUEST_TIMEOUT_S = 10
#: An idle kept-alive connection is closed this long after its last answer.
DEFAULT_KEEP_ALIVE_TIMEOUT_S = 5
MAX_SERVER_TIMEOUT_S = 3600

#: The ``WM_*`` variables that override a key of config.toml, and the key (table, name).
ENV_OVERRIDES: Mapping[str, tuple[str, str]] = {
    "WM_DATABASE_URL": ("database", "url"),
    "WM_HOST": ("server", "host"),
    "WM_PORT": ("server", "port"),
    "WM_LOG_LEVEL": ("log", "level"),
}


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names the file or variable."""


def environment() -> Mapping[str, str]:
    """The process environment (read here and nowhere else)."""
    return os.environ


def default_home(environ: Mapping[str, str]) -> Path:
    """``WM_HOME`` if set, else the user's data directory for worker-manager."""
    if environ.get("WM_HOME"):
        return Path(environ["WM_HOME"]).expanduser()
    return Path(platformdirs.user_data_dir("worker-manager", appauthor=False))


def default_node_url(environ: Mapping[str, str]) -> str:
    """``WM_NODE`` if set, else the local node on the port Secret LCD clients expect."""
    return environ.get("WM_NODE") or DEFAULT_NODE_URL


def keyring_passphrase(environ: Mapping[str, str]) -> str | None:
    """``WM_KEYRING_PASSPHRASE``, for scripts that cannot answer a prompt."""
    return environ.get("WM_KEYRING_PASSPHRASE") or None


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path.resolve()}"


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
    max_tx_bytes: int = Field(default=DEFAULT_MAX_TX_BYTES, ge=1024, le=16 * 1024 * 1024)


class LimitsTable(Table):
    tx_rate_per_client: int = Field(default=DEFAULT_TX_RATE_PER_CLIENT, ge=0, le=1_000_000)
    tx_burst_per_client: int = Field(default=DEFAULT_TX_BURST_PER_CLIENT, ge=1, le=1_000_000)


class NodeConfig(BaseSettings):
    """``config.toml`` with the ``WM_*`` overrides applied: what :meth:`Settings.load` reads."""

    model_config = SettingsConfigDict(extra="forbid", strict=True, frozen=True)

    chain_id: str = Field(min_length=1)
    server: ServerTable = Field(default_factory=ServerTable)
    database: DatabaseTable = Field(default_factory=DatabaseTable)
    log: LogTable = Field(default_factory=LogTable)
    node: NodeTable = Field(default_factory=NodeTable)
    limits: LimitsTable = Field(default_factory=LimitsTable)


class EnvironSource(PydanticBaseSettingsSource):
    """The ``WM_*`` overrides, from the mapping the caller passed (never ``os.environ``
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


def listen_address(environ: Mapping[str, str]) -> tuple[str, int]:
    """Where ``serve`` listens for a home not created yet: ``WM_HOST``/``WM_PORT``,
    else 127.0.0.1:1317."""
    source = EnvironSource(NodeConfig, environ)
    try:
        server = ServerTable.model_validate(source.values.get("server", {}))
    except ValidationError as exc:
        origins = {loc[1:]: name for loc, name in source.origins.items() if loc[0] == "server"}
        raise SettingsError(describe_errors(exc, ServerTable, "the environment", origins)) from None
    return server.host, server.port


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything a node needs to start, from its home and environment."""

    home: Path
    chain_id: str
    database_url: str
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    log_level: str = "info"
    block_interval_ms: int = DEFAULT_BLOCK_INTERVAL_MS
    max_tx_bytes: int = DEFAULT_MAX_TX_BYTES
    request_timeout_s: int = DEFAULT_REQUEST_TIMEOUT_S
    keep_alive_timeout_s: int = DEFAULT_KEEP_ALIVE_TIMEOUT_S
    #: Each client's tx rate on the write routes (0: no limit) and the burst it may send.
    tx_rate_per_client: int = DEFAULT_TX_RATE_PER_CLIENT
    tx_burst_per_client: int = DEFAULT_TX_BURST_PER_CLIENT

    @property
    def config_path(self) -> Path:
        return self.home / CONFIG_FILE

    @property
    def secrets_dir(self) -> Path:
        return self.home / SECRETS_DIR

    @property
    def keyring_dir(self) -> Path:
        return self.home / KEYRING_DIR

    @property
    def lcd_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def with_changes(self, **changes: Any) -> Self:
        """A copy with the command line's options on top (they win over everything)."""
        return replace(self, **changes)

    @classmethod
    def load(cls, home: Path, environ: Mapping[str, str]) -> Self:
        """Read ``home/config.toml`` and apply ``WM_DATABASE_URL``, ``WM_HOST``,
        ``WM_PORT`` and ``WM_LOG_LEVEL`` on top; refuse anything unknown or malformed."""
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
            # Our two sources only, first wins: no .env file, no secrets dir, no os.environ.
            # (mypy sees the fields' __init__, not BaseSettings' own keyword arguments.)
            config = NodeConfig(_build_sources=((env, file), {}))  # type: ignore[call-arg]
        except ValidationError as exc:
            raise SettingsError(describe_errors(exc, NodeConfig, str(path), env.origins)) from None
        return cls(
            home=home,
            chain_id=config.chain_id,
            database_url=config.database.url or sqlite_url(home / DATABASE_FILE),
            host=config.server.host,
            port=config.server.port,
            log_level=config.log.level,
            block_interval_ms=config.node.block_interval_ms,
            max_tx_bytes=config.node.max_tx_bytes,
            request_timeout_s=config.server.request_timeout_s,
            keep_alive_timeout_s=config.server.keep_alive_timeout_s,
            tx_rate_per_client=config.limits.tx_rate_per_client,
            tx_burst_per_client=config.limits.tx_burst_per_client,
        )


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
