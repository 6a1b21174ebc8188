"""What a node knows of its chain between blocks: height, time, config, policy.

Read from the store when the node starts and replaced, whole, after each block
(:meth:`ChainState.advance`), so readers on other threads see one block's state or
the next one's, never a mix. The ante checks, the queries and the ticker read it.
It moves forward when this node commits a block, when its pipeline reads the
database's head under the block lock, and when the follower hears (or sees) that
another node committed one (:mod:`~worker_manager.node.follower`); ``confirmed_at``
says when it was last known to be the database's head.
"""

import threading
import time
from dataclasses import dataclass

from worker_manager.contract.state import Config, LivelinessState, StoredPolicy
from worker_manager.node.identity import ChainIdentity
from worker_manager.store import Session


class NodeNotInitialised(RuntimeError):
    """The database holds no chain: ``worker-manager init`` has not been run on it."""


class ForeignSeed(NodeNotInitialised):
    """The database holds a chain whose nodes use another node seed than this home's."""


@dataclass(frozen=True, slots=True)
class Head:
    """The chain as of its latest block."""

    height: int
    time_ns: int
    hash: str
    config: Config
    liveliness: LivelinessState
    policy: StoredPolicy | None


def read_head(session: Session) -> Head | None:
    """The latest block's state in ``session``, or None for a database with no chain."""
    config = session.contract.load_config()
    if config is None:
        return None
    return Head(
        height=int(session.meta.get("height") or 0),
        time_ns=int(session.meta.get("block_time_ns") or 0),
        hash=session.meta.get("block_hash") or "",
        config=config,
        liveliness=session.contract.load_liveliness(),
        policy=session.contract.load_attestation_policy(),
    )


class ChainState:
    """The node's chain identity and the head it last committed or read."""

    def __init__(self, identity: ChainIdentity, head: Head) -> None:
        self.identity = identity
        self.head = head
        #: Why the last block failed for a node-wide reason; None once blocks commit again.
        self.block_error: str | None = None
        #: ``time.monotonic()`` when ``head`` was last read from, or written to, the database.
        self.confirmed_at = time.monotonic()
        self._lock = threading.Lock()

    @classmethod
    def load(cls, session: Session, where: str) -> "ChainState":
        identity = ChainIdentity.load(session.meta)
        head = read_head(session)
        if identity is None or head is None:
            raise NodeNotInitialised(f"no chain in {where}; run worker-manager init")
        return cls(identity, head)

    def advance(self, head: Head, *, as_of: float | None = None) -> bool:
        """``head`` is the database's head as of ``as_of`` (a ``time.monotonic()`` taken
        before it was read; default now): move to it unless this node already knows a
        later one. Returns whether the head moved."""
        with self._lock:
            moved = head.height > self.head.height
            if moved:
                self.head = head
            if head.height >= self.head.height:
                self.confirmed_at = max(self.confirmed_at, as_of or time.monotonic())
            return moved

    def committed(self, head: Head) -> None:
        """This node committed the block whose state is ``head``."""
        self.advance(head)
        self.block_error = None

    def failed(self, reason: str) -> None:
        """A block failed for a reason no tx caused; the head stays where it was."""
        self.block_error = reason
