"""The Python client for a worker-manager node (sync and async, on httpx).

One method per contract message; signing, account sequences and retries on a
stale sequence happen inside. See :class:`Client` for an example.
"""

from worker_manager.client._async import AsyncClient
from worker_manager.client._base import make_permit, subscriber_proof, time_bound_proof
from worker_manager.client._client import Client
from worker_manager.client._exceptions import (
    ContractRefused,
    EndpointVerificationFailed,
    NodeError,
    NotFound,
    NotPinnable,
    PinMismatch,
    TransportError,
    TxFailed,
    TxRejected,
    UnexpectedAnswer,
    WorkerManagerError,
)
from worker_manager.client._pinning import pinned_async_client, pinned_client
from worker_manager.client._types import (
    Account,
    Config,
    Endpoint,
    EndpointAttestation,
    EndpointEvidence,
    NodeInfo,
    Pin,
    Queued,
    Subscriber,
    TxInfo,
    TxResult,
    Worker,
    Workers,
)
from worker_manager.client._verify import VerifiedEndpoint, verify_endpoint

__all__ = [
    "Account",
    "AsyncClient",
    "Client",
    "Config",
    "ContractRefused",
    "Endpoint",
    "EndpointAttestation",
    "EndpointEvidence",
    "EndpointVerificationFailed",
    "NodeError",
    "NodeInfo",
    "NotFound",
    "NotPinnable",
    "Pin",
    "PinMismatch",
    "Queued",
    "Subscriber",
    "TransportError",
    "TxFailed",
    "TxInfo",
    "TxRejected",
    "TxResult",
    "UnexpectedAnswer",
    "VerifiedEndpoint",
    "Worker",
    "WorkerManagerError",
    "Workers",
    "make_permit",
    "pinned_async_client",
    "pinned_client",
    "subscriber_proof",
    "time_bound_proof",
    "verify_endpoint",
]

# Tracebacks and reprs show the public path (as httpx does), for our own classes only.
for _name in __all__:
    _value = globals()[_name]
    if isinstance(_value, type) and _value.__module__.startswith("worker_manager.client."):
        _value.__module__ = __name__
