"""Running one block: every tx in order on write buffers, one commit for all.

A tx's account sequence moves even when its contract messages fail (as on a
Cosmos chain), but the contract's writes of a failed tx are dropped from the
buffer, so each tx still succeeds or fails on its own. The block's net changes
reach the database in a few batched statements (see ``store/buffered.py``).
"""

import hashlib
import json
import logging
from dataclasses import dataclass
from typing import Any

from worker_manager import contract
from worker_manager.contract import (
    Api,
    BlockInfo,
    ContractError,
    ContractInfo,
    Deps,
    Env,
    MessageInfo,
    TransactionInfo,
)
from worker_manager.contract.error import Unauthorized
from worker_manager.contract.msg import EpochTick, RecordEndpointChecks, message_name
from worker_manager.contract.response import Response
from worker_manager.node.identity import ChainIdentity
from worker_manager.node.pending import ContractCall, PendingTx, TxOutcome, gas_estimate
from worker_manager.store import Session
from worker_manager.store.buffered import BufferedStorage
from worker_manager.store.ledger import Ledger
from worker_manager.tx.records import AccountRecord, BlockRecord, TxRecord

log = logging.getLogger(__name__)

EXECUTE_ACTION = "/secret.compute.v1beta1.MsgExecuteContract"
#: Codes of a tx that was included but failed: the contract refused (Secret's
#: ``compute`` code 3), the sequence moved under it, or the node hit a bug.
CODE_CONTRACT_FAILED = 3
CODE_WRONG_SEQUENCE = 32
CODE_INTERNAL = 1
#: The database refused the tx's writes; it failed alone (our codespace).
CODE_UNWRITABLE = 4
UNWRITABLE_ERROR = "tx_unwritable"


def account_number_for(address: str) -> int:
    """A fixed account number per address (48 bits of a hash), known before any tx.

    Clients sign over the account number before their first transaction, so it
    must not depend on when the account is first seen.
    """
    digest = hashlib.sha256(b"worker-manager/account/v1\x00" + address.encode()).digest()
    return int.from_bytes(digest[:6], "big")


def block_hash(previous: str, height: int, time_ns: int, tx_hashes: list[str]) -> str:
    h = hashlib.sha256(bytes.fromhex(previous) if previous else b"")
    h.update(height.to_bytes(8, "big"))
    h.update(time_ns.to_bytes(8, "big"))
    for tx_hash in tx_hashes:
        h.update(bytes.fromhex(tx_hash))
    return h.hexdigest()


@dataclass(frozen=True, slots=True)
class BlockOutcome:
    block: BlockRecord
    results: list[TxOutcome]


def _events(
    calls_attributes: list[tuple[str, tuple[tuple[str, str], ...]]], contract_address: str
) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    for index, (_name, attributes) in enumerate(calls_attributes):
        events.append(
            {
                "type": "message",
                "attributes": [
                    {"key": "action", "value": EXECUTE_ACTION},
                    {"key": "msg_index", "value": str(index)},
                ],
            }
        )
        events.append(
            {
                "type": "wasm",
                "attributes": [
                    {"key": "contract_address", "value": contract_address},
                    *({"key": k, "value": v} for k, v in attributes),
                    {"key": "msg_index", "value": str(index)},
                ],
            }
        )
    return events


class AccountBuffer:
    """The block's account changes, read once and written together at the end."""

    def __init__(self, ledger: Ledger, signers: list[str]) -> None:
        self._ledger = ledger
        stored = ledger.get_accounts(sorted(set(signers)))
        self._loaded: dict[str, AccountRecord | None] = {a: stored.get(a) for a in signers}
        self._current: dict[str, AccountRecord] = {}

    def get(self, address: str, height: int) -> AccountRecord:
        if address in self._current:
            return self._current[address]
        if address not in self._loaded:
            self._loaded[address] = self._ledger.get_account(address)
        stored = self._loaded[address]
        return stored or AccountRecord(
            address=address,
            account_number=account_number_for(address),
            sequence=0,
            public_key=None,
            first_height=height,
        )

    def put(self, account: AccountRecord) -> None:
        self._current[account.address] = account

    def flush(self) -> None:
        updated = [a for a in self._current.values() if self._loaded.get(a.address) is not None]
        added = [a for a in self._current.values() if self._loaded.get(a.address) is None]
        self._ledger.save_accounts(updated=updated, added=added)


def _apply_ante(accounts: AccountBuffer, tx: PendingTx, height: int) -> str | None:
    """Consume the signer's sequence; returns an error text if it moved under the tx."""
    if tx.kind != "signed":
        return None
    account = accounts.get(tx.sender, height)
    if tx.sequence != account.sequence:
        return (
            f"account sequence mismatch, expected {account.sequence}, got {tx.sequence}: "
            "incorrect account sequence"
        )
    accounts.put(
        AccountRecord(
            address=account.address,
            account_number=account.account_number,
            sequence=account.sequence + 1,
            public_key=tx.public_key.hex() if tx.public_key else account.public_key,
            first_height=account.first_height,
        )
    )
    return None


@dataclass(frozen=True, slots=True)
class _TxPlace:
    """Where a tx runs: its block height and time, and its index in the block."""

    height: int
    time_ns: int
    index: int


def _result(
    tx: PendingTx,
    place: _TxPlace,
    *,
    code: int = 0,
    codespace: str = "",
    error: str | None = None,
    log_text: str = "",
    data: bytes = b"",
    events: list[dict[str, Any]] | None = None,
    exception: ContractError | None = None,
    failed_msg_index: int | None = None,
) -> TxOutcome:
    return TxOutcome(
        hash=tx.hash,
        height=place.height,
        index=place.index,
        code=code,
        codespace=codespace,
        error=error,
        log=log_text,
        data=data,
        events=events or [],
        gas_wanted=tx.gas_wanted,
        gas_used=gas_estimate(tx.size),
        time_ns=place.time_ns,
        failed_msg_index=failed_msg_index,
        exception=exception,
    )


def _run(
    storage: BufferedStorage, api: Api, env: Env, tx: PendingTx, call: ContractCall
) -> Response:
    if isinstance(call.msg, EpochTick | RecordEndpointChecks):  # the sudo messages (SudoMsg)
        if tx.kind != "sudo":  # pragma: no cover - the ante never parses sudo messages
            raise Unauthorized(tx.sender, "the node itself")
        return contract.sudo(Deps(storage, api), env, call.msg)
    info = MessageInfo(sender=tx.sender, funds=call.funds, evidence=call.evidence)
    return contract.execute(Deps(storage, api), env, info, call.msg)


def deliver_tx(
    storage: BufferedStorage,
    accounts: AccountBuffer,
    identity: ChainIdentity,
    api: Api,
    tx: PendingTx,
    *,
    place: _TxPlace,
) -> TxOutcome:
    """Run one tx on the block's buffers and say how it went."""
    ante_error = _apply_ante(accounts, tx, place.height)
    if ante_error is not None:
        return _result(
            tx,
            place,
            code=CODE_WRONG_SEQUENCE,
            codespace="sdk",
            error="wrong_sequence",
            log_text=ante_error,
        )
    if tx.unwritable is not None:
        return _result(
            tx,
            place,
            code=CODE_UNWRITABLE,
            codespace="worker-manager",
            error=UNWRITABLE_ERROR,
            log_text=f"the database refused this transaction's writes ({tx.unwritable}); "
            "it failed alone and its sequence is used",
        )
    env = Env(
        block=BlockInfo(height=place.height, time_ns=place.time_ns, chain_id=identity.chain_id),
        contract=ContractInfo(address=identity.contract_address),
        transaction=TransactionInfo(index=place.index),
    )
    datas: list[bytes] = []
    attributes: list[tuple[str, tuple[tuple[str, str], ...]]] = []
    for index, call in enumerate(tx.calls):
        try:
            response = _run(storage, api, env, tx, call)
        except ContractError as err:
            storage.rollback_tx()
            return _result(
                tx,
                place,
                code=CODE_CONTRACT_FAILED,
                codespace="compute",
                error=err.code,
                log_text=err.message,
                exception=err,
                failed_msg_index=index,
            )
        except Exception:
            storage.rollback_tx()
            log.exception(
                "tx %s at height %d hit an internal error; it fails alone", tx.hash, place.height
            )
            return _result(
                tx,
                place,
                code=CODE_INTERNAL,
                codespace="worker-manager",
                error="internal_error",
                log_text="the node failed to run this transaction; see its log",
                failed_msg_index=index,
            )
        datas.append(response.data)
        attributes.append((message_name(call.msg), response.attributes))
    storage.commit_tx()
    if len(datas) == 1:
        data = datas[0]
    else:
        data = json.dumps(
            [json.loads(d) if d else None for d in datas], separators=(",", ":")
        ).encode()
    return _result(tx, place, data=data, events=_events(attributes, identity.contract_address))


def _storable(text: str) -> str:
    """``text`` as any database will store it (lone surrogates and NULs escaped)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text.replace("\x00", "\\x00")


def record_of(tx: PendingTx, result: TxOutcome) -> TxRecord:
    """The tx log's row for ``tx``: every text in it storable whatever the tx held."""
    return TxRecord(
        hash=tx.hash,
        height=result.height,
        tx_index=result.index,
        kind=tx.kind,
        sender=tx.sender,
        sequence=tx.sequence,
        tx_bytes=tx.tx_bytes,
        messages=json.dumps(tx.messages_json(), separators=(",", ":")),
        code=result.code,
        codespace=result.codespace,
        error=result.error,
        log=_storable(result.log),
        data=result.data,
        events=json.dumps(result.events, separators=(",", ":")),
        gas_wanted=result.gas_wanted,
        gas_used=result.gas_used,
        fee=json.dumps(tx.fee, separators=(",", ":"), sort_keys=True),
        memo=_storable(tx.memo),
        time_ns=result.time_ns,
        failed_msg_index=result.failed_msg_index,
        inputs=tx.inputs_json(),
    )


def _named_workers(batch: list[PendingTx]) -> list[str]:
    """The worker addresses the batch's messages name (a liveliness answer, a report):
    read together before the block runs. An address the contract will write otherwise
    (with a port, in capitals) is just not found here, and looked up as usual."""
    return [
        ip
        for tx in batch
        for call in tx.calls
        if isinstance(ip := getattr(call.msg, "ip_address", None), str)
    ]


def deliver_block(
    session: Session,
    identity: ChainIdentity,
    api: Api,
    *,
    height: int,
    time_ns: int,
    previous_hash: str,
    batch: list[PendingTx],
) -> BlockOutcome:
    """Run ``batch`` as block ``height`` inside the caller's (uncommitted) transaction."""
    storage = BufferedStorage(session.contract, session.connection)
    storage.prefetch_workers(_named_workers(batch))
    accounts = AccountBuffer(session.ledger, [tx.sender for tx in batch if tx.kind == "signed"])
    results = [
        deliver_tx(storage, accounts, identity, api, tx, place=_TxPlace(height, time_ns, index))
        for index, tx in enumerate(batch)
    ]
    storage.flush()
    accounts.flush()
    session.ledger.insert_txs([record_of(tx, r) for tx, r in zip(batch, results, strict=True)])
    block = BlockRecord(
        height=height,
        time_ns=time_ns,
        tx_count=len(batch),
        hash=block_hash(previous_hash, height, time_ns, [tx.hash for tx in batch]),
    )
    session.ledger.insert_block(block)
    session.meta.set("height", str(height))
    session.meta.set("block_time_ns", str(time_ns))
    session.meta.set("block_hash", block.hash)
    return BlockOutcome(block=block, results=results)
