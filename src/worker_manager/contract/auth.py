"""Who may do what: the three roles of the WorkerManager, checked in one place.

- the **admin** (the sender of ``instantiate``, or whoever accepted a hand-over);
- a worker's **owner**, its ``payment_wallet``;
- a **subscriber**, a secp256k1 key proving itself with a signature.
"""

import hashlib

from worker_manager.contract.deps import Storage
from worker_manager.contract.error import (
    InvalidSignature,
    NotInstantiated,
    SubscriberNotAllowed,
    Unauthorized,
    WorkerNotFound,
)
from worker_manager.contract.state import Config, Worker
from worker_manager.contract.validate import canonical_worker_address
from worker_manager.keys.secp256k1 import SignatureError, parse_public_key, verify_compact


def load_config(storage: Storage) -> Config:
    config = storage.load_config()
    if config is None:
        raise NotInstantiated()
    return config


def require_admin(config: Config, sender: str) -> None:
    if sender != config.admin:
        raise Unauthorized(sender, "the admin")


def load_worker(storage: Storage, ip_address: str, field: str = "ip_address") -> Worker:
    key = canonical_worker_address(ip_address, field)
    worker = storage.get_worker(key)
    if worker is None:
        raise WorkerNotFound(key)
    return worker


def require_owner(worker: Worker, sender: str) -> None:
    if sender != worker.payment_wallet:
        raise Unauthorized(sender, f"the owner (payment wallet) of worker {worker.ip_address}")


def require_owner_or_admin(worker: Worker, config: Config, sender: str) -> None:
    if sender not in (worker.payment_wallet, config.admin):
        raise Unauthorized(
            sender, f"the owner (payment wallet) of worker {worker.ip_address} or the admin"
        )


def _decode_hex(value: str, field: str) -> bytes:
    if not value:
        raise InvalidSignature(f"{field} is required")
    text = value[2:] if value[:2] in ("0x", "0X") else value
    try:
        return bytes.fromhex(text)
    except ValueError as exc:
        raise InvalidSignature(f"{field} is not hex") from exc


def verify_subscriber(
    storage: Storage, config: Config, public_key_hex: str, signature_hex: str
) -> str:
    """Check a subscriber's proof the way the Rust contract does; return its canonical key.

    The proof is a 64-byte compact secp256k1 signature over ``sha256(public key
    bytes)``. Like CosmWasm's ``secp256k1_verify``, a high-S signature is
    normalised before the check.
    """
    public_key = _decode_hex(public_key_hex, "subscriber_public_key")
    signature = _decode_hex(signature_hex, "signature")
    try:
        parse_public_key(public_key)
        valid = verify_compact(
            public_key, signature, hashlib.sha256(public_key).digest(), allow_high_s=True
        )
    except SignatureError as exc:
        raise InvalidSignature(str(exc)) from exc
    if not valid:
        raise InvalidSignature(
            "signature does not verify: it must sign sha256(subscriber_public_key bytes) "
            "with that key"
        )
    canonical = public_key.hex()
    if config.require_listed_subscribers and storage.get_subscriber(canonical) is None:
        raise SubscriberNotAllowed(canonical)
    return canonical
