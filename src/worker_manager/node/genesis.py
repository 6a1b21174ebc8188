"""Block 1: the chain's identity and the contract's instantiation, recorded as a tx.

Recording genesis like any other tx is what lets :mod:`~worker_manager.node.replay`
rebuild the whole state from the log, starting at height 1.
"""

import hashlib
import json
from typing import Any

from worker_manager import contract
from worker_manager.contract import (
    Api,
    BlockInfo,
    ContractInfo,
    Deps,
    Env,
    MessageInfo,
    TransactionInfo,
)
from worker_manager.contract.validate import canonical_address
from worker_manager.node.deliver import block_hash, record_of
from worker_manager.node.identity import ChainIdentity, validate_chain_id
from worker_manager.node.pending import PendingTx, TxOutcome
from worker_manager.store import Session
from worker_manager.tx.records import BlockRecord

#: The node_meta key of the network's seed fingerprint (see :func:`seed_check`).
SEED_CHECK_KEY = "seed_check"


def seed_check(api: Api) -> str:
    """A public fingerprint of the node seed behind ``api``.

    Every node sharing a database must share the seed (it makes the liveliness
    challenges and the Secret encryption key), so the chain keeps this and a node
    whose home holds another seed refuses to start. Derived from the challenge of
    epoch 0, which tells nothing of later epochs' challenges.
    """
    return hashlib.sha256(
        b"worker-manager/seed-check/v1\x00" + api.liveliness_challenge(0)
    ).hexdigest()


def genesis_tx_hash(admin: str, instantiate_msg: dict[str, Any], time_ns: int) -> str:
    body = json.dumps(["genesis", admin, instantiate_msg, time_ns], separators=(",", ":"))
    return hashlib.sha256(body.encode()).hexdigest().upper()


def write_genesis(
    session: Session,
    *,
    chain_id: str,
    admin: str,
    instantiate_msg: dict[str, Any],
    time_ns: int,
    api: Api,
) -> ChainIdentity:
    """Instantiate the contract as block 1 inside the caller's transaction.

    Raises :class:`~worker_manager.contract.ContractError` (bad admin, bad config)
    or :class:`~worker_manager.node.identity.InvalidChainId` before writing anything.
    """
    msg = contract.parse_instantiate(instantiate_msg)
    chain_id = validate_chain_id(chain_id)
    admin = canonical_address("admin", admin)
    identity = ChainIdentity.new(chain_id, admin)
    env = Env(
        block=BlockInfo(height=1, time_ns=time_ns, chain_id=chain_id),
        contract=ContractInfo(address=identity.contract_address),
        transaction=TransactionInfo(index=0),
    )
    response = contract.instantiate(
        Deps(session.contract, api), env, MessageInfo(sender=admin), msg
    )
    identity.save(session.meta)
    session.meta.set(SEED_CHECK_KEY, seed_check(api))
    tx_hash = genesis_tx_hash(admin, instantiate_msg, time_ns)
    pending = PendingTx(
        hash=tx_hash, kind="genesis", sender=admin, calls=(), instantiate_msg=instantiate_msg
    )
    result = TxOutcome(
        hash=tx_hash,
        height=1,
        index=0,
        code=0,
        codespace="",
        error=None,
        log="",
        data=response.data,
        events=[],
        gas_wanted=0,
        gas_used=0,
        time_ns=time_ns,
    )
    block = BlockRecord(1, time_ns, 1, block_hash("", 1, time_ns, [tx_hash]))
    session.ledger.insert_txs([record_of(pending, result)])
    session.ledger.insert_block(block)
    session.meta.set("height", "1")
    session.meta.set("block_time_ns", str(time_ns))
    session.meta.set("block_hash", block.hash)
    return identity
