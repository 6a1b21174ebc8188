"""The synchronous client."""

import threading
import time
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any, Self

import httpx

from worker_manager.client._base import (
    BaseClient,
    Message,
    endpoints_params,
    liveliness_message,
    message_json,
    permit_workers_query,
    raise_for_answer,
    subscribers_query,
    tx_result,
    urls_query,
    work_message,
    work_reports_page,
    work_reports_query,
    work_totals_query,
    worker_addresses_query,
    workers_query,
)
from worker_manager.client._exceptions import TransportError, TxRejected
from worker_manager.client._types import (
    Account,
    Config,
    Endpoint,
    NodeInfo,
    Queued,
    Subscriber,
    TxInfo,
    TxResult,
    Worker,
    Workers,
    endpoints_from_json,
)
from worker_manager.contract.msg import ChallengeAnswer, WorkReportAnswer, WorkTotalAnswer
from worker_manager.keys import PrivateKey
from worker_manager.tx import TxCoin


class Client(BaseClient[TxResult]):
    """Talk to a worker-manager node: sign and send execute messages, run queries.

    Example::

        from worker_manager.client import Client
        from worker_manager.keys.mnemonic import key_from_mnemonic

        with Client("http://127.0.0.1:1317", key=key_from_mnemonic(words)) as client:
            client.register_worker("10.0.0.1", client.address, quote_hex, "llama3.3:70b")
            print(client.urls(model="llama3.3:70b"))

    Parameters: ``url`` of the node; ``key`` to sign with (queries need none);
    ``fee`` recorded with each tx (never charged); ``timeout`` in seconds.
    Sequences are tracked here; one client may be shared by threads.
    """

    def __init__(
        self,
        url: str,
        *,
        key: PrivateKey | None = None,
        timeout: float = 45.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        super().__init__(url, key=key, timeout=timeout)
        self._http = httpx.Client(base_url=self.url, timeout=timeout, transport=transport)
        self._lock = threading.Lock()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise TransportError(f"cannot reach {self.url}: {exc}") from exc
        return raise_for_answer(response)

    # node -------------------------------------------------------------------

    def info(self) -> NodeInfo:
        """Chain id, contract address, code hash, height (cached after the first call)."""
        if self._info is None:
            self._info = NodeInfo.from_json(self._call("GET", "/v1/info"))
        return self._info

    def account(self, address: str | None = None) -> Account:
        """An account's number and next sequence (this client's own by default)."""
        return Account.from_json(self._call("GET", f"/v1/accounts/{address or self.address}"))

    def tx(self, txhash: str) -> TxInfo:
        """A committed tx; raises :class:`NotFound` until its block commits."""
        return TxInfo.from_json(self._call("GET", f"/v1/txs/{txhash}"))

    def block(self, height: int | str = "latest") -> dict[str, Any]:
        """A committed block and the txs it holds."""
        result: dict[str, Any] = self._call("GET", f"/v1/blocks/{height}")
        return result

    # transactions -----------------------------------------------------------

    def _send(self, msg: Message, funds: Sequence[TxCoin], memo: str, wait: bool) -> dict[str, Any]:
        info = self.info()
        with self._lock:
            for attempt in (1, 2):
                if self._account is None:
                    self._account = self.account()
                body = self._broadcast_body(self._sign(msg, funds, memo, info, self._account), wait)
                try:
                    answer: dict[str, Any] = self._call("POST", "/v1/txs", json=body)
                except TxRejected as exc:
                    self._account = None  # re-read the sequence next time
                    if exc.code == "wrong_sequence" and attempt == 1:
                        continue
                    raise
                self._advance()
                return answer
        raise AssertionError("unreachable")  # pragma: no cover

    def execute(self, msg: Message, *, funds: Sequence[TxCoin] = (), memo: str = "") -> TxResult:
        """Sign and send any execute message and wait for its block.

        Raises :class:`TxRejected` if the node refuses the tx, :class:`TxFailed` if
        the contract refuses it in its block.
        """
        return tx_result(self._send(msg, funds, memo, wait=True))

    def submit(self, msg: Message, *, funds: Sequence[TxCoin] = (), memo: str = "") -> Queued:
        """Sign and send without waiting; look the result up with :meth:`tx`."""
        return Queued(self._send(msg, funds, memo, wait=False)["txhash"])

    def report_liveliness(
        self,
        ip_address: str,
        *,
        worker_key: PrivateKey | None = None,
        load: int = 0,
        challenge: str | None = None,
    ) -> TxResult:
        """Answer this epoch's challenge for a worker (signed by ``worker_key`` if given)."""
        answer = challenge or self.liveliness_challenge().challenge
        return self.execute(
            liveliness_message(
                self.info(), ip_address, answer, load, worker_key=worker_key, signer=self.key
            )
        )

    def report_work(
        self,
        ip_address: str,
        period: int,
        usage: list[dict[str, Any]],
        *,
        worker_key: PrivateKey | None = None,
    ) -> TxResult:
        """Report a finished period's usage lines (signed by ``worker_key`` if given)."""
        return self.execute(
            work_message(
                self.info(), ip_address, period, usage, worker_key=worker_key, signer=self.key
            )
        )

    # queries ----------------------------------------------------------------

    def liveliness_challenge(self) -> ChallengeAnswer:
        """The current epoch, its challenge, when it expires and the epoch length."""
        return ChallengeAnswer.model_validate(self.query({"get_liveliness_challenge": {}}))

    def work_totals(self, by: str, **filters: Any) -> list[WorkTotalAnswer]:
        """Usage summed per worker, subscriber, period or wallet (every page)."""
        totals: list[WorkTotalAnswer] = []
        after = filters.pop("start_after", None)
        while True:
            page = self.query(work_totals_query(by, start_after=after, **filters))
            totals.extend(WorkTotalAnswer.model_validate(t) for t in page["totals"])
            after = page.get("next_start_after")
            if after is None:
                return totals

    def worker_addresses(self) -> list[str]:
        """Every worker's address, in key order (every page)."""
        addresses: list[str] = []
        after: str | None = None
        while True:
            page = self.query(worker_addresses_query(after))
            addresses.extend(page["addresses"])
            after = page.get("next_start_after")
            if after is None:
                return addresses

    def work_reports(self, **filters: Any) -> list[WorkReportAnswer]:
        """Work reports, in (period, worker) order (every page, 1,000 a query)."""
        found: list[WorkReportAnswer] = []
        following: dict[str, Any] | None = filters
        while following is not None:
            page, following = work_reports_page(
                self.query(work_reports_query(**following)), following
            )
            found.extend(page)
        return found

    def query(self, msg: Message) -> Any:
        """Run any query message (typed, or as JSON) and return its JSON answer."""
        return self._call("POST", "/v1/query", json=message_json(msg))

    def workers(
        self,
        *,
        subscriber_key: PrivateKey | None = None,
        signature: str | None = None,
        subscriber_public_key: str | None = None,
        address: str | None = None,
        start_after: str | None = None,
        limit: int | None = None,
        legacy_proof: bool = False,
        proof_time: int | None = None,
        permit: Mapping[str, Any] | None = None,
    ) -> Workers:
        """One page of workers, for a subscriber's proof: made from ``subscriber_key``
        (time-bound, for this node's chain and contract and the current time; the
        original's replayable proof with ``legacy_proof``), or given; or for the signer
        of a SNIP-24 ``permit`` (:func:`make_permit`)."""
        if permit is not None:
            page = permit_workers_query(
                permit, address=address, start_after=start_after, limit=limit
            )
            return Workers.model_validate(self.query(page))
        bound_to = None
        if subscriber_key is not None and not legacy_proof:
            info = self.info()
            now = int(time.time()) if proof_time is None else proof_time
            bound_to = (info.chain_id, info.contract_address, now)
        msg = workers_query(
            subscriber_key,
            signature,
            subscriber_public_key,
            bound_to=bound_to,
            proof_time=proof_time,
            address=address,
            start_after=start_after,
            limit=limit,
        )
        return Workers.model_validate(self.query(msg))

    def worker(self, ip_address: str) -> Worker:
        """One worker by address."""
        return Worker.model_validate(self.query({"get_worker": {"ip_address": ip_address}}))

    def models(self) -> list[str]:
        """The models served, sorted."""
        return list(self.query({"get_models": {}})["models"])

    def urls(
        self, model: str | None = None, *, subscriber: str | None = None, limit: int | None = None
    ) -> list[str]:
        """URLs of the live workers serving ``model`` (all if None), in the order
        assigned to ``subscriber``."""
        return list(self.query(urls_query(model, limit, subscriber))["urls"])

    def endpoints(
        self,
        model: str | None = None,
        *,
        subscriber: str | None = None,
        evidence: bool = False,
        limit: int | None = None,
    ) -> list[Endpoint]:
        """The served workers of ``model`` (all if None), in the order assigned to
        ``subscriber`` (the order of :meth:`urls`), each with the TLS fingerprints to pin
        (see :func:`pinned_client`); with ``evidence``, each also carries its attestation
        report, to check with :func:`verify_endpoint`. Raises :class:`UnexpectedAnswer`
        for an answer not in the documented shape."""
        params = endpoints_params(model, subscriber, evidence, limit)
        return endpoints_from_json(self._call("GET", "/v1/endpoints", params=params))

    def config(self) -> Config:
        """The contract's settings."""
        return Config.model_validate(self.query({"get_config": {}}))

    def subscribers(
        self, *, start_after: str | None = None, limit: int | None = None
    ) -> list[Subscriber]:
        """The subscriber list, in key order."""
        answer = self.query(subscribers_query(start_after, limit))
        return [Subscriber.model_validate(s) for s in answer["subscribers"]]
