"""Rebuild the state from the transaction log, and check it matches.

Every tx since genesis is re-run, block by block, into an empty store with the
recorded heights, times and senders. Each tx must give the recorded result and
each block the recorded hash; at the end the contract state and the accounts
must equal the source's, table by table and by state hash. A mismatch means the
log and the state disagree.
"""

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import groupby
from typing import Any

from sqlalchemy import select

from worker_manager.contract import Api, Coin
from worker_manager.contract.msg import ExecuteMsg, SudoMsg, parse_execute, parse_sudo
from worker_manager.node.deliver import UNWRITABLE_ERROR, deliver_block
from worker_manager.node.genesis import write_genesis
from worker_manager.node.identity import ChainIdentity
from worker_manager.node.pending import ContractCall, PendingTx, TxKind
from worker_manager.store import Session, Store
from worker_manager.store.one_moment import see_one_moment
from worker_manager.store.state_hash import STATE_TABLES, state_hash
from worker_manager.tx import decode_tx
from worker_manager.tx.records import TxRecord

log = logging.getLogger(__name__)

BLOCKS_PER_COMMIT = 200


class ReplayError(RuntimeError):
    """The log cannot be replayed (no chain, or a target that is not empty)."""


@dataclass
class ReplayReport:
    blocks: int = 0
    txs: int = 0
    mismatches: list[str] = field(default_factory=list)
    #: The state hashes (:func:`~worker_manager.store.state_hash.state_hash`) of the
    #: source, as of the replay's snapshot, and of the replayed state.
    state_hash: str = ""
    replayed_state_hash: str = ""

    @property
    def ok(self) -> bool:
        return not self.mismatches


def _pending(record: TxRecord) -> PendingTx:
    calls = []
    unwritable = "as recorded" if record.error == UNWRITABLE_ERROR else None
    entries = [] if unwritable else json.loads(record.messages)
    inputs = json.loads(record.inputs) if record.inputs else [{} for _ in entries]
    for entry, given in zip(entries, inputs, strict=True):
        funds = tuple(Coin(f["denom"], f["amount"]) for f in entry.get("funds", []))
        msg: ExecuteMsg | SudoMsg = (
            parse_sudo(entry["msg"]) if record.kind == "sudo" else parse_execute(entry["msg"])
        )
        evidence = tuple(sorted(given.get("evidence", {}).items()))
        calls.append(ContractCall(msg, entry["msg"], funds, evidence))
    public_key = None
    if record.kind == "signed" and record.tx_bytes is not None:
        public_key = decode_tx(record.tx_bytes).signer.public_key
    kind: TxKind = "internal"
    if record.kind in ("signed", "sudo"):
        kind = "signed" if record.kind == "signed" else "sudo"
    return PendingTx(
        hash=record.hash,
        kind=kind,
        sender=record.sender,
        calls=tuple(calls),
        sequence=record.sequence,
        public_key=public_key,
        tx_bytes=record.tx_bytes,
        gas_wanted=record.gas_wanted,
        fee=json.loads(record.fee),
        memo=record.memo,
        unwritable=unwritable,
    )


def _state(session: Session) -> dict[str, list[tuple[Any, ...]]]:
    return {
        table.name: sorted(tuple(r) for r in session.connection.execute(select(table)))
        for table in STATE_TABLES
    }


def _compare_results(
    report: ReplayReport, records: list[TxRecord], outcome_results: list[Any]
) -> None:
    for record, result in zip(records, outcome_results, strict=True):
        got = (result.code, result.error, result.data, result.events)
        want = (record.code, record.error, record.data, json.loads(record.events))
        if got != want:
            report.mismatches.append(
                f"tx {record.hash} at height {record.height}: recorded code {record.code} "
                f"({record.error}), replay gave {result.code} ({result.error})"
            )


def replay(
    source: Store, target: Store, api: Api, *, progress: Callable[[int], None] | None = None
) -> ReplayReport:
    """Re-run ``source``'s log into the empty, migrated ``target`` and compare.

    The source is read in one snapshot, so a node that keeps committing while
    this runs is compared as of the moment the replay started.
    """
    if target is source:
        raise ReplayError(f"{target.safe_url} is not empty; replay needs a fresh database")
    with source.read() as snapshot:
        see_one_moment(snapshot.connection)
        return _replay(snapshot, source.safe_url, target, api, progress)


def _replay(
    source: Session,
    source_name: str,
    target: Store,
    api: Api,
    progress: Callable[[int], None] | None,
) -> ReplayReport:
    report = ReplayReport()
    identity = ChainIdentity.load(source.meta)
    genesis = source.ledger.block_txs(1)
    source_blocks = {
        h: b.hash
        for h in range(1, int(source.meta.get("height") or 0) + 1)
        if (b := source.ledger.get_block(h)) is not None
    }
    if identity is None or len(genesis) != 1:
        raise ReplayError(f"{source_name} holds no chain to replay")
    with target.write() as session:
        if ChainIdentity.load(session.meta) is not None:
            raise ReplayError(f"{target.safe_url} is not empty; replay needs a fresh database")
        first = genesis[0]
        write_genesis(
            session,
            chain_id=identity.chain_id,
            admin=first.sender,
            instantiate_msg=json.loads(first.messages)[0]["instantiate"],
            time_ns=first.time_ns,
            api=api,
        )
    report.blocks, report.txs = 1, 1
    previous = source_blocks.get(1, "")
    blocks = (
        (height, list(group))
        for height, group in groupby(source.ledger.iter_txs(from_height=2), lambda t: t.height)
    )
    done = False
    while not done:
        with target.write() as session:
            for _ in range(BLOCKS_PER_COMMIT):
                item = next(blocks, None)
                if item is None:
                    done = True
                    break
                height, records = item
                outcome = deliver_block(
                    session,
                    identity,
                    api,
                    height=height,
                    time_ns=records[0].time_ns,
                    previous_hash=previous,
                    batch=[_pending(r) for r in records],
                )
                _compare_results(report, records, outcome.results)
                if outcome.block.hash != source_blocks.get(height):
                    report.mismatches.append(f"block {height}: hash differs from the recorded one")
                previous = outcome.block.hash
                report.blocks += 1
                report.txs += len(records)
        if progress is not None:
            progress(report.blocks)
    with target.read() as replayed:
        target_state = _state(replayed)
        report.replayed_state_hash = state_hash(replayed)
    for name, rows in _state(source).items():
        if target_state[name] != rows:
            report.mismatches.append(f"table {name}: replayed state differs from the source")
    report.state_hash = state_hash(source)
    if report.state_hash != report.replayed_state_hash:
        report.mismatches.append("state hash: the replayed state's differs from the source's")
    log.info(
        "replayed %d blocks, %d txs: %s",
        report.blocks,
        report.txs,
        "state matches" if report.ok else f"{len(report.mismatches)} mismatches",
    )
    return report
