"""Messages and answers, in the CosmWasm JSON convention.

A message is a JSON object with one key naming it, e.g.
``{"register_worker": {"ip_address": "10.0.0.1", ...}}``. Unknown fields are
refused (CosmWasm's ``deny_unknown_fields``), types are strict (no ``"1"`` for
``1``). Each class documents who may send it and what a repeat does.
"""

from collections.abc import Mapping
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from worker_manager.contract.error import InvalidMessage, UnknownMessage
from worker_manager.contract.json_text import check_json, load_json

#: ``get_workers`` pages: the default and the most one page may hold.
DEFAULT_WORKERS_LIMIT = 100
MAX_WORKERS_LIMIT = 500
#: ``get_u_r_ls``: how many URLs one answer holds by default, and at most.
DEFAULT_URLS_LIMIT = 100
MAX_URLS_LIMIT = 1000
DEFAULT_SUBSCRIBERS_LIMIT = 100
MAX_SUBSCRIBERS_LIMIT = 1000
DEFAULT_WORK_REPORTS_LIMIT = 100
MAX_WORK_REPORTS_LIMIT = 1000
#: ``get_work_totals``: groups per page, by default and at most.
DEFAULT_WORK_TOTALS_LIMIT = 1000
MAX_WORK_TOTALS_LIMIT = 10_000
#: One work report holds at most this many subscriber lines.
MAX_USAGE_LINES = 1000
#: SNIP-24 permits: the longest ``permit_name``, and the most items (and characters
#: each) in ``allowed_tokens`` or ``permissions``.
MAX_PERMIT_NAME_CHARS = 256
MAX_PERMIT_ITEMS = 100
MAX_PERMIT_ITEM_CHARS = 256

RegistrationModeName = Literal["admin", "open"]


class Message(BaseModel):
    """Base of every message: frozen, strict, unknown fields refused."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


# --- instantiate -----------------------------------------------------------


class InstantiateMsg(Message):
    """Create the contract. The sender becomes the admin. Runs once."""

    registration_mode: RegistrationModeName | None = None
    url_template: str | None = None
    max_attestation_report_bytes: int | None = None
    require_listed_subscribers: bool | None = None
    epoch_seconds: int | None = None
    grace_epochs: int | None = None
    offline_after_epochs: int | None = None
    work_period_seconds: int | None = None
    work_report_window_periods: int | None = None
    max_workers_per_owner: int | None = None
    legacy_proofs: bool | None = None
    proof_window_seconds: int | None = None


# --- execute: workers ------------------------------------------------------


class RegisterWorker(Message):
    """Register a new worker at ``ip_address``.

    Sender: the admin (or anyone when ``registration_mode`` is ``open``). The
    ``payment_wallet`` owns the record from then on. Registering an address
    that is already registered is refused (the original overwrote it).
    """

    ip_address: str
    payment_wallet: str
    attestation_report: str
    worker_type: str
    url: str | None = None
    worker_public_key: str | None = None
    capacity: int | None = None


class SetWorkerWallet(Message):
    """Hand the worker to another payment wallet. Sender: the worker's owner."""

    ip_address: str
    payment_wallet: str


class SetWorkerAddress(Message):
    """Move the worker to a new address (refused if that address is taken). Sender: owner."""

    new_ip_address: str
    old_ip_address: str


class SetWorkerType(Message):
    """Change what model the worker serves. Sender: the worker's owner."""

    ip_address: str
    worker_type: str


class SetWorkerUrl(Message):
    """Set the worker's URL, or clear it (``null``) to use the config's template. Sender: owner."""

    ip_address: str
    url: str | None = None


class RemoveWorker(Message):
    """Remove the worker. Sender: the worker's owner or the admin."""

    ip_address: str


class SetWorkerPaused(Message):
    """Take the worker out of service (``paused: true``) or put it back. Sender: owner.

    A paused worker stays registered and keeps answering challenges, but is not
    given to subscribers. A repeat is harmless."""

    ip_address: str
    paused: bool


class SetWorkerAttestation(Message):
    """Replace the worker's attestation report (a fresh quote); it is verified now.

    Sender: the owner, or the worker key (signing the tx itself). Under a policy in
    ``reject`` mode a report that does not verify is refused and the old one stays."""

    ip_address: str
    attestation_report: str


class ReportLiveliness(Message):
    """Answer the current (or previous) epoch's challenge.

    Signed by the worker key when the worker has one (``signature``: compact
    secp256k1, hex, over sha256 of
    :func:`~worker_manager.contract.liveliness.liveliness_sign_bytes`; any sender
    may carry it); otherwise sent by the worker's owner. One answer per worker per
    epoch counts; a repeat is harmless. ``load`` (0-100 %) weighs assignment."""

    ip_address: str
    challenge: str
    signature: str | None = None
    load: int | None = None


class UsageItem(Message):
    """One subscriber's use of the worker in the period."""

    subscriber: str
    requests: int
    input_tokens: int
    output_tokens: int


class ReportWork(Message):
    """Report the work done in a finished ``period`` (of ``work_period_seconds``).

    Signed like :class:`ReportLiveliness` (over
    :func:`~worker_manager.contract.liveliness.work_sign_bytes`). One report per
    worker per period: a second is refused, never added."""

    ip_address: str
    period: int
    usage: list[UsageItem]
    signature: str | None = None


# --- execute: admin --------------------------------------------------------


class ProposeAdmin(Message):
    """Offer the admin role to ``new_admin``; it takes effect when that account accepts.

    Sender: the admin. A second proposal replaces the first.
    """

    new_admin: str


class AcceptAdmin(Message):
    """Take the admin role that was proposed to the sender."""


class CancelAdminProposal(Message):
    """Withdraw an open admin proposal. Sender: the admin."""


class AddSubscriber(Message):
    """Put a subscriber public key (hex, compressed) on the list. Sender: the admin."""

    public_key: str


class RemoveSubscriber(Message):
    """Take a subscriber public key off the list. Sender: the admin."""

    public_key: str


class SetConfig(Message):
    """Change contract settings; omitted fields stay as they are. Sender: the admin."""

    registration_mode: RegistrationModeName | None = None
    url_template: str | None = None
    max_attestation_report_bytes: int | None = None
    require_listed_subscribers: bool | None = None
    epoch_seconds: int | None = None
    grace_epochs: int | None = None
    offline_after_epochs: int | None = None
    work_period_seconds: int | None = None
    work_report_window_periods: int | None = None
    max_workers_per_owner: int | None = None
    legacy_proofs: bool | None = None
    proof_window_seconds: int | None = None


class SetAttestationPolicy(Message):
    """Set (or clear, with ``null``) the attestation policy: allowed measurements per
    worker type, TCB statuses, binding, freshness, re-attestation and whether a
    failing verdict rejects a registration or only marks the worker. Sender: admin.

    Workers registered earlier keep their verdicts until ``reverify_workers``."""

    policy: dict[str, Any] | None


class ReverifyWorkers(Message):
    """Verify these workers' reports again under the current policy and collateral
    (never refusing: each verdict is recorded). Sender: the admin. At most 200 per
    message; ``get_worker_addresses`` lists them all, page by page."""

    ip_addresses: list[str]


class Pause(Message):
    """Stop every non-admin execute until ``unpause``. Queries keep working. Sender: admin."""


class Unpause(Message):
    """Resume after ``pause``. Sender: the admin."""


# --- execute: anyone -------------------------------------------------------

PermitName = Annotated[str, Field(min_length=1, max_length=MAX_PERMIT_NAME_CHARS)]


class RevokePermit(Message):
    """Revoke the sender's SNIP-24 query permits named ``permit_name``: from then on a
    permit of that name signed by the sender's key is refused. Sender: anyone, for its
    own permits only. A repeat is harmless. Runs while paused (a leaked permit must
    always be revocable). ``padding`` is ignored (SNIP-20 wallets may send it)."""

    permit_name: PermitName
    padding: str | None = None


ExecuteMsg = (
    RegisterWorker
    | SetWorkerWallet
    | SetWorkerAddress
    | SetWorkerType
    | SetWorkerUrl
    | RemoveWorker
    | SetWorkerPaused
    | SetWorkerAttestation
    | ReportLiveliness
    | ReportWork
    | ProposeAdmin
    | AcceptAdmin
    | CancelAdminProposal
    | AddSubscriber
    | RemoveSubscriber
    | SetConfig
    | SetAttestationPolicy
    | ReverifyWorkers
    | Pause
    | Unpause
    | RevokePermit
)

EXECUTE_MESSAGES: dict[str, type[ExecuteMsg]] = {
    "register_worker": RegisterWorker,
    "set_worker_wallet": SetWorkerWallet,
    "set_worker_address": SetWorkerAddress,
    "set_worker_type": SetWorkerType,
    "set_worker_url": SetWorkerUrl,
    "remove_worker": RemoveWorker,
    "set_worker_paused": SetWorkerPaused,
    "set_worker_attestation": SetWorkerAttestation,
    "report_liveliness": ReportLiveliness,
    "report_work": ReportWork,
    "propose_admin": ProposeAdmin,
    "accept_admin": AcceptAdmin,
    "cancel_admin_proposal": CancelAdminProposal,
    "add_subscriber": AddSubscriber,
    "remove_subscriber": RemoveSubscriber,
    "set_config": SetConfig,
    "set_attestation_policy": SetAttestationPolicy,
    "reverify_workers": ReverifyWorkers,
    "pause": Pause,
    "unpause": Unpause,
    "revoke_permit": RevokePermit,
}

#: Messages the admin may send while the contract is paused.
ADMIN_MESSAGES: tuple[type[ExecuteMsg], ...] = (
    ProposeAdmin,
    AcceptAdmin,
    CancelAdminProposal,
    AddSubscriber,
    RemoveSubscriber,
    SetConfig,
    SetAttestationPolicy,
    ReverifyWorkers,
    Pause,
    Unpause,
)

#: What still runs while the contract is paused: the admin's messages, workers
#: proving they are alive (a pause must not make every worker stale), and revoking a
#: permit (queries still run while paused, so a leaked permit must stay revocable).
ALLOWED_WHILE_PAUSED: tuple[type[ExecuteMsg], ...] = (
    *ADMIN_MESSAGES,
    ReportLiveliness,
    RevokePermit,
)


def runs_while_paused(msg: Message) -> bool:
    """Whether ``msg`` may run while the contract is paused: the one rule, asked by the
    contract itself and by the node's ante checks alike."""
    return isinstance(msg, ALLOWED_WHILE_PAUSED)


# --- queries ---------------------------------------------------------------


class GetWorkers(Message):
    """Every worker, in pages. Needs a subscriber proof: ``signature`` (64-byte compact,
    hex) by ``subscriber_public_key`` (33-byte compressed, hex), either over
    ``sha256(public key bytes)`` as the original contract checks it (replayable: the
    config's ``legacy_proofs`` may turn it off), or, with ``proof_time`` (unix
    seconds), over the sha256 of the time-bound proof text, which names the chain, the
    contract and that time, and is good for ``proof_window_seconds`` either side of it.
    ``address`` (optional) keeps only the workers that wallet owns."""

    signature: str
    subscriber_public_key: str
    #: unix seconds: a time-bound proof (see the class docstring)
    proof_time: int | None = None
    address: str | None = None
    start_after: str | None = None
    limit: int | None = None


class GetWorker(Message):
    """One worker by address. Public."""

    ip_address: str


class GetModels(Message):
    """Worker types served by at least one worker, sorted. Public."""


class GetUrls(Message):
    """URLs of the live workers serving ``model`` (all models if omitted). Public.

    In assignment order for ``subscriber`` (its public key or any stable name):
    weighted rendezvous hashing, so a subscriber keeps its first worker while that
    worker stays live. Sent as ``get_u_r_ls`` (the Rust contract's name, used by
    secret-ai-sdk) or ``get_urls``."""

    model: str | None = None
    subscriber: str | None = None
    limit: int | None = None


class GetEndpoints(Message):
    """The served workers of ``model``, in ``get_u_r_ls``'s assignment order, each URL with
    what a client needs to pin it: the SHA-256 of the TLS certificate (and of its key)
    the node saw it serve, matching the certificate bound into its quote, and the
    attestation summary. With ``evidence``, each also carries its attestation report,
    so a client can verify it itself (``verify_endpoint``). Public."""

    model: str | None = None
    subscriber: str | None = None
    evidence: bool = False
    limit: int | None = None


class GetConfig(Message):
    """The contract's settings and admin. Public."""


class GetSubscribers(Message):
    """The subscriber list, in pages. Public (public keys are not secret)."""

    start_after: str | None = None
    limit: int | None = None


class GetWorkerAddresses(Message):
    """Every worker's address, in pages (to re-verify them, say). Public."""

    start_after: str | None = None
    limit: int | None = None


class GetAttestationPolicy(Message):
    """The attestation policy (``null`` when none is set). Public."""


class GetLivelinessChallenge(Message):
    """The current epoch, its challenge and when it expires. Public."""


class WorkReportCursor(Message):
    period: int
    ip_address: str


class GetWorkReports(Message):
    """Work reports in (period, worker) order, optionally of one worker or period."""

    ip_address: str | None = None
    period: int | None = None
    start_after: WorkReportCursor | None = None
    limit: int | None = None


WorkTotalsBy = Literal["worker", "subscriber", "period", "wallet"]


class GetWorkTotals(Message):
    """Reported usage summed per worker, subscriber, period or payment wallet, in pages
    of ``limit`` groups (default 1,000, at most 10,000) in key order; ``start_after``
    is the last key of the previous page (``next_start_after``)."""

    by: WorkTotalsBy
    from_period: int | None = None
    to_period: int | None = None
    ip_address: str | None = None
    subscriber: str | None = None
    start_after: str | None = None
    limit: int | None = None


PermitItem = Annotated[str, Field(max_length=MAX_PERMIT_ITEM_CHARS)]
PermitItems = Annotated[list[PermitItem], Field(max_length=MAX_PERMIT_ITEMS)]


class PermitParams(Message):
    """What a SNIP-24 permit grants: the contracts (``allowed_tokens``), the chain and the
    permissions, under a name its signer may revoke."""

    permit_name: PermitName
    allowed_tokens: PermitItems
    chain_id: Annotated[str, Field(max_length=MAX_PERMIT_ITEM_CHARS)]
    permissions: PermitItems


class PermitPubKey(Message):
    """The signer's key, as Keplr gives it: ``type`` ``tendermint/PubKeySecp256k1`` and
    ``value`` the 33-byte compressed key in base64."""

    type: Annotated[str, Field(max_length=64)]
    value: Annotated[str, Field(max_length=128)]


class PermitSignature(Message):
    """``signature``: the 64-byte compact secp256k1 signature, base64, over the sha256 of
    the permit's amino sign doc (:func:`~worker_manager.contract.permit.permit_sign_doc`)."""

    pub_key: PermitPubKey
    signature: Annotated[str, Field(max_length=256)]


class Permit(Message):
    """A SNIP-24 query permit, as secret-toolkit and Keplr's ``signAmino`` make them."""

    params: PermitParams
    signature: PermitSignature


class PermitGetWorkers(Message):
    """``get_workers`` inside ``with_permit``: the permit's signer is the subscriber, so
    it carries no proof of its own. Needs the ``workers`` (or ``owner``) permission."""

    address: str | None = None
    start_after: str | None = None
    limit: int | None = None


PermitQueryMsg = PermitGetWorkers

#: The queries a permit may carry (``with_permit``'s ``query``), by wire name.
PERMIT_QUERY_MESSAGES: dict[str, type[PermitQueryMsg]] = {"get_workers": PermitGetWorkers}


class WithPermit(Message):
    """Run ``query`` (one of :data:`PERMIT_QUERY_MESSAGES`) for the signer of ``permit``
    (SNIP-24). The permit must name this chain and this contract, hold the permission
    the query needs, verify, and not be revoked by its signer. Never answered from the
    cache."""

    permit: Permit
    query: PermitQueryMsg

    @field_validator("query", mode="before")
    @classmethod
    def _inner_query(cls, value: Any) -> Any:
        if isinstance(value, Message):
            return value
        return _parse_value(value, PERMIT_QUERY_MESSAGES, "with_permit query")


QueryMsg = (
    GetWorkers
    | GetWorker
    | GetModels
    | GetUrls
    | GetEndpoints
    | GetConfig
    | GetSubscribers
    | GetLivelinessChallenge
    | GetAttestationPolicy
    | GetWorkerAddresses
    | GetWorkReports
    | GetWorkTotals
    | WithPermit
)

QUERY_MESSAGES: dict[str, type[QueryMsg]] = {
    "get_workers": GetWorkers,
    "get_worker": GetWorker,
    "get_models": GetModels,
    "get_u_r_ls": GetUrls,
    "get_urls": GetUrls,
    "get_endpoints": GetEndpoints,
    "get_config": GetConfig,
    "get_subscribers": GetSubscribers,
    "get_liveliness_challenge": GetLivelinessChallenge,
    "get_attestation_policy": GetAttestationPolicy,
    "get_worker_addresses": GetWorkerAddresses,
    "get_work_reports": GetWorkReports,
    "get_work_totals": GetWorkTotals,
    "with_permit": WithPermit,
}


# --- sudo (the node itself, never a network sender) -----------------------


class EpochTick(Message):
    """The node marks the current epoch as up (idempotent). Only the node sends it;
    the ante refuses it from the network like any unknown message."""


class EndpointObservation(Message):
    """What the node saw at one worker's URL: the SHA-256 (hex) of the certificate it
    served and of that certificate's SubjectPublicKeyInfo, or why it could not connect."""

    ip_address: Annotated[str, Field(max_length=300)]
    url: Annotated[str, Field(max_length=2048)]
    certificate_sha256: Annotated[str, Field(pattern="^[0-9a-f]{64}$")] | None = None
    spki_sha256: Annotated[str, Field(pattern="^[0-9a-f]{64}$")] | None = None
    error: Annotated[str, Field(max_length=512)] | None = None


class RecordEndpointChecks(Message):
    """The node records what it saw at workers' TLS endpoints (only the node sends it):
    the contract compares each with the certificate bound into the worker's quote."""

    checks: Annotated[list[EndpointObservation], Field(max_length=1000)]


SudoMsg = EpochTick | RecordEndpointChecks

SUDO_MESSAGES: dict[str, type[SudoMsg]] = {
    "epoch_tick": EpochTick,
    "record_endpoint_checks": RecordEndpointChecks,
}


# --- answers ---------------------------------------------------------------


class Answer(BaseModel):
    model_config = ConfigDict(frozen=True)


class WorkerAnswer(Answer):
    ip_address: str
    payment_wallet: str
    attestation_report: str
    worker_type: str
    url: str
    worker_public_key: str | None
    capacity: int
    registered_height: int
    registered_time: int
    status: Literal["live", "stale", "offline"]
    last_seen: int | None
    last_seen_epoch: int | None
    missed_epochs: int | None
    load: int
    paused: bool
    served: bool
    #: Why it is not given to subscribers, when ``served`` is false.
    not_served_because: list[str]
    attestation_status: Literal["unchecked", "valid", "rejected", "unverified", "not_attested"]
    attestation_reasons: list[str]
    #: The full verdict (measurements, TCB, binding, GPU checks...), or null.
    attestation_verdict: dict[str, Any] | None


class WorkersAnswer(Answer):
    workers: list[WorkerAnswer]
    next_start_after: str | None = None


class ModelsAnswer(Answer):
    models: list[str]


class UrlsAnswer(Answer):
    urls: list[str]


class EndpointAttestationAnswer(Answer):
    """The attestation verdict of an endpoint's worker, in short."""

    status: str
    tcb_status: str | None
    measurement_label: str | None
    binding: str | None
    verified_at: int | None
    collateral_sha256: str | None
    policy_sha256: str | None


class EndpointEvidenceAnswer(Answer):
    """What a client needs to verify an endpoint's worker itself: its report, as registered,
    and which collateral the node verified it with."""

    attestation_report: str
    collateral_sha256: str | None


class EndpointAnswer(Answer):
    url: str
    ip_address: str
    worker_type: str
    #: How the quote binds a TLS certificate ("secretvm_tls:spki" or
    #: "secretvm_tls:certificate"), or None: nothing bound, so nothing to pin.
    tls_binding: str | None
    certificate_sha256: str | None
    spki_sha256: str | None
    endpoint_checked_at: int | None
    attestation: EndpointAttestationAnswer | None
    evidence: EndpointEvidenceAnswer | None


class EndpointsAnswer(Answer):
    endpoints: list[EndpointAnswer]


class ConfigAnswer(Answer):
    admin: str
    pending_admin: str | None
    paused: bool
    registration_mode: RegistrationModeName
    url_template: str
    max_attestation_report_bytes: int
    require_listed_subscribers: bool
    epoch_seconds: int
    grace_epochs: int
    offline_after_epochs: int
    work_period_seconds: int
    work_report_window_periods: int
    max_workers_per_owner: int
    legacy_proofs: bool
    proof_window_seconds: int
    workers: int


class SubscriberAnswer(Answer):
    public_key: str
    added_height: int


class SubscribersAnswer(Answer):
    subscribers: list[SubscriberAnswer]


class AttestationPolicyAnswer(Answer):
    policy: dict[str, Any] | None


class WorkerAddressesAnswer(Answer):
    addresses: list[str]
    next_start_after: str | None = None


class ChallengeAnswer(Answer):
    challenge: str
    epoch: int
    expires_at: int
    epoch_seconds: int


class WorkReportAnswer(Answer):
    ip_address: str
    period: int
    payment_wallet: str
    usage: list[UsageItem]
    reported_height: int
    reported_time: int


class WorkReportsAnswer(Answer):
    reports: list[WorkReportAnswer]


class WorkTotalAnswer(Answer):
    key: str
    lines: int
    requests: int
    input_tokens: int
    output_tokens: int


class WorkTotalsAnswer(Answer):
    by: WorkTotalsBy
    totals: list[WorkTotalAnswer]
    next_start_after: str | None = None


QueryAnswer = (
    WorkersAnswer
    | WorkerAnswer
    | ModelsAnswer
    | UrlsAnswer
    | EndpointsAnswer
    | ConfigAnswer
    | SubscribersAnswer
    | ChallengeAnswer
    | AttestationPolicyAnswer
    | WorkerAddressesAnswer
    | WorkReportsAnswer
    | WorkTotalsAnswer
)


# --- parsing ---------------------------------------------------------------


def _load(raw: bytes | str | Mapping[str, Any]) -> Any:
    if isinstance(raw, Mapping):
        check_json(raw)
        return raw
    return load_json(raw)


def _describe(error: ValidationError, name: str) -> str:
    parts = []
    for item in error.errors()[:3]:
        where = ".".join(str(p) for p in (name, *item["loc"]))
        parts.append(f"{where}: {item['msg']}")
    return "; ".join(parts)


M = TypeVar("M", bound=Message)


def _parse(raw: bytes | str | Mapping[str, Any], table: Mapping[str, type[M]], kind: str) -> M:
    return _parse_value(_load(raw), table, kind)


def _parse_value(data: Any, table: Mapping[str, type[M]], kind: str) -> M:
    if not isinstance(data, Mapping) or len(data) != 1:
        raise InvalidMessage(
            f"a {kind} message is a JSON object with exactly one key naming it, "
            'e.g. {"get_models": {}}'
        )
    name, body = next(iter(data.items()))
    cls = table.get(name)
    if cls is None:
        raise UnknownMessage(str(name), kind, sorted(table))
    if not isinstance(body, Mapping):
        raise InvalidMessage(f"{name}: the message body must be a JSON object, e.g. {{}}")
    try:
        return cls.model_validate(body)
    except ValidationError as exc:
        raise InvalidMessage(_describe(exc, name)) from exc


def parse_instantiate(raw: bytes | str | Mapping[str, Any]) -> InstantiateMsg:
    """Parse the instantiate message (a plain object, not tagged)."""
    data = _load(raw)
    if not isinstance(data, Mapping):
        raise InvalidMessage("the instantiate message must be a JSON object")
    try:
        return InstantiateMsg.model_validate(data)
    except ValidationError as exc:
        raise InvalidMessage(_describe(exc, "instantiate")) from exc


def parse_execute(raw: bytes | str | Mapping[str, Any]) -> ExecuteMsg:
    """Parse ``{"name": {...}}`` into its execute message class, or raise a ContractError."""
    return _parse(raw, EXECUTE_MESSAGES, "execute")


def parse_loaded_execute(data: Any) -> ExecuteMsg:
    """:func:`parse_execute` for JSON that :func:`~worker_manager.contract.json_text.load_json`
    returned (already checked, so not walked again: the ante's hot path)."""
    return _parse_value(data, EXECUTE_MESSAGES, "execute")


def parse_query(raw: bytes | str | Mapping[str, Any]) -> QueryMsg:
    """Parse ``{"name": {...}}`` into its query message class, or raise a ContractError."""
    return _parse(raw, QUERY_MESSAGES, "query")


def parse_sudo(raw: bytes | str | Mapping[str, Any]) -> SudoMsg:
    """Parse a message only the node itself may send."""
    return _parse(raw, SUDO_MESSAGES, "sudo")


def message_name(msg: Message) -> str:
    """The wire name of a message (``get_u_r_ls`` for both spellings of the URL query)."""
    for table in (EXECUTE_MESSAGES, QUERY_MESSAGES, SUDO_MESSAGES):
        for name, cls in table.items():
            if type(msg) is cls:
                return name
    raise KeyError(type(msg).__name__)  # pragma: no cover - every class is in a table
