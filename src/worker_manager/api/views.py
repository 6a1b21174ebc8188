"""JSON shapes of the node's records for the native API (and the client that reads them)."""

import base64
import json
from datetime import UTC, datetime
from typing import Any

from worker_manager.node.pending import TxOutcome
from worker_manager.node.queries import AccountInfo
from worker_manager.tx.records import BlockRecord, TxRecord


def iso_time(time_ns: int) -> str:
    """RFC 3339 UTC with nanoseconds trimmed to microseconds, as people read it."""
    return datetime.fromtimestamp(time_ns / 1e9, tz=UTC).isoformat().replace("+00:00", "Z")


def _data(data: bytes) -> Any:
    """The contract's answer: JSON when it is JSON, else base64."""
    if not data:
        return None
    try:
        return json.loads(data)
    except ValueError:
        return {"base64": base64.b64encode(data).decode()}


def tx_result_json(result: TxOutcome) -> dict[str, Any]:
    return {
        "txhash": result.hash,
        "height": result.height,
        "index": result.index,
        "code": result.code,
        "codespace": result.codespace,
        "error": result.error,
        "log": result.log,
        "data": _data(result.data),
        "events": result.events,
        "gas_wanted": result.gas_wanted,
        "gas_used": result.gas_used,
        "time": iso_time(result.time_ns),
    }


def tx_record_json(record: TxRecord) -> dict[str, Any]:
    return {
        "txhash": record.hash,
        "height": record.height,
        "index": record.tx_index,
        "kind": record.kind,
        "sender": record.sender,
        "sequence": record.sequence,
        "messages": json.loads(record.messages),
        "code": record.code,
        "codespace": record.codespace,
        "error": record.error,
        "log": record.log,
        "data": _data(record.data),
        "events": json.loads(record.events),
        "gas_wanted": record.gas_wanted,
        "gas_used": record.gas_used,
        "fee": json.loads(record.fee),
        "memo": record.memo,
        "time": iso_time(record.time_ns),
        "tx_bytes": base64.b64encode(record.tx_bytes).decode() if record.tx_bytes else None,
    }


def block_json(block: BlockRecord, txs: list[TxRecord]) -> dict[str, Any]:
    return {
        "height": block.height,
        "time": iso_time(block.time_ns),
        "hash": block.hash,
        "tx_count": block.tx_count,
        "txs": [
            {
                "txhash": t.hash,
                "index": t.tx_index,
                "sender": t.sender,
                "code": t.code,
                "error": t.error,
            }
            for t in txs
        ],
    }


def account_json(account: AccountInfo) -> dict[str, Any]:
    return {
        "address": account.address,
        "account_number": account.account_number,
        "sequence": account.sequence,
        "public_key": account.public_key,
    }
