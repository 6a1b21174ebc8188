"""The WorkerManager contract: a pure, deterministic core.

What it guarantees:

- Admins (the sender of ``instantiate``, or whoever accepted a hand-over)
  register workers; each worker's ``payment_wallet`` owns its record and alone
  may change it; the owner or the admin may remove it.
- A worker's address is its unique key, validated and normalised; nothing is
  ever overwritten by a registration or a move.
- ``get_workers`` answers only a subscriber that proves its key; ``get_models``
  and ``get_u_r_ls``/``get_urls`` are public.
- A refused message changes nothing: handlers check everything before they
  write, and the node runs each execute in one store transaction.

The core never reads the clock, the network or random numbers; the node passes
them in :class:`~worker_manager.contract.deps.Env`, as a chain would.
"""

from worker_manager.contract.contract import (
    CONTRACT_NAME,
    CONTRACT_VERSION,
    execute,
    instantiate,
    query,
    query_answer,
    sudo,
)
from worker_manager.contract.deps import (
    Api,
    BlockInfo,
    Coin,
    ContractInfo,
    Deps,
    Env,
    MessageInfo,
    QueryDeps,
    QueryStorage,
    Storage,
    TransactionInfo,
)
from worker_manager.contract.error import ContractError
from worker_manager.contract.msg import (
    parse_execute,
    parse_instantiate,
    parse_query,
    parse_sudo,
)
from worker_manager.contract.response import Event, Response

__all__ = [
    "CONTRACT_NAME",
    "CONTRACT_VERSION",
    "Api",
    "BlockInfo",
    "Coin",
    "ContractError",
    "ContractInfo",
    "Deps",
    "Env",
    "Event",
    "MessageInfo",
    "QueryDeps",
    "QueryStorage",
    "Response",
    "Storage",
    "TransactionInfo",
    "execute",
    "instantiate",
    "parse_execute",
    "parse_instantiate",
    "parse_query",
    "parse_sudo",
    "query",
    "query_answer",
    "sudo",
]
