"""Who may do what: the three roles of the WorkerManager, checked in one place.

- the **admin** (the sender of ``instantiate``, or whoever accepted a hand-over);
- a worker's **owner**, its ``payment_wallet``;
- a **subscriber**, a secp256k1 key proving itself with a signature.
"""

import hashlib

from worker_manager.contract.deps import Env, Storage
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


def time_bound_proof_text(chain_id: str, contract: str, proof_time: int) -> bytes:
    """What a time-bound subscriber proof signs (its sha256): the chain, the contract and
    the time, so a proof seen once is good for one contract, briefly."""
    return (
        f"worker-manager subscriber proof v1\nchain_id: {chain_id}\n"
        f"contract: {contract}\nproof_time: {proof_time}"
    ).encode()


def verify_subscriber(
    storage: Storage,
    config: Config,
    public_key_hex: str,
    signature_hex: str,
    *,
    proof_time: int | None = None,
    env: Env | None = None,
) -> str:
    """Check a subscriber's proof; return its canonical key.

    The proof is a 64-byte compact secp256k1 signature (a high-S one is normalised
    first, as CosmWasm's ``secp256k1_verify`` does) over ``sha256(public key bytes)``
    as the Rust contract checks it (while ``legacy_proofs`` allows), or, with
    ``proof_time``, over the sha256 of :func:`time_bound_proof_text`, within
    ``proof_window_seconds`` of the block time.
    """
    public_key = _decode_hex(public_key_hex, "subscriber_public_key")
    signature = _decode_hex(signature_hex, "signature")
    if proof_time is None:
        if not config.legacy_proofs:
            raise InvalidSignature(
                "this network takes time-bound proofs only (legacy_proofs is off): sign "
                "the proof text with proof_time"
            )
        digest = hashlib.sha256(public_key).digest()
        what = "sha256(subscriber_public_key bytes)"
    else:
        if env is None:  # pragma: no cover - every query runs with an env
            raise InvalidSignature("a time-bound proof needs the block time")
        drift = abs(env.block.time - proof_time)
        if drift > config.proof_window_seconds:
            raise InvalidSignature(
                f"proof_time {proof_time} is {drift} s from the block time "
                f"{env.block.time}; a proof is good for {config.proof_window_seconds} s "
                "either side: sign a new one"
            )
        text = time_bound_proof_text(env.block.chain_id, env.contract.address, proof_time)
        digest = hashlib.sha256(text).digest()
        what = "sha256 of the time-bound proof text for this chain, contract and time"
    try:
        parse_public_key(public_key)
        valid = verify_compact(public_key, signature, digest, allow_high_s=True)
    except SignatureError as exc:
        raise InvalidSignature(str(exc)) from exc
    if not valid:
        raise InvalidSignature(f"signature does not verify: it must sign {what} with that key")
    canonical = public_key.hex()
    if config.require_listed_subscribers and storage.get_subscriber(canonical) is None:
        raise SubscriberNotAllowed(canonical)
    return canonical
