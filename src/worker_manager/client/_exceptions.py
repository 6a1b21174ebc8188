"""What the client raises. Catch the root, or the branch you can act on::

    WorkerManagerError
    ├── TransportError          the node could not be reached, or timed out
    ├── NodeError               the node answered with an error (``status``, ``code``)
    │   ├── NotFound            no such tx, block, worker, ...
    │   └── TxRejected          the ante checks refused a tx before any block
    │                           (``code``: bad_signature, wrong_sequence, wrong_chain_id, ...)
    ├── ContractRefused         the contract refused (``code``: unauthorized, worker_exists, ...)
    │   └── TxFailed            ... inside a committed tx (``txhash``, ``height``)
    ├── UnexpectedAnswer        the node answered, but not in the documented shape
    ├── NotPinnable             an endpoint has no TLS fingerprint to pin (also a ValueError)
    ├── PinMismatch             a server's TLS certificate is not the pinned one
    │                           (also an ``ssl.SSLError``)
    └── EndpointVerificationFailed  an endpoint's evidence did not verify (``reasons``)

``code`` is always the stable string of ``docs/errors.md``; match on it, never on
the message.
"""

import ssl
from typing import Any


class WorkerManagerError(Exception):
    """Root of everything the client raises."""


class TransportError(WorkerManagerError):
    """The node could not be reached, or did not answer in time."""


class NodeError(WorkerManagerError):
    """The node answered with an error (problem+json)."""

    def __init__(self, status: int, code: str, detail: str, body: dict[str, Any]) -> None:
        super().__init__(f"{code}: {detail}")
        self.status = status
        self.code = code
        self.detail = detail
        self.body = body


class NotFound(NodeError):
    """The thing asked for does not exist (a tx not yet committed, an unknown worker...)."""


class TxRejected(NodeError):
    """The node refused a tx before it reached a block; nothing changed."""

    @property
    def tx_code(self) -> int:
        return int(self.body.get("tx_code", 0))

    @property
    def codespace(self) -> str:
        return str(self.body.get("codespace", ""))


class ContractRefused(WorkerManagerError):
    """The contract refused a message (a query, or an execute in a committed tx)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class TxFailed(ContractRefused):
    """A committed tx failed: the contract (or the node, at delivery) refused it.

    Its sequence was used; nothing else changed.
    """

    def __init__(self, code: str, message: str, *, txhash: str, height: int) -> None:
        super().__init__(code, message)
        self.txhash = txhash
        self.height = height


class UnexpectedAnswer(WorkerManagerError):
    """The node answered with success, but not in the shape the client documents
    (a missing or unknown field, a wrong type, a malformed fingerprint)."""


class NotPinnable(WorkerManagerError, ValueError):
    """An endpoint carries no TLS fingerprint to pin: its quote binds no certificate, or
    the node has not (yet) seen it serve the bound one. Also raised for a plain
    ``http://`` request on a pinned client."""


class PinMismatch(WorkerManagerError, ssl.SSLError):
    """A TLS server presented a certificate other than the pinned one; the connection was
    closed after the handshake, before any request was sent.

    ``kind`` is ``spki`` or ``certificate``; ``expected`` the pinned SHA-256 (hex);
    ``seen`` the SHA-256 of what the server presented (hex, or None if it presented
    no certificate or its key could not be read)."""

    def __init__(self, kind: str, expected: str, seen: str | None) -> None:
        what = "key (SPKI)" if kind == "spki" else "certificate"
        super().__init__(
            f"the server's TLS {what} has SHA-256 {seen or 'unknown'}; pinned {expected}"
        )
        self.kind = kind
        self.expected = expected
        self.seen = seen

    def __str__(self) -> str:
        return str(self.args[0])


class EndpointVerificationFailed(WorkerManagerError):
    """:func:`~worker_manager.client.verify_endpoint` refused an endpoint; ``reasons``
    lists every check that failed (``verdict_not_valid``, ``binding_mismatch``, ...)."""

    def __init__(self, url: str, reasons: tuple[str, ...], messages: tuple[str, ...]) -> None:
        super().__init__(f"{url} did not verify: " + "; ".join(messages))
        self.url = url
        self.reasons = reasons
        self.messages = messages
