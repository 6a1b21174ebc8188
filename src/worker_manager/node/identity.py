"""The contract instance's identity on this node: chain id, address, code hash.

Secret clients need a ``secret1…`` contract address and a 64-hex code hash.
Both are fixed when the home is created and kept in ``node_meta``, so clients
that cache them for the life of a process keep working across restarts.
"""

import hashlib
import re
from dataclasses import dataclass
from typing import Self

from worker_manager.contract import CONTRACT_NAME, CONTRACT_VERSION
from worker_manager.keys.address import address_from_bytes
from worker_manager.store.meta import NodeMeta

CODE_ID = 1
DEFAULT_LABEL = "worker-manager"


_CHAIN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,49}")


class InvalidChainId(ValueError):
    """A chain id must be 1-50 characters of letters, digits, '.', '_' and '-'."""


def validate_chain_id(chain_id: str) -> str:
    if not _CHAIN_ID.fullmatch(chain_id):
        raise InvalidChainId(
            f"chain id {chain_id!r} must be 1-50 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit (e.g. secret-4, worker-manager-1)"
        )
    return chain_id


def code_hash_for(name: str = CONTRACT_NAME, version: str = CONTRACT_VERSION) -> str:
    """A stable 64-hex code hash for this contract's message set and version."""
    return hashlib.sha256(f"{name}@{version}".encode()).hexdigest()


def contract_address_for(chain_id: str, creator: str, label: str = DEFAULT_LABEL) -> str:
    """A deterministic 20-byte ``secret1…`` address for the contract instance."""
    digest = hashlib.sha256(
        b"worker-manager/contract/v1\x00"
        + chain_id.encode()
        + b"\x00"
        + creator.encode()
        + b"\x00"
        + label.encode()
    ).digest()
    return address_from_bytes(digest[:20])


@dataclass(frozen=True, slots=True)
class ChainIdentity:
    chain_id: str
    contract_address: str
    code_hash: str
    code_id: int
    label: str
    creator: str
    created_height: int

    @classmethod
    def new(cls, chain_id: str, creator: str, *, label: str = DEFAULT_LABEL) -> Self:
        return cls(
            chain_id=chain_id,
            contract_address=contract_address_for(chain_id, creator, label),
            code_hash=code_hash_for(),
            code_id=CODE_ID,
            label=label,
            creator=creator,
            created_height=1,
        )

    def save(self, meta: NodeMeta) -> None:
        meta.set("chain_id", self.chain_id)
        meta.set("contract_address", self.contract_address)
        meta.set("code_hash", self.code_hash)
        meta.set("code_id", str(self.code_id))
        meta.set("label", self.label)
        meta.set("creator", self.creator)
        meta.set("created_height", str(self.created_height))

    @classmethod
    def load(cls, meta: NodeMeta) -> Self | None:
        values = meta.all()
        if "chain_id" not in values:
            return None
        return cls(
            chain_id=values["chain_id"],
            contract_address=values["contract_address"],
            code_hash=values["code_hash"],
            code_id=int(values["code_id"]),
            label=values["label"],
            creator=values["creator"],
            created_height=int(values["created_height"]),
        )
