"""What the client raises. Catch the root, or the branch you can act on::

    WorkerManagerError
    ├── TransportError          the node could not be reached, or timed out
    ├── NodeError               the node answered with an error (``status``, ``code``)
    │   ├── NotFound            no such tx, block, worker, ...
    │   └── TxRejected          the ante checks refused a tx before any block
    │                           (``code``: bad_signature, wrong_sequence, wrong_chain_id, ...)
    └── ContractRefused         the contract refused (``code``: unauthorized, worker_exists, ...)
        └── TxFailed            ... inside a committed tx (``txhash``, ``height``)

``code`` is always the stable string of ``docs/errors.md``; match on it, never on
the message.
"""

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
