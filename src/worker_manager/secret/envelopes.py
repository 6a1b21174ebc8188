"""Encrypted execute messages at the node's ante checks.

Secret clients put an encrypted envelope in ``MsgExecuteContract.msg``. The node
opens it with its x25519 key before the tx may queue; a garbled envelope, one for
another node's key or for another code hash raises
:class:`~worker_manager.secret.encryption.EnvelopeError`, which the ante turns into
a refusal, and nothing changes. The envelope stays in the tx bytes, so the node can
derive the same key again to encrypt the result when a client looks the tx up.
"""

from collections.abc import Callable
from typing import Any

from worker_manager.secret.encryption import X25519KeyPair, open_envelope

#: envelope bytes -> (plaintext message JSON, the message key); raises EnvelopeError.
Opener = Callable[[bytes], tuple[bytes, Any]]


def envelope_opener(node_key: X25519KeyPair, code_hash: str) -> Opener:
    """The ante's way to open envelopes sent to ``node_key`` for ``code_hash``."""

    def open_message(envelope: bytes) -> tuple[bytes, Any]:
        opened = open_envelope(node_key, envelope, code_hash)
        return opened.msg_json, opened.context

    return open_message
