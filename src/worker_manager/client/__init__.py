"""The Python client for a worker-manager node (sync and async, on httpx).

One method per contract message; signing, account sequences and retries on a
stale sequence happen inside. See :class:`Client` for an example.
"""

from worker_manager.client._async import AsyncClient
from worker_manager.client._base import subscriber_proof, time_bound_proof
from worker_manager.client._client import Client
from worker_manager.client._exceptions import (
    ContractRefused,
    NodeError,
    NotFound,
    TransportError,
    TxFailed,
    TxRejected,
    WorkerManagerError,
)
from worker_manager.client._types import (
    Account,
    Config,
    NodeInfo,
    Queued,
    Subscriber,
    TxInfo,
    TxResult,
    Worker,
    Workers,
)

__all__ = [
    "Account",
    "AsyncClient",
    "Client",
    "Config",
    "ContractRefused",
    "NodeError",
    "NodeInfo",
    "NotFound",
    "Queued",
    "Subscriber",
    "TransportError",
    "TxFailed",
    "TxInfo",
    "TxRejected",
    "TxResult",
    "Worker",
    "WorkerManagerError",
    "Workers",
    "subscriber_proof",
    "time_bound_proof",
]

# Tracebacks and reprs show the public path (as httpx does), for our own classes only.
for _name in __all__:
    _value = globals()[_name]
    if isinstance(_value, type) and _value.__module__.startswith("worker_manager.client."):
        _value.__module__ = __name__
