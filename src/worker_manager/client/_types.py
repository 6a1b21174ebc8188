"""Typed results of the client's calls."""

import re
from dataclasses import dataclass, fields
from typing import Any, Literal, Self

from worker_manager.client._exceptions import UnexpectedAnswer
from worker_manager.contract.msg import (
    ConfigAnswer,
    SubscriberAnswer,
    WorkerAnswer,
    WorkersAnswer,
)

Worker = WorkerAnswer
Workers = WorkersAnswer
Config = ConfigAnswer
Subscriber = SubscriberAnswer
PinKind = Literal["spki", "certificate"]


@dataclass(frozen=True, slots=True)
class NodeInfo:
    chain_id: str
    contract_address: str
    code_hash: str
    admin: str
    height: int
    workers: int
    version: str

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Self:
        return cls(
            chain_id=data["chain_id"],
            contract_address=data["contract_address"],
            code_hash=data["code_hash"],
            admin=data["admin"],
            height=int(data["height"]),
            workers=int(data["workers"]),
            version=str(data.get("version", "")),
        )


@dataclass(frozen=True, slots=True)
class Account:
    address: str
    account_number: int
    sequence: int
    public_key: str | None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Self:
        return cls(
            address=data["address"],
            account_number=int(data["account_number"]),
            sequence=int(data["sequence"]),
            public_key=data.get("public_key"),
        )


@dataclass(frozen=True, slots=True)
class TxResult:
    """A tx's outcome in its block. ``data`` is the contract's JSON answer."""

    txhash: str
    height: int
    code: int
    error: str | None
    log: str
    data: Any
    events: list[dict[str, Any]]
    gas_wanted: int
    gas_used: int
    time: str

    @property
    def ok(self) -> bool:
        return self.code == 0

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Self:
        return cls(
            txhash=data["txhash"],
            height=int(data["height"]),
            code=int(data["code"]),
            error=data.get("error"),
            log=data.get("log", ""),
            data=data.get("data"),
            events=data.get("events", []),
            gas_wanted=int(data.get("gas_wanted", 0)),
            gas_used=int(data.get("gas_used", 0)),
            time=data.get("time", ""),
        )


@dataclass(frozen=True, slots=True)
class TxInfo:
    """A committed tx as the node recorded it."""

    result: TxResult
    sender: str
    sequence: int | None
    messages: list[dict[str, Any]]
    fee: dict[str, Any]
    memo: str
    kind: str

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Self:
        return cls(
            result=TxResult.from_json(data),
            sender=data["sender"],
            sequence=data.get("sequence"),
            messages=data.get("messages", []),
            fee=data.get("fee", {}),
            memo=data.get("memo", ""),
            kind=data.get("kind", ""),
        )


@dataclass(frozen=True, slots=True)
class Queued:
    """A tx the node accepted and queued (``wait=False``); look it up by ``txhash`` later."""

    txhash: str


# Endpoints (get_endpoints) ------------------------------------------------------

_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
#: The TLS bindings an endpoint may report, and the form of report_data[0:32] each means.
TLS_BINDING_FORMS: dict[str, PinKind] = {
    "secretvm_tls:spki": "spki",
    "secretvm_tls:certificate": "certificate",
    "worker_key:tls": "spki",
}


def _object(value: object, what: str, keys: frozenset[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise UnexpectedAnswer(f"{what} is not a JSON object")
    if set(value) != keys:
        missing, unknown = sorted(keys - set(value)), sorted(set(value) - keys)
        raise UnexpectedAnswer(f"{what}: missing fields {missing}, unknown fields {unknown}")
    return value


def _opt_str(data: dict[str, Any], key: str, what: str) -> str | None:
    value: object = data[key]
    if value is None or isinstance(value, str):
        return value
    raise UnexpectedAnswer(f"{what}.{key} is not a string")


def _str(data: dict[str, Any], key: str, what: str) -> str:
    value = _opt_str(data, key, what)
    if value is None:
        raise UnexpectedAnswer(f"{what}.{key} is null")
    return value


def _int(data: dict[str, Any], key: str, what: str) -> int | None:
    value: object = data[key]
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise UnexpectedAnswer(f"{what}.{key} is not a non-negative integer")
    return value


def _sha256(data: dict[str, Any], key: str, what: str) -> str | None:
    value = _opt_str(data, key, what)
    if value is not None and not _SHA256_HEX.fullmatch(value):
        raise UnexpectedAnswer(f"{what}.{key} is not a SHA-256 in lowercase hex")
    return value


def _hex(data: dict[str, Any], key: str, what: str) -> str | None:
    value = _opt_str(data, key, what)
    if value is not None and not re.fullmatch(r"[0-9a-f]+", value):
        raise UnexpectedAnswer(f"{what}.{key} is not lowercase hex")
    return value


@dataclass(frozen=True, slots=True)
class Pin:
    """What a pinned client accepts: the SHA-256 (lowercase hex) of the server's
    SubjectPublicKeyInfo DER (``kind`` ``spki``) or of its whole certificate DER
    (``certificate``)."""

    kind: PinKind
    sha256: str


@dataclass(frozen=True, slots=True)
class EndpointAttestation:
    """The registry's verdict on an endpoint's worker, in short (``status``: ``valid``,
    ``rejected``, ``unverified``, ``unchecked`` or ``not_attested``)."""

    status: str
    tcb_status: str | None
    measurement_label: str | None
    binding: str | None
    verified_at: int | None
    collateral_sha256: str | None
    policy_sha256: str | None

    @classmethod
    def from_json(cls, value: object) -> Self:
        what = "attestation"
        data = _object(value, what, _ATTESTATION_KEYS)
        return cls(
            status=_str(data, "status", what),
            tcb_status=_opt_str(data, "tcb_status", what),
            measurement_label=_opt_str(data, "measurement_label", what),
            binding=_opt_str(data, "binding", what),
            verified_at=_int(data, "verified_at", what),
            collateral_sha256=_hex(data, "collateral_sha256", what),
            policy_sha256=_hex(data, "policy_sha256", what),
        )


@dataclass(frozen=True, slots=True)
class EndpointEvidence:
    """What a client needs to verify an endpoint's worker itself: its attestation report
    exactly as registered (a quote, or the JSON envelope), and the SHA-256 of the
    collateral the node verified it with."""

    attestation_report: str
    collateral_sha256: str | None

    @classmethod
    def from_json(cls, value: object) -> Self:
        what = "evidence"
        data = _object(value, what, _EVIDENCE_KEYS)
        return cls(
            attestation_report=_str(data, "attestation_report", what),
            collateral_sha256=_hex(data, "collateral_sha256", what),
        )


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One served worker's URL with what a client needs to pin it (``get_endpoints``).

    ``tls_binding`` says how the worker's quote binds a TLS certificate
    (``secretvm_tls:spki``, ``secretvm_tls:certificate`` or ``worker_key:tls``), or
    None: nothing bound.
    ``certificate_sha256`` and ``spki_sha256`` are the SHA-256 (hex) of the DER
    certificate the node saw the URL serve, and of its SubjectPublicKeyInfo, when
    it matched the quote's binding (else None); ``endpoint_checked_at`` is the node's
    last check of the URL (unix seconds). ``evidence`` is there when asked for.
    """

    url: str
    ip_address: str
    worker_type: str
    tls_binding: str | None
    certificate_sha256: str | None
    spki_sha256: str | None
    endpoint_checked_at: int | None
    attestation: EndpointAttestation | None
    evidence: EndpointEvidence | None

    @property
    def pin(self) -> Pin | None:
        """What to pin: the key (``spki``) when known, as it survives a certificate
        re-issued with the same key, but the whole certificate when the quote binds the
        whole certificate; None when the endpoint is not pinnable."""
        if self.tls_binding == "secretvm_tls:certificate" and self.certificate_sha256:
            return Pin("certificate", self.certificate_sha256)
        if self.spki_sha256 is not None:
            return Pin("spki", self.spki_sha256)
        if self.certificate_sha256 is not None:
            return Pin("certificate", self.certificate_sha256)
        return None

    @classmethod
    def from_json(cls, value: object) -> Self:
        what = "endpoint"
        data = _object(value, what, _ENDPOINT_KEYS)
        tls_binding = _opt_str(data, "tls_binding", what)
        if tls_binding is not None and tls_binding not in TLS_BINDING_FORMS:
            raise UnexpectedAnswer(f"endpoint.tls_binding {tls_binding!r} is not known")
        attestation, evidence = data["attestation"], data["evidence"]
        return cls(
            url=_str(data, "url", what),
            ip_address=_str(data, "ip_address", what),
            worker_type=_str(data, "worker_type", what),
            tls_binding=tls_binding,
            certificate_sha256=_sha256(data, "certificate_sha256", what),
            spki_sha256=_sha256(data, "spki_sha256", what),
            endpoint_checked_at=_int(data, "endpoint_checked_at", what),
            attestation=None if attestation is None else EndpointAttestation.from_json(attestation),
            evidence=None if evidence is None else EndpointEvidence.from_json(evidence),
        )


_ATTESTATION_KEYS = frozenset(f.name for f in fields(EndpointAttestation))
_EVIDENCE_KEYS = frozenset(f.name for f in fields(EndpointEvidence))
_ENDPOINT_KEYS = frozenset(f.name for f in fields(Endpoint))


def endpoints_from_json(answer: object) -> list[Endpoint]:
    """The endpoints of a ``get_endpoints`` answer; :class:`UnexpectedAnswer` if malformed."""
    data = _object(answer, "the get_endpoints answer", frozenset({"endpoints"}))
    if not isinstance(data["endpoints"], list):
        raise UnexpectedAnswer("endpoints is not a list")
    return [Endpoint.from_json(item) for item in data["endpoints"]]
