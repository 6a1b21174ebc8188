"""Encrypted execute messages at the node's ante check.

Secret clients put an encrypted envelope in ``MsgExecuteContract.msg``. The
node opens it with its x25519 key before the tx may queue; a garbled envelope,
one for another node's key or for another code hash is refused there, and
nothing changes. The envelope stays in the tx bytes, so the node can derive the
same key again to encrypt the result when a client looks the tx up.
"""

from collections.abc import Callable
from typing import Any

from worker_manager.lcd.encryption import EnvelopeError, X25519KeyPair, open_envelope
from worker_manager.node.ante import CODE_UNKNOWN_REQUEST, AnteError


def envelope_opener(
    node_key: X25519KeyPair, code_hash: str
) -> Callable[[bytes], tuple[bytes, Any]]:
    """The ante's ``decrypt`` hook: envelope bytes -> (plaintext JSON, message key)."""

    def open_message(envelope: bytes) -> tuple[bytes, Any]:
        try:
            opened = open_envelope(node_key, envelope, code_hash)
        except EnvelopeError as exc:
            raise AnteError(
                "invalid_message",
                CODE_UNKNOWN_REQUEST,
                f"cannot open the encrypted contract message ({exc.kind}): {exc}: unknown request",
            ) from exc
        return opened.msg_json, opened.context

    return open_message
