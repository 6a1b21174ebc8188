"""The node's long-lived x25519 key (Secret's "consensus IO exchange key").

Derived from the home's ``secrets/node.seed`` with HKDF, so it survives restarts
and every node that shares the seed (and the database) serves the same key:
clients cache it for the life of their client object.
"""

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from worker_manager.secret.encryption import KEY_SIZE, X25519KeyPair

_INFO = b"worker-manager/lcd/x25519/v1"


def node_io_key(seed: bytes) -> X25519KeyPair:
    """The node's x25519 key pair, from its secret seed."""
    private = HKDF(algorithm=hashes.SHA256(), length=KEY_SIZE, salt=None, info=_INFO).derive(seed)
    return X25519KeyPair(private)
