"""What an execute returns: attributes for the tx's ``wasm`` event, and data bytes."""

import json
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Response:
    """The outcome of one execute. The node records it with the transaction.

    ``attributes`` become the ``wasm`` event (in order); ``data`` is the JSON the
    sender gets back (CosmWasm's ``Response::data``).
    """

    attributes: tuple[tuple[str, str], ...] = ()
    data: bytes = b""
    events: tuple["Event", ...] = field(default_factory=tuple)

    @classmethod
    def of(cls, action: str, answer: dict[str, Any], **attributes: str) -> "Response":
        """A response with ``action`` first, then ``attributes``, and ``answer`` as JSON data."""
        pairs = (("action", action), *attributes.items())
        data = json.dumps(answer, separators=(",", ":"), sort_keys=True).encode()
        return cls(attributes=pairs, data=data)


@dataclass(frozen=True, slots=True)
class Event:
    """A custom event (``wasm-<type>`` on a chain), for things a tx did besides its action."""

    type: str
    attributes: tuple[tuple[str, str], ...] = ()
