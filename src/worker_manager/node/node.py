"""The node: one contract instance on one store, built whole, serving txs and queries.

A :class:`Node` is assembled from its parts in its constructor and never wired
afterwards: the chain state it reads (:mod:`.chain`), the tx pipeline that checks,
examines, queues and commits txs (:mod:`.pipeline`), and the query service that
answers from a per-version cache (:mod:`.queries`). The composition root
(:mod:`.bootstrap`) picks the concrete parts for a home; tests pass their own.
"""

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from worker_manager import contract
from worker_manager.contract import Api, Coin, ContractError
from worker_manager.node.ante import AnteContext, CheckState
from worker_manager.node.chain import ChainState, ForeignSeed, NodeNotInitialised
from worker_manager.node.clock import Clock
from worker_manager.node.collateral_refresh import CollateralHealth, CollateralRefresher
from worker_manager.node.endpoint_checker import EndpointChecker
from worker_manager.node.examiner import Examiner
from worker_manager.node.follower import DEFAULT_MAX_STALENESS_S, HeadFollower
from worker_manager.node.genesis import SEED_CHECK_KEY, seed_check, write_genesis
from worker_manager.node.identity import ChainIdentity
from worker_manager.node.metrics import NodeMetrics, NodeState, read_worker_counts
from worker_manager.node.pending import PendingTx, TxOutcome
from worker_manager.node.pipeline import TxPipeline
from worker_manager.node.producer import DEFAULT_INTERVAL_S
from worker_manager.node.queries import AccountInfo, ChainInfo, QueryService
from worker_manager.node.state_summary import StateSummaries
from worker_manager.secret.encryption import X25519KeyPair
from worker_manager.secret.envelopes import envelope_opener
from worker_manager.settings import (
    DEFAULT_ENDPOINT_CHECK_CONCURRENCY,
    DEFAULT_ENDPOINT_CHECK_INTERVAL_S,
    DEFAULT_ENDPOINT_CHECK_TIMEOUT_S,
    EndpointCheckMode,
)
from worker_manager.store import SchemaError, Store
from worker_manager.tx import MAX_TX_BYTES
from worker_manager.tx.records import BlockRecord, TxRecord

log = logging.getLogger(__name__)

RawMessage = bytes | str | Mapping[str, Any]

__all__ = ["ExecuteFailed", "ExecuteOutcome", "Node", "NodeNotInitialised"]


class ExecuteFailed(ContractError):
    """Raised by :meth:`Node.execute` when a trusted call fails in its block for a reason
    that is not the contract's (the contract's own refusals are re-raised as they are)."""

    code = "execute_failed"


@dataclass(frozen=True, slots=True)
class ExecuteOutcome:
    """A committed execute: the height it landed at and the contract's answer."""

    hash: str
    height: int
    time_ns: int
    data: bytes
    attributes: tuple[tuple[str, str], ...]


def _check_seed(store: Store, api: Api) -> None:
    """Refuse to run on a chain whose nodes use another seed (their challenges and
    encryption key would differ from this node's); a chain from before the check
    learns it from its first node."""
    expected = seed_check(api)
    with store.read() as session:
        stored = session.meta.get(SEED_CHECK_KEY)
    if stored is None:
        with store.write() as session:
            session.lock_blocks()
            if session.meta.get(SEED_CHECK_KEY) is None and session.meta.get("height"):
                session.meta.set(SEED_CHECK_KEY, expected)
        return
    if stored != expected:
        raise ForeignSeed(
            f"the chain in {store.safe_url} is run with another node seed than this home's "
            "secrets/node.seed; every node sharing a database needs the seed of the node "
            "that created it (create the home with worker-manager join --node-seed-file)"
        )


class Node:
    """One node over one store. Thread-safe; blocks are made by one producer thread.

    ``io_key`` is the node's x25519 key for Secret's encrypted messages (None: the
    node takes plaintext messages only); ``contract_aliases`` are other addresses its
    contract answers to (see :mod:`worker_manager.secret.aliases`).
    """

    def __init__(
        self,
        store: Store,
        clock: Clock,
        *,
        api: Api,
        examiner: Examiner | None = None,
        io_key: X25519KeyPair | None = None,
        contract_aliases: frozenset[str] = frozenset(),
        block_interval_s: float = DEFAULT_INTERVAL_S,
        max_tx_bytes: int = MAX_TX_BYTES,
        max_staleness_s: float = DEFAULT_MAX_STALENESS_S,
        endpoint_checks: EndpointCheckMode = "auto",
        endpoint_check_interval_s: float = DEFAULT_ENDPOINT_CHECK_INTERVAL_S,
        endpoint_check_timeout_s: float = DEFAULT_ENDPOINT_CHECK_TIMEOUT_S,
        endpoint_check_concurrency: int = DEFAULT_ENDPOINT_CHECK_CONCURRENCY,
        collateral_refresher: CollateralRefresher | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.schema_version = store.check_schema()
        _check_seed(store, api)
        with store.read() as session:
            self.chain = ChainState.load(session, store.safe_url)
            sequences = session.ledger.all_sequences()
        self.io_key = io_key
        check_state = CheckState(self._stored_sequence, sequences)
        chain = self.chain  # the ante reads the head of the moment
        ante = AnteContext(
            identity=chain.identity,
            check_state=check_state,
            is_paused=lambda: chain.head.config.paused,
            current_height=lambda: chain.head.height,
            max_tx_bytes=max_tx_bytes,
            decrypt=None
            if io_key is None
            else envelope_opener(io_key, self.chain.identity.code_hash),
            contract_aliases=contract_aliases,
        )
        #: Prometheus metrics (``GET /metrics``), this node's own registry.
        self.metrics = NodeMetrics()
        self.pipeline = TxPipeline(
            store,
            clock,
            self.chain,
            api=api,
            examiner=examiner or Examiner.empty(),
            ante=ante,
            block_interval_s=block_interval_s,
            metrics=self.metrics,
        )
        pipeline = self.pipeline
        self.metrics.watch(
            NodeState(
                height=lambda: chain.head.height,
                queue_depth=lambda: pipeline.producer.queued,
                worker_counts=lambda: read_worker_counts(store, api),
                collateral=self.collateral_health,
            )
        )
        #: ``GET /v1/state``'s summaries, computed at most once a second.
        self.state_summaries = StateSummaries(store)
        self.follower = HeadFollower(
            store, self.chain, forget=check_state.forget, max_staleness_s=max_staleness_s
        )
        #: Started by ``serve``; "auto" checks once an attestation policy exists.
        self.endpoint_checker = EndpointChecker(
            store,
            api,
            enabled=lambda: (
                endpoint_checks == "on"
                or (endpoint_checks == "auto" and chain.head.policy is not None)
            ),
            record=self.pipeline.record_endpoint_checks,
            interval_s=endpoint_check_interval_s,
            timeout_s=endpoint_check_timeout_s,
            concurrency=endpoint_check_concurrency,
        )
        #: Started by ``serve``: keeps the home's Intel collateral fresh (None: the node
        #: has no collateral directory, as in tests).
        self.collateral_refresher = collateral_refresher
        self.queries = QueryService(
            store,
            clock,
            self.chain,
            api=api,
            check_state=check_state,
            schema_version=self.schema_version,
            ensure_fresh=self.follower.ensure_fresh,
        )

    def _stored_sequence(self, address: str) -> int:
        with self.store.read() as session:
            account = session.ledger.get_account(address)
        return 0 if account is None else account.sequence

    # genesis ----------------------------------------------------------------

    @staticmethod
    def genesis(
        store: Store,
        *,
        chain_id: str,
        admin: str,
        clock: Clock,
        api: Api,
        instantiate_msg: RawMessage | None = None,
    ) -> ChainIdentity:
        """Create the chain in an empty, migrated store: block 1 instantiates the contract.

        One transaction; a refusal (bad admin address, bad config) leaves the store empty.
        """
        msg_json = contract.parse_instantiate(instantiate_msg or {}).model_dump(exclude_none=True)
        with store.write() as session:
            if ChainIdentity.load(session.meta) is not None:
                raise SchemaError(f"{store.safe_url} already holds a chain")
            identity = write_genesis(
                session,
                chain_id=chain_id,
                admin=admin,
                instantiate_msg=msg_json,
                time_ns=clock.now_ns(),
                api=api,
            )
        log.info(
            "created chain %s with contract %s (admin %s)",
            identity.chain_id,
            identity.contract_address,
            identity.creator,
        )
        return identity

    # the chain --------------------------------------------------------------

    @property
    def identity(self) -> ChainIdentity:
        return self.chain.identity

    @property
    def height(self) -> int:
        return self.chain.head.height

    @property
    def block_time_ns(self) -> int:
        return self.chain.head.time_ns

    @property
    def block_error(self) -> str | None:
        """Why the last block failed for a node-wide reason (None while blocks commit)."""
        return self.chain.block_error

    @property
    def max_tx_bytes(self) -> int:
        return self.pipeline.ante.max_tx_bytes

    def is_our_contract(self, address: str) -> bool:
        """Whether ``address`` names this node's contract (its own address or an alias)."""
        return self.pipeline.ante.is_our_contract(address)

    # transactions -----------------------------------------------------------

    def broadcast(self, tx_bytes: bytes) -> PendingTx:
        """Check a signed tx and queue it; raises :class:`AnteError` if it is refused.

        Wait on the returned ``future`` for the tx's block result.
        """
        return self.pipeline.broadcast(tx_bytes)

    def submit_internal(
        self, sender: str, msg: RawMessage, funds: Sequence[Coin] = ()
    ) -> PendingTx:
        """Queue a trusted, unsigned execute from ``sender`` (tools and tests, not the network)."""
        return self.pipeline.submit_internal(sender, msg, funds)

    def execute(self, sender: str, msg: RawMessage, funds: Sequence[Coin] = ()) -> ExecuteOutcome:
        """Run a trusted execute from ``sender`` and wait for its block.

        Raises the contract's :class:`ContractError` if it refuses; the refusal is
        still recorded in the tx log, and nothing else changes.
        """
        result = self.submit_internal(sender, msg, funds).future.result()
        if result.ok:
            record = self.queries.get_tx(result.hash)
            attributes = tuple(
                (a["key"], a["value"])
                for e in (json.loads(record.events) if record else [])
                if e["type"] == "wasm"
                for a in e["attributes"]
                if a["key"] not in ("contract_address", "msg_index")
            )
            return ExecuteOutcome(
                result.hash, result.height, result.time_ns, result.data, attributes
            )
        if result.exception is not None:
            raise result.exception
        raise ExecuteFailed(result.log)

    def tick(self) -> TxOutcome:
        """Mark the current epoch as up and wait for its block."""
        return self.pipeline.tick()

    def close(self) -> None:
        """Stop ticking and following, commit what is queued, and stop making blocks.
        The store stays open."""
        self.endpoint_checker.stop()
        if self.collateral_refresher is not None:
            self.collateral_refresher.stop()
        self.follower.stop()
        self.pipeline.close()

    # queries and lookups ----------------------------------------------------

    def query(self, raw: RawMessage) -> bytes:
        """Answer a query message with JSON bytes, or raise :class:`ContractError`."""
        return self.queries.query(raw)

    def cached_query(self, raw: bytes) -> bytes | None:
        """The ready answer for these exact query bytes, if its state is still current."""
        return self.queries.cached_query(raw)

    def info(self) -> ChainInfo:
        return self.queries.info()

    def collateral_health(self) -> CollateralHealth | None:
        """The Intel collateral this node examines with: its age, the time to its next
        update, and the last refresh (None: the node has no collateral directory)."""
        refresher = self.collateral_refresher
        return None if refresher is None else refresher.health()

    def get_tx(self, tx_hash: str) -> TxRecord | None:
        return self.queries.get_tx(tx_hash)

    def get_block(self, height: int) -> tuple[BlockRecord, list[TxRecord]] | None:
        return self.queries.get_block(height)

    def get_account(self, address: str) -> AccountInfo:
        return self.queries.get_account(address)
