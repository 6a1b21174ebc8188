"""What the sync and async clients share: messages, signing, and reading answers.

No I/O here. The twins in ``_client.py`` and ``_async.py`` send what this builds
and hand the answers back to it.
"""

import base64
import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Generic, TypeVar

import httpx
from pydantic import BaseModel

from worker_manager.client._exceptions import (
    ContractRefused,
    NodeError,
    NotFound,
    TxFailed,
    TxRejected,
)
from worker_manager.client._types import Account, NodeInfo, TxResult
from worker_manager.contract.auth import time_bound_proof_text
from worker_manager.contract.liveliness import liveliness_sign_bytes, work_sign_bytes
from worker_manager.contract.msg import (
    ExecuteMsg,
    PermitParams,
    QueryMsg,
    WorkReportAnswer,
    message_name,
)
from worker_manager.contract.permit import PERMISSION_WORKERS, PUB_KEY_TYPE, permit_sign_doc
from worker_manager.keys import PrivateKey
from worker_manager.tx import DEFAULT_FEE, Fee, TxCoin, build_execute_tx

DEFAULT_TIMEOUT_S = 45.0
CONTRACT_ERROR_STATUSES = frozenset({400, 401, 403, 404, 409, 503})
#: Codes the node uses for its own refusals (not the contract's).
NODE_ERROR_CODES = frozenset(
    {
        "tx_not_found",
        "block_not_found",
        "invalid_request",
        "commit_timeout",
        "node_unavailable",
        "not_found",
        "method_not_allowed",
    }
)

R = TypeVar("R")


def subscriber_proof(key: PrivateKey) -> dict[str, str]:
    """The original contract's ``get_workers`` proof: a signature over sha256(public key).

    Anyone who sees it can replay it for ever; prefer :func:`time_bound_proof`."""
    public = key.public_key
    return {"signature": key.sign(public).hex(), "subscriber_public_key": public.hex()}


def time_bound_proof(
    key: PrivateKey, chain_id: str, contract: str, proof_time: int
) -> dict[str, str | int]:
    """A ``get_workers`` proof good for one contract and a few minutes around
    ``proof_time`` (unix seconds; the contract's ``proof_window_seconds``)."""
    text = time_bound_proof_text(chain_id, contract, proof_time)
    return {
        "signature": key.sign(text).hex(),
        "subscriber_public_key": key.public_key.hex(),
        "proof_time": proof_time,
    }


def make_permit(
    key: PrivateKey,
    permit_name: str,
    allowed_tokens: Sequence[str],
    chain_id: str,
    permissions: Sequence[str] = (PERMISSION_WORKERS,),
) -> dict[str, Any]:
    """A SNIP-24 query permit signed by ``key``, as Keplr's ``signAmino`` makes one: good
    on ``chain_id`` for the contracts in ``allowed_tokens`` with ``permissions`` (this
    contract's ``get_workers`` needs ``workers``, or ``owner``), until ``key``'s account
    revokes ``permit_name`` (``revoke_permit``). Pass it to ``workers(permit=...)``."""
    params = PermitParams(
        permit_name=permit_name,
        allowed_tokens=list(allowed_tokens),
        chain_id=chain_id,
        permissions=list(permissions),
    )
    signature = key.sign(permit_sign_doc(params))
    return {
        "params": params.model_dump(mode="json"),
        "signature": {
            "pub_key": {
                "type": PUB_KEY_TYPE,
                "value": base64.b64encode(key.public_key).decode(),
            },
            "signature": base64.b64encode(signature).decode(),
        },
    }


#: What the client sends: a contract message, typed (``RegisterWorker(...)``) or as JSON.
Message = ExecuteMsg | QueryMsg | Mapping[str, Any]


def message_json(msg: Message) -> dict[str, Any]:
    """``msg`` as the contract's JSON: ``{"register_worker": {...}}``."""
    if isinstance(msg, BaseModel):
        return {message_name(msg): msg.model_dump(mode="json", exclude_none=True)}
    return dict(msg)


def _fields(**values: Any) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


def raise_for_answer(response: httpx.Response) -> Any:
    """The JSON body of a 2xx answer, or the right exception for an error answer."""
    if response.is_success:
        return response.json()
    try:
        body = response.json()
    except ValueError:
        body = {"code": "http_error", "detail": response.text[:500]}
    if not isinstance(body, dict):
        body = {"code": "http_error", "detail": str(body)[:500]}
    code = str(body.get("code", "http_error"))
    detail = str(body.get("detail", response.reason_phrase))
    if "tx_code" in body:
        raise TxRejected(response.status_code, code, detail, body)
    if response.status_code == 404 and code in ("tx_not_found", "block_not_found"):
        raise NotFound(response.status_code, code, detail, body)
    if response.status_code in CONTRACT_ERROR_STATUSES and code not in NODE_ERROR_CODES:
        raise ContractRefused(code, detail)
    raise NodeError(response.status_code, code, detail, body)


def tx_result(data: dict[str, Any]) -> TxResult:
    """A committed tx's result; raises :class:`TxFailed` if the tx failed."""
    result = TxResult.from_json(data)
    if not result.ok:
        raise TxFailed(
            result.error or "tx_failed", result.log, txhash=result.txhash, height=result.height
        )
    return result


class BaseClient(ABC, Generic[R]):
    """Shared state and helpers. ``R`` is what an execute returns (a result, or an awaitable)."""

    def __init__(
        self,
        url: str,
        *,
        key: PrivateKey | None = None,
        fee: Fee = DEFAULT_FEE,
        timeout: float = DEFAULT_TIMEOUT_S,
    ) -> None:
        self.url = url.rstrip("/")
        self.key = key
        self.fee = fee
        self.timeout = timeout
        self._info: NodeInfo | None = None
        self._account: Account | None = None

    @property
    def address(self) -> str:
        if self.key is None:
            raise ValueError("this client has no key; pass key=... to send transactions")
        return self.key.address

    def _sign(
        self,
        msg: Message,
        funds: Sequence[TxCoin],
        memo: str,
        info: NodeInfo,
        account: Account,
    ) -> bytes:
        assert self.key is not None
        return build_execute_tx(
            self.key,
            info.contract_address,
            json.dumps(message_json(msg), separators=(",", ":")).encode(),
            chain_id=info.chain_id,
            account_number=account.account_number,
            sequence=account.sequence,
            sent_funds=tuple(funds),
            fee=self.fee,
            memo=memo,
            with_hint=True,
        )

    @staticmethod
    def _broadcast_body(tx_bytes: bytes, wait: bool) -> dict[str, str]:
        return {
            "tx_bytes": base64.b64encode(tx_bytes).decode(),
            "mode": "commit" if wait else "sync",
        }

    def _advance(self) -> None:
        assert self._account is not None
        a = self._account
        self._account = Account(a.address, a.account_number, a.sequence + 1, a.public_key)

    # Every execute message, once; ``execute`` does the I/O in each twin. ------------

    @abstractmethod
    def execute(self, msg: dict[str, Any], *, funds: Sequence[TxCoin] = (), memo: str = "") -> R:
        """Sign ``msg``, broadcast it and wait for its block (each twin does the I/O)."""

    def register_worker(
        self,
        ip_address: str,
        payment_wallet: str,
        attestation_report: str,
        worker_type: str,
        *,
        url: str | None = None,
        worker_public_key: str | None = None,
        capacity: int | None = None,
        funds: Sequence[TxCoin] = (),
    ) -> R:
        """Register a worker (admin, or anyone in open registration)."""
        body = _fields(
            ip_address=ip_address,
            payment_wallet=payment_wallet,
            attestation_report=attestation_report,
            worker_type=worker_type,
            url=url,
            worker_public_key=worker_public_key,
            capacity=capacity,
        )
        return self.execute({"register_worker": body}, funds=funds)

    def set_worker_wallet(self, ip_address: str, payment_wallet: str) -> R:
        """Hand a worker you own to another payment wallet."""
        body = {"ip_address": ip_address, "payment_wallet": payment_wallet}
        return self.execute({"set_worker_wallet": body})

    def set_worker_address(self, old_ip_address: str, new_ip_address: str) -> R:
        """Move a worker you own to a free address."""
        body = {"old_ip_address": old_ip_address, "new_ip_address": new_ip_address}
        return self.execute({"set_worker_address": body})

    def set_worker_type(self, ip_address: str, worker_type: str) -> R:
        """Change the model a worker you own serves."""
        return self.execute(
            {"set_worker_type": {"ip_address": ip_address, "worker_type": worker_type}}
        )

    def set_worker_url(self, ip_address: str, url: str | None) -> R:
        """Set (or clear, with None) the URL of a worker you own."""
        return self.execute({"set_worker_url": {"ip_address": ip_address, "url": url}})

    def remove_worker(self, ip_address: str) -> R:
        """Remove a worker you own (or any worker, as the admin)."""
        return self.execute({"remove_worker": {"ip_address": ip_address}})

    def set_worker_paused(self, ip_address: str, paused: bool) -> R:
        """Take a worker you own out of service, or put it back."""
        return self.execute({"set_worker_paused": {"ip_address": ip_address, "paused": paused}})

    def propose_admin(self, new_admin: str) -> R:
        """Offer the admin role (admin only); it moves when ``new_admin`` accepts."""
        return self.execute({"propose_admin": {"new_admin": new_admin}})

    def accept_admin(self) -> R:
        """Take the admin role proposed to this client's address."""
        return self.execute({"accept_admin": {}})

    def cancel_admin_proposal(self) -> R:
        """Withdraw an open admin proposal (admin only)."""
        return self.execute({"cancel_admin_proposal": {}})

    def add_subscriber(self, public_key: str) -> R:
        """Put a subscriber key on the list (admin only)."""
        return self.execute({"add_subscriber": {"public_key": public_key}})

    def remove_subscriber(self, public_key: str) -> R:
        """Take a subscriber key off the list (admin only)."""
        return self.execute({"remove_subscriber": {"public_key": public_key}})

    def set_config(
        self,
        *,
        registration_mode: str | None = None,
        url_template: str | None = None,
        max_attestation_report_bytes: int | None = None,
        require_listed_subscribers: bool | None = None,
        epoch_seconds: int | None = None,
        grace_epochs: int | None = None,
        offline_after_epochs: int | None = None,
        work_period_seconds: int | None = None,
        work_report_window_periods: int | None = None,
    ) -> R:
        """Change contract settings (admin only); omitted ones stay."""
        body = _fields(
            registration_mode=registration_mode,
            url_template=url_template,
            max_attestation_report_bytes=max_attestation_report_bytes,
            require_listed_subscribers=require_listed_subscribers,
            epoch_seconds=epoch_seconds,
            grace_epochs=grace_epochs,
            offline_after_epochs=offline_after_epochs,
            work_period_seconds=work_period_seconds,
            work_report_window_periods=work_report_window_periods,
        )
        return self.execute({"set_config": body})

    def revoke_permit(self, permit_name: str) -> R:
        """Revoke this client's SNIP-24 permits named ``permit_name``: a permit of that
        name signed by this client's key is refused from the next block on."""
        return self.execute({"revoke_permit": {"permit_name": permit_name}})

    def pause(self) -> R:
        """Stop every non-admin execute (admin only)."""
        return self.execute({"pause": {}})

    def unpause(self) -> R:
        """Resume after ``pause`` (admin only)."""
        return self.execute({"unpause": {}})


def _needs_inner_signature(worker_key: PrivateKey | None, signer: PrivateKey | None) -> bool:
    """A worker key that signs the tx itself needs no second signature in the message."""
    return worker_key is not None and (signer is None or signer.secret != worker_key.secret)


def _worker_signed(
    name: str,
    body: dict[str, Any],
    sign_bytes: Callable[[], bytes],
    *,
    worker_key: PrivateKey | None,
    signer: PrivateKey | None,
) -> dict[str, Any]:
    """``{name: body}``, with the worker key's signature when it does not sign the tx."""
    if worker_key is not None and _needs_inner_signature(worker_key, signer):
        body = {**body, "signature": worker_key.sign(sign_bytes()).hex()}
    return {name: body}


def liveliness_message(
    info: NodeInfo,
    ip_address: str,
    challenge: str,
    load: int,
    *,
    worker_key: PrivateKey | None,
    signer: PrivateKey | None,
) -> dict[str, Any]:
    """``report_liveliness``, signed by the worker key when it does not sign the tx."""
    return _worker_signed(
        "report_liveliness",
        {"ip_address": ip_address, "challenge": challenge, "load": load},
        lambda: liveliness_sign_bytes(
            chain_id=info.chain_id,
            contract=info.contract_address,
            ip_address=ip_address,
            challenge=challenge,
            load=load,
        ),
        worker_key=worker_key,
        signer=signer,
    )


def work_message(
    info: NodeInfo,
    ip_address: str,
    period: int,
    usage: list[dict[str, Any]],
    *,
    worker_key: PrivateKey | None,
    signer: PrivateKey | None,
) -> dict[str, Any]:
    """``report_work``, signed by the worker key when it does not sign the tx."""
    return _worker_signed(
        "report_work",
        {"ip_address": ip_address, "period": period, "usage": usage},
        lambda: work_sign_bytes(
            chain_id=info.chain_id,
            contract=info.contract_address,
            ip_address=ip_address,
            period=period,
            usage=usage,
        ),
        worker_key=worker_key,
        signer=signer,
    )


PAGE_SIZE = 1000
"""How many addresses or reports the paging helpers ask for at once (the contract's cap)."""


def worker_addresses_query(start_after: str | None) -> dict[str, Any]:
    return {"get_worker_addresses": _fields(start_after=start_after, limit=PAGE_SIZE)}


def work_totals_query(by: str, **filters: Any) -> dict[str, Any]:
    return {"get_work_totals": {"by": by, **_fields(**filters)}}


def work_reports_query(**filters: Any) -> dict[str, Any]:
    return {"get_work_reports": _fields(**{**filters, "limit": PAGE_SIZE})}


def work_reports_page(
    answer: dict[str, Any], filters: dict[str, Any]
) -> tuple[list[WorkReportAnswer], dict[str, Any] | None]:
    """One page of reports, and the filters for the next page (``None`` after the last)."""
    page = [WorkReportAnswer.model_validate(r) for r in answer["reports"]]
    if len(page) < PAGE_SIZE:
        return page, None
    last = page[-1]
    return page, {**filters, "start_after": {"period": last.period, "ip_address": last.ip_address}}


def permit_workers_query(permit: Mapping[str, Any], **page: Any) -> dict[str, Any]:
    """``get_workers`` for the signer of a SNIP-24 ``permit`` (see :func:`make_permit`)."""
    return {"with_permit": {"permit": dict(permit), "query": {"get_workers": _fields(**page)}}}


def workers_query(
    subscriber_key: PrivateKey | None,
    signature: str | None,
    subscriber_public_key: str | None,
    *,
    bound_to: tuple[str, str, int] | None = None,
    proof_time: int | None = None,
    **page: Any,
) -> dict[str, Any]:
    """``get_workers`` with a proof: made from ``subscriber_key`` (time-bound when
    ``bound_to`` gives the chain id, contract and time; else the original's), or
    given (``signature``, ``subscriber_public_key``, and ``proof_time`` if time-bound)."""
    proof: dict[str, Any]
    if subscriber_key is not None:
        if bound_to is not None:
            proof = time_bound_proof(subscriber_key, *bound_to)
        else:
            proof = subscriber_proof(subscriber_key)
    elif signature is not None and subscriber_public_key is not None:
        proof = _fields(
            signature=signature, subscriber_public_key=subscriber_public_key, proof_time=proof_time
        )
    else:
        raise ValueError("get_workers needs subscriber_key, or signature and subscriber_public_key")
    return {"get_workers": {**proof, **_fields(**page)}}


def urls_query(model: str | None, limit: int | None, subscriber: str | None) -> dict[str, Any]:
    return {"get_u_r_ls": _fields(model=model, limit=limit, subscriber=subscriber)}


def subscribers_query(start_after: str | None, limit: int | None) -> dict[str, Any]:
    return {"get_subscribers": _fields(start_after=start_after, limit=limit)}


def endpoints_params(
    model: str | None, subscriber: str | None, evidence: bool, limit: int | None
) -> dict[str, str | int]:
    """The query string of ``GET /v1/endpoints`` (``get_endpoints``)."""
    params: dict[str, str | int] = _fields(model=model, subscriber=subscriber, limit=limit)
    if evidence:
        params["evidence"] = "true"
    return params
