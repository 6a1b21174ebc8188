"""Running a client call for a command: one place that turns answers and errors into
output and exit codes."""

import json
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

from rich.markup import escape

from worker_manager.cli.common import (
    EXIT_REFUSED,
    Output,
    print_fields,
    print_json,
    stderr,
)
from worker_manager.client import (
    ContractRefused,
    NodeError,
    TransportError,
    TxFailed,
    TxRejected,
    TxResult,
    WorkerManagerError,
)

T = TypeVar("T")


def _refused(output: Output, data: dict[str, Any]) -> NoReturn:
    import typer

    if output is Output.json:
        print_json({"error": data})
    message = f"[bold red]refused ({escape(str(data['code']))}):[/] {escape(str(data['message']))}"
    if data.get("txhash"):
        message += f"\n  tx {data['txhash']} at height {data['height']}"
    stderr.print(message, markup=True)
    raise typer.Exit(EXIT_REFUSED)


def call(output: Output, fn: Callable[[], T]) -> T:
    """Run ``fn``; on a refusal print why (JSON too, for scripts) and exit 1."""
    try:
        return fn()
    except TxFailed as exc:
        _refused(
            output,
            {"code": exc.code, "message": exc.message, "txhash": exc.txhash, "height": exc.height},
        )
    except TxRejected as exc:
        _refused(output, {"code": exc.code, "message": exc.detail, "tx_code": exc.tx_code})
    except ContractRefused as exc:
        _refused(output, {"code": exc.code, "message": exc.message})
    except NodeError as exc:
        _refused(output, {"code": exc.code, "message": exc.detail})
    except TransportError as exc:
        _refused(output, {"code": "unreachable", "message": str(exc)})
    except WorkerManagerError as exc:  # pragma: no cover - every branch is listed above
        _refused(output, {"code": "error", "message": str(exc)})


def show_tx(result: TxResult, output: Output) -> None:
    data = {
        "txhash": result.txhash,
        "height": result.height,
        "code": result.code,
        "data": result.data,
        "gas_used": result.gas_used,
        "time": result.time,
    }
    if output is Output.json:
        print_json(data)
    else:
        print_fields("committed", {**data, "data": json.dumps(result.data)})
