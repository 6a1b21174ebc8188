"""Every way the contract can refuse, as typed errors with stable codes.

Each refusal is a subclass of :class:`ContractError` with a ``code`` that
never changes (clients and the HTTP layer match on it, never on the text) and
typed attributes naming the value at fault. Raising one inside ``execute``
aborts the whole message: the node rolls its store transaction back.
"""

from typing import ClassVar


def error_json(code: str, message: str) -> dict[str, dict[str, str]]:
    """CosmWasm's ``StdError::GenericErr`` shape for a refusal with ``code`` and ``message``.

    The one definition of the error JSON a client sees: :meth:`ContractError.to_json`
    uses it, and the LCD rebuilds it from a recorded tx's ``error`` and ``log``.
    """
    return {"generic_err": {"msg": f"{code}: {message}"}}


class ContractError(Exception):
    """Base of all contract refusals. ``code`` is stable; ``str(err)`` is for people."""

    code: ClassVar[str] = "contract_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __eq__(self, other: object) -> bool:
        return (
            type(self) is type(other)
            and isinstance(other, ContractError)
            and self.__dict__ == other.__dict__
        )

    def __hash__(self) -> int:
        return hash((type(self), self.message))

    def to_json(self) -> dict[str, dict[str, str]]:
        """CosmWasm's ``StdError::GenericErr`` shape, which Secret clients print as-is."""
        return error_json(self.code, self.message)


class InvalidMessage(ContractError):
    """The message is not valid JSON of a known shape, or a field has the wrong type."""

    code = "invalid_message"


class InvalidUnicode(ContractError):
    """The message holds text that is not valid Unicode: a lone UTF-16 surrogate (an
    escaped ``\\ud800``) or bytes that are not UTF-8, which no database or client could
    store."""

    code = "invalid_unicode"

    def __init__(self, where: str, code_point: int | None = None) -> None:
        if code_point is None:
            text = f"{where} is not valid UTF-8 text"
        else:
            text = f"{where} holds U+{code_point:04X}, a lone surrogate, which is not valid Unicode"
        super().__init__(text)
        self.where = where
        self.code_point = code_point

    @classmethod
    def from_bytes(cls, offset: int) -> "InvalidUnicode":
        return cls(f"the message, from byte {offset},")


class UnknownMessage(ContractError):
    """The message names no execute or query this contract has."""

    code = "unknown_message"

    def __init__(self, name: str, kind: str, known: list[str]) -> None:
        super().__init__(f"unknown {kind} message {name!r}; expected one of: {', '.join(known)}")
        self.name = name


class NotInstantiated(ContractError):
    """The contract has no state yet; ``instantiate`` must run first."""

    code = "not_instantiated"

    def __init__(self) -> None:
        super().__init__("the contract has not been instantiated")


class AlreadyInstantiated(ContractError):
    """``instantiate`` runs once per contract."""

    code = "already_instantiated"

    def __init__(self) -> None:
        super().__init__("the contract is already instantiated")


class Unauthorized(ContractError):
    """The sender lacks the role the message needs (``required`` names it)."""

    code = "unauthorized"

    def __init__(self, sender: str, required: str) -> None:
        super().__init__(f"sender {sender} is not {required}")
        self.sender = sender
        self.required = required


class Paused(ContractError):
    """The admin paused the contract; only admin messages run until it is unpaused."""

    code = "paused"

    def __init__(self) -> None:
        super().__init__("the contract is paused by its admin; try again after it is unpaused")


class WorkerNotFound(ContractError):
    """No worker is registered under this address."""

    code = "worker_not_found"

    def __init__(self, ip_address: str) -> None:
        super().__init__(f"no worker is registered at {ip_address}")
        self.ip_address = ip_address


class WorkerExists(ContractError):
    """A worker is already registered under this address (we never overwrite one)."""

    code = "worker_exists"

    def __init__(self, ip_address: str) -> None:
        super().__init__(f"a worker is already registered at {ip_address}")
        self.ip_address = ip_address


class TooManyWorkers(ContractError):
    """The payment wallet already owns as many workers as the config allows
    (``max_workers_per_owner``); only the admin may go past it."""

    code = "too_many_workers"

    def __init__(self, payment_wallet: str, limit: int) -> None:
        super().__init__(
            f"payment wallet {payment_wallet} already owns {limit} workers, the most "
            "max_workers_per_owner allows (the admin may register more, or raise it)"
        )
        self.payment_wallet = payment_wallet
        self.limit = limit


class WorkerKeyInUse(ContractError):
    """Another worker already holds this worker public key."""

    code = "worker_key_in_use"

    def __init__(self, public_key: str, ip_address: str) -> None:
        super().__init__(f"worker key {public_key} is already used by the worker at {ip_address}")
        self.public_key = public_key
        self.ip_address = ip_address


class InvalidField(ContractError):
    """A field's value is malformed; ``field`` names it and the message says why."""

    code = "invalid_field"

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class InvalidAddress(InvalidField):
    """A ``secret1…`` address failed its bech32, prefix or length check."""

    code = "invalid_address"


class InvalidIpAddress(InvalidField):
    """A worker address is not an IPv4/IPv6 address or DNS name (with optional port)."""

    code = "invalid_ip_address"


class InvalidWorkerType(InvalidField):
    """A worker type is empty, too long, or uses characters outside the documented alphabet."""

    code = "invalid_worker_type"


class InvalidUrl(InvalidField):
    """A worker URL or URL template is not a usable http(s) URL."""

    code = "invalid_url"


class AttestationTooLarge(ContractError):
    """The attestation report is over the configured size cap."""

    code = "attestation_too_large"

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(
            f"attestation_report is {size} bytes; the limit is {limit} bytes "
            "(config max_attestation_report_bytes)"
        )
        self.size = size
        self.limit = limit


class InvalidSignature(ContractError):
    """A subscriber proof (or other signature) is missing, malformed or does not verify."""

    code = "invalid_signature"

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class SubscriberNotAllowed(ContractError):
    """The config requires listed subscribers and this key is not on the list."""

    code = "subscriber_not_allowed"

    def __init__(self, public_key: str) -> None:
        super().__init__(f"subscriber {public_key} is not on the subscriber list")
        self.public_key = public_key


class SubscriberExists(ContractError):
    """The subscriber is already on the list."""

    code = "subscriber_exists"

    def __init__(self, public_key: str) -> None:
        super().__init__(f"subscriber {public_key} is already on the list")
        self.public_key = public_key


class SubscriberNotFound(ContractError):
    """The subscriber is not on the list."""

    code = "subscriber_not_found"

    def __init__(self, public_key: str) -> None:
        super().__init__(f"subscriber {public_key} is not on the list")
        self.public_key = public_key


class NoPendingAdmin(ContractError):
    """``accept_admin`` or ``cancel_admin_proposal`` with no proposal open."""

    code = "no_pending_admin"

    def __init__(self) -> None:
        super().__init__("no admin hand-over has been proposed")


class AttestationRefused(ContractError):
    """Under a policy in ``reject`` mode, the attestation report did not verify."""

    code = "attestation_refused"

    def __init__(self, status: str, reasons: tuple[str, ...], message: str) -> None:
        super().__init__(f"attestation {status} ({', '.join(reasons)}): {message}")
        self.status = status
        self.reasons = reasons


class StaleChallenge(ContractError):
    """The answer is not to the current or the previous epoch's challenge."""

    code = "stale_challenge"

    def __init__(self, ip_address: str, epoch: int) -> None:
        super().__init__(
            f"worker {ip_address} answered a challenge that is neither epoch {epoch}'s nor "
            f"epoch {epoch - 1}'s; fetch the current one (get_liveliness_challenge)"
        )
        self.ip_address = ip_address
        self.epoch = epoch


class ReportAlreadyFiled(ContractError):
    """The worker already reported work for this period (it is never counted twice)."""

    code = "report_already_filed"

    def __init__(self, ip_address: str, period: int) -> None:
        super().__init__(f"worker {ip_address} already reported its work for period {period}")
        self.ip_address = ip_address
        self.period = period


class InvalidConfig(InvalidField):
    """A config value is out of range or inconsistent."""

    code = "invalid_config"


class PermitRefused(ContractError):
    """A SNIP-24 query permit that does not apply here: another chain, another contract,
    or without the permission the query needs (``reason`` says which)."""

    code = "permit_refused"

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class PermitRevoked(PermitRefused):
    """The permit's signer revoked permits of this name (``revoke_permit``)."""

    code = "permit_revoked"

    def __init__(self, permit_name: str, account: str) -> None:
        super().__init__(f"permit {permit_name!r} was revoked by its signer {account}")
        self.permit_name = permit_name
        self.account = account
