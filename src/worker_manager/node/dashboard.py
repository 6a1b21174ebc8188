"""What the dashboard shows, read from one snapshot of the store: plain data, no HTML.

Counts and pages come from :mod:`worker_manager.store.dashboard` (index ranges, never
a pass over every worker per row shown); the contract's public queries (``get_models``,
``get_liveliness_challenge``, ``get_worker``, ``get_work_totals``, ``get_config``,
``get_attestation_policy``) answer the rest, from the node's query cache. Nothing here
carries an attestation report, a key or a mnemonic.
"""

import json
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from worker_manager.contract import ContractError
from worker_manager.contract.liveliness import Status, status_bounds, status_of
from worker_manager.contract.queries import worker_url
from worker_manager.contract.serving import ANY_AGE, not_served_because
from worker_manager.contract.state import Worker
from worker_manager.keys.address import address_from_public_key
from worker_manager.store import dashboard as reads

if TYPE_CHECKING:
    from worker_manager.node.node import Node

STATUSES = tuple(s.value for s in Status)
#: Blocks the tx rate is measured over.
TX_RATE_BLOCKS = 100
#: How long a summary is kept (per height) before it is counted again.
SUMMARY_MAX_AGE_S = 1.0
#: The most worker types a summary or a filter lists.
MAX_TYPES = 200
#: Each sender's newest txs searched for those naming a worker (there is no index of
#: the workers a tx names).
WORKER_TX_SCAN = 200
#: Epochs shown in a worker's liveliness strip; periods in its work chart.
LIVELINESS_EPOCHS = 24
WORK_PERIODS = 24


@dataclass(frozen=True, slots=True)
class TypeCount:
    worker_type: str
    live: int = 0
    stale: int = 0
    offline: int = 0

    @property
    def total(self) -> int:
        return self.live + self.stale + self.offline


@dataclass(frozen=True, slots=True)
class Summary:
    """The network at a glance: aggregates only (what any visitor may see)."""

    chain_id: str
    height: int
    block_time_ns: int
    workers: int
    by_status: dict[str, int]
    by_type: list[TypeCount]
    models: list[str]
    #: txs a second over the last ``tx_blocks`` blocks (None: fewer than two blocks)
    tx_rate: float | None
    tx_count: int
    tx_blocks: int
    epoch: int
    epoch_seconds: int
    expires_at: int
    up_index: int
    paused: bool
    collateral: str


@dataclass(frozen=True, slots=True)
class WorkerRow:
    worker: Worker
    status: str
    url: str
    not_served_because: list[str]


@dataclass(frozen=True, slots=True)
class WorkerPage:
    rows: list[WorkerRow]
    next_after: str | None
    types: list[str]


@dataclass(frozen=True, slots=True)
class TxLine:
    hash: str
    height: int
    kind: str
    sender: str
    messages: list[str]
    code: int
    error: str | None
    time_ns: int


@dataclass(frozen=True, slots=True)
class WorkerDetail:
    #: ``get_worker``'s public answer, without the attestation report's text
    answer: dict[str, Any]
    report_bytes: int
    txs: list[TxLine]
    senders: list[str]
    #: (epoch, answered) for the last epochs, oldest first
    liveliness: list[tuple[int, bool]]
    #: (period, requests) of the last ``WORK_PERIODS`` periods with reports, oldest first
    work: list[tuple[int, int]]
    #: those periods' requests and tokens, summed
    work_totals: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class BlocksView:
    blocks: list[tuple[int, int, int, str]]
    txs: list[TxLine]


def collateral_text(node: "Node") -> str:
    """The collateral's age as the node reports it, or "unknown" where it cannot."""
    health = getattr(node, "collateral_health", None)
    if health is None:
        return "unknown"
    try:
        value = health()
    except Exception:  # noqa: BLE001 - the dashboard shows, it never fails for this
        return "unknown"
    if value is None:
        return "unknown (no collateral directory)"
    if getattr(value, "oldest_age_s", None) is None:
        return "no collateral held"
    parts = [
        f"{getattr(value, 'platforms', '?')} platform(s); oldest bundle "
        f"{_span(value.oldest_age_s)} old"
    ]
    next_update = getattr(value, "next_update_in_s", None)
    if next_update is not None:
        parts.append(
            f"next update in {_span(next_update)}"
            if next_update >= 0
            else f"ENDED {_span(-next_update)} ago"
        )
    if getattr(value, "last_refresh_ok", None) is False:
        parts.append(f"last refresh failed: {getattr(value, 'last_refresh_error', '')}")
    return "; ".join(parts)


def _span(seconds: int) -> str:
    """``seconds`` as the largest whole unit (days, hours, minutes or seconds)."""
    for unit, size in (("d", 86_400), ("h", 3600), ("min", 60)):
        if abs(seconds) >= size:
            return f"{seconds // size} {unit}"
    return f"{seconds} s"


def _query(node: "Node", name: str, **fields: Any) -> dict[str, Any]:
    body = json.dumps({name: fields}, separators=(",", ":"), sort_keys=True).encode()
    answer: dict[str, Any] = json.loads(node.query(body))
    return answer


def _message_names(messages: str) -> list[str]:
    try:
        items = json.loads(messages)
    except ValueError:
        return []
    names = []
    for item in items if isinstance(items, list) else []:
        msg = item.get("msg", item) if isinstance(item, dict) else None
        if isinstance(msg, dict) and msg:
            names.append(str(next(iter(msg))))
    return names


def _tx_line(row: Any) -> TxLine:
    return TxLine(
        hash=str(row["hash"]),
        height=int(row["height"]),
        kind=str(row["kind"]),
        sender=str(row["sender"]),
        messages=_message_names(row["messages"]),
        code=int(row["code"]),
        error=row["error"],
        time_ns=int(row["time_ns"]),
    )


class DashboardReads:
    """The dashboard's reads over one node (thread-safe)."""

    def __init__(self, node: "Node") -> None:
        self.node = node
        self._lock = threading.Lock()
        self._summary: tuple[int, float, Summary] | None = None

    def summary(self) -> Summary:
        """The summary, counted at most once a second and once per height."""
        height, now = self.node.height, time.monotonic()
        kept = self._summary
        if kept is not None and kept[0] == height and now - kept[1] < SUMMARY_MAX_AGE_S:
            return kept[2]
        with self._lock:
            summary = self._count()
            self._summary = (summary.height, now, summary)
        return summary

    def _count(self) -> Summary:
        node = self.node
        with node.store.read() as session:
            config = session.contract.load_config()
            state = session.contract.load_liveliness()
            assert config is not None
            bounds = {s.value: b for s, b in status_bounds(config, state).items()}
            counts = reads.status_type_counts(session.connection, bounds)
            recent = reads.recent_blocks(session.connection, TX_RATE_BLOCKS)
        by_type: dict[str, dict[str, int]] = {}
        by_status = dict.fromkeys(STATUSES, 0)
        for worker_type, status, n in counts:
            by_type.setdefault(worker_type, {})[status] = n
            by_status[status] += n
        tx_count = sum(tx for _h, _t, tx, _hash in recent[:-1])  # txs after the oldest block
        span_s = (recent[0][1] - recent[-1][1]) / 1e9 if len(recent) > 1 else 0.0
        challenge = _query(node, "get_liveliness_challenge")
        head = recent[0] if recent else (node.height, node.block_time_ns, 0, "")
        return Summary(
            chain_id=node.identity.chain_id,
            height=head[0],
            block_time_ns=head[1],
            workers=sum(by_status.values()),
            by_status=by_status,
            by_type=[TypeCount(t, **c) for t, c in sorted(by_type.items())][:MAX_TYPES],
            models=list(_query(node, "get_models")["models"]),
            tx_rate=tx_count / span_s if span_s > 0 else None,
            tx_count=tx_count,
            tx_blocks=len(recent),
            epoch=int(challenge["epoch"]),
            epoch_seconds=int(challenge["epoch_seconds"]),
            expires_at=int(challenge["expires_at"]),
            up_index=state.up_index,
            paused=config.paused,
            collateral=collateral_text(node),
        )

    def workers(
        self,
        *,
        after: str | None,
        limit: int,
        prefix: str | None = None,
        worker_type: str | None = None,
        status: str | None = None,
        attestation: str | None = None,
    ) -> WorkerPage:
        """A page of the workers table, in address order (keyset: ``after``)."""
        with self.node.store.read() as session:
            config = session.contract.load_config()
            state = session.contract.load_liveliness()
            policy = session.contract.load_attestation_policy()
            assert config is not None
            if status is None:
                found, next_after = reads.worker_page(
                    session.connection,
                    after=after,
                    limit=limit,
                    prefix=prefix,
                    worker_type=worker_type,
                    attestation=attestation,
                )
            else:
                bounds = status_bounds(config, state)[Status(status)]
                found, next_after = reads.worker_page(
                    session.connection,
                    after=after,
                    limit=limit,
                    prefix=prefix,
                    worker_type=worker_type,
                    status_bounds=bounds,
                    offline=status == Status.OFFLINE,
                    attestation=attestation,
                )
        min_attested = None
        if policy is not None:
            every = policy.reattest_every_epochs
            min_attested = ANY_AGE if every is None else state.up_index - every
        rows = [
            WorkerRow(
                worker=w,
                status=status_of(config, state, w).value,
                url=worker_url(config, w),
                not_served_because=not_served_because(config, state, w, min_attested),
            )
            for w in found
        ]
        # the filter's types come from the summary (kept a second), not a pass per page
        types = [t.worker_type for t in self.summary().by_type]
        return WorkerPage(rows=rows, next_after=next_after, types=types)

    def worker(self, ip_address: str) -> WorkerDetail | None:
        """One worker's page: ``get_worker``'s answer, its txs, liveliness and work."""
        try:
            answer = _query(self.node, "get_worker", ip_address=ip_address)
        except ContractError:
            return None
        report = str(answer.pop("attestation_report", "") or "")
        address = str(answer["ip_address"])
        senders = [str(answer["payment_wallet"])]
        if answer.get("worker_public_key"):
            senders.append(address_from_public_key(bytes.fromhex(answer["worker_public_key"])))
        with self.node.store.read() as session:
            rows = reads.txs_of_senders(session.connection, senders, WORKER_TX_SCAN)
        naming = [r for r in rows if f'"{address}"' in r["messages"]]
        lines = [_tx_line(r) for r in naming]
        challenge = _query(self.node, "get_liveliness_challenge")
        epoch, epoch_seconds = int(challenge["epoch"]), int(challenge["epoch_seconds"])
        answered = {
            line.time_ns // 1_000_000_000 // epoch_seconds
            for line in lines
            if line.code == 0 and "report_liveliness" in line.messages
        }
        if answer.get("last_seen_epoch") is not None:
            answered.add(int(answer["last_seen_epoch"]))
        strip = [(e, e in answered) for e in range(epoch - LIVELINESS_EPOCHS + 1, epoch + 1)]
        period_s = self.node.chain.head.config.work_period_seconds
        first = self.node.clock.now_ns() // 1_000_000_000 // period_s - WORK_PERIODS + 1
        totals = _query(
            self.node, "get_work_totals", by="period", ip_address=address, from_period=first
        )["totals"]
        work = [(int(t["key"]), int(t["requests"])) for t in totals]
        summed = {
            k: sum(int(t[k]) for t in totals) for k in ("requests", "input_tokens", "output_tokens")
        }
        return WorkerDetail(
            answer=answer,
            report_bytes=len(report.encode()),
            txs=lines[:20],
            senders=senders,
            liveliness=strip,
            work=work,
            work_totals=summed,
        )

    def blocks(self, *, blocks: int = 20, txs: int = 30) -> BlocksView:
        with self.node.store.read() as session:
            recent = reads.recent_blocks(session.connection, blocks)
            lines = [_tx_line(r) for r in reads.recent_txs(session.connection, txs)]
        return BlocksView(blocks=recent, txs=lines)

    def config(self) -> tuple[dict[str, Any], dict[str, Any] | None, str]:
        """``get_config``, the attestation policy (None: none set) and the collateral's age."""
        config = _query(self.node, "get_config")
        policy = _query(self.node, "get_attestation_policy").get("policy")
        return config, policy, collateral_text(self.node)
