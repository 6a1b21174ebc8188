"""The query service: contract queries from a per-version cache, and the tx log's lookups.

Answers are kept as ready bytes per query (and per canonical form of it) until the
state they depend on moves on: the height for most, the serving version for
``get_models`` and ``get_u_r_ls``, which change far more rarely
(:mod:`~worker_manager.node.query_scope`). Reads run on their own snapshot of the
store, never inside a block's write.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from worker_manager import contract
from worker_manager.contract import Api, BlockInfo, ContractError, ContractInfo, Env, QueryDeps
from worker_manager.contract.msg import GetUrls, QueryMsg, parse_query
from worker_manager.contract.queries import urls_ranking
from worker_manager.contract.validate import canonical_address
from worker_manager.node.ante import CheckState
from worker_manager.node.cache import QueryCache, RankingShelf, Scope, Versions
from worker_manager.node.chain import ChainState
from worker_manager.node.clock import Clock
from worker_manager.node.deliver import account_number_for
from worker_manager.node.query_scope import cache_scope
from worker_manager.store import Store
from worker_manager.store.serving_memo import MemoSqlStorage, ServingMemo
from worker_manager.tx.records import BlockRecord, TxRecord

RawQuery = bytes | str | Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class ChainInfo:
    """Where a client finds this node's chain: what ``GET /v1/info`` and ``info`` show."""

    chain_id: str
    contract_address: str
    code_hash: str
    code_id: int
    label: str
    admin: str
    height: int
    block_time_ns: int
    workers: int
    schema_version: str


@dataclass(frozen=True, slots=True)
class AccountInfo:
    """An account as clients see it: the next sequence counts accepted, queued txs."""

    address: str
    account_number: int
    sequence: int
    public_key: str | None


class QueryService:
    """Answers queries and lookups for one node (thread-safe)."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        chain: ChainState,
        *,
        api: Api,
        check_state: CheckState,
        schema_version: str,
        ensure_fresh: Callable[[], None] = lambda: None,
    ) -> None:
        self._store = store
        self._clock = clock
        self._chain = chain
        self._api = api
        self._check_state = check_state
        self._schema_version = schema_version
        self._ensure_fresh = ensure_fresh
        self.cache = QueryCache()
        self.serving_memo = ServingMemo()
        self.rankings = RankingShelf()

    def _versions(self) -> Versions:
        """The versions answers are kept under, of a head never older than the node's
        staleness bound (another node may have committed since)."""
        self._ensure_fresh()
        head = self._chain.head
        return (head.height, head.liveliness.serving_version)

    def cached_query(self, raw: bytes) -> bytes | None:
        """The answer to these exact query bytes if it is ready, or can be made without
        the store: a ``get_u_r_ls`` for a bucket not asked yet, whose model's ranking is
        kept. ``None``: ask :meth:`query` (off the event loop)."""
        versions = self._versions()
        hit = self.cache.get(raw, versions)
        if hit is None and b"get_u" in raw:  # get_u_r_ls or get_urls: rank it now
            hit = self._ranked_urls(raw, versions)
        return hit

    def _ranked_urls(self, raw: bytes, versions: Versions) -> bytes | None:
        try:
            msg = parse_query(raw)
        except ContractError:
            return None  # query() gives the refusal
        if not isinstance(msg, GetUrls):
            return None
        ranking = self.rankings.get((msg.model, msg.limit), versions[Scope.SERVING])
        if ranking is None:
            return None
        answer = ranking.answer(msg.subscriber).model_dump_json().encode()
        self._keep(raw, msg, versions, answer)
        return answer

    def _keep(self, raw: bytes | None, msg: QueryMsg, versions: Versions, answer: bytes) -> None:
        scope, canonical = cache_scope(msg)
        if scope is not None:
            for cache_key in (raw, canonical):
                if cache_key is not None:
                    self.cache.put(cache_key, scope, versions[scope], answer)

    def query(self, raw: RawQuery) -> bytes:
        """Answer a query message with JSON bytes, or raise ``ContractError``."""
        versions = self._versions()
        key = raw if isinstance(raw, bytes) else None
        if key is not None:
            hit = self.cache.get(key, versions)
            if hit is not None:
                return hit
        msg = parse_query(raw)
        scope, canonical = cache_scope(msg)
        if canonical is not None:
            hit = self.cache.get(canonical, versions)
            if hit is not None:
                if key is not None and scope is not None:
                    self.cache.put(key, scope, versions[scope], hit)
                return hit
        head = self._chain.head
        env = Env(
            block=BlockInfo(
                height=head.height,
                time_ns=max(self._clock.now_ns(), head.time_ns),
                chain_id=self._chain.identity.chain_id,
            ),
            contract=ContractInfo(address=self._chain.identity.contract_address),
        )
        if isinstance(msg, GetUrls):
            answer = self._urls(msg, versions)
        else:
            with self._store.read() as session:
                storage = MemoSqlStorage(session.connection, self.serving_memo)
                answer = contract.query(QueryDeps(storage, self._api), env, msg)
        self._keep(key, msg, versions, answer)
        return answer

    def _urls(self, msg: GetUrls, versions: Versions) -> bytes:
        """A ``get_u_r_ls`` answer from its model's ranking, read from the store once per
        serving version: the first requests of many buckets wait for one read."""
        key, version = (msg.model, msg.limit), versions[Scope.SERVING]
        with self.rankings.computing(key):
            ranking = self.rankings.get(key, version)
            if ranking is None:
                with self._store.read() as session:
                    storage = MemoSqlStorage(session.connection, self.serving_memo)
                    ranking = urls_ranking(QueryDeps(storage, self._api), msg)
                # filed under the version read before the snapshot: never newer than it
                self.rankings.put(key, version, ranking)
        return ranking.answer(msg.subscriber).model_dump_json().encode()

    def info(self) -> ChainInfo:
        self._ensure_fresh()
        identity, head = self._chain.identity, self._chain.head
        with self._store.read() as session:
            workers = session.contract.count_workers()
        return ChainInfo(
            chain_id=identity.chain_id,
            contract_address=identity.contract_address,
            code_hash=identity.code_hash,
            code_id=identity.code_id,
            label=identity.label,
            admin=head.config.admin,
            height=head.height,
            block_time_ns=head.time_ns,
            workers=workers,
            schema_version=self._schema_version,
        )

    def get_tx(self, tx_hash: str) -> TxRecord | None:
        with self._store.read() as session:
            return session.ledger.get_tx(tx_hash)

    def get_block(self, height: int) -> tuple[BlockRecord, list[TxRecord]] | None:
        with self._store.read() as session:
            block = session.ledger.get_block(height)
            if block is None:
                return None
            return block, session.ledger.block_txs(height)

    def get_account(self, address: str) -> AccountInfo:
        """An account as clients see it: the next sequence includes accepted, queued txs."""
        address = canonical_address("address", address)
        with self._store.read() as session:
            stored = session.ledger.get_account(address)
        # the stored sequence is fresh; this node's view adds its accepted, queued txs
        sequence = max(stored.sequence if stored else 0, self._check_state.next_sequence(address))
        return AccountInfo(
            address=address,
            account_number=account_number_for(address),
            sequence=sequence,
            public_key=stored.public_key if stored else None,
        )
