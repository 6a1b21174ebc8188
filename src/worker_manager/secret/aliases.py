"""Contract addresses that name this node's contract besides its own.

``secret-ai-sdk`` 0.1.7 queries the WorkerManager at a hard-coded address
unless ``SECRET_WORKER_SMART_CONTRACT`` is set. A node that answers to that
address as well lets ``Secret()`` work with only ``SECRET_NODE_URL`` set. Every
alias is served exactly like the node's own address: code hash, contract info,
queries, and executes (the ante accepts messages sent to an alias, see
:class:`worker_manager.node.ante.AnteContext`). Events and contract answers
always name the node's own address.
"""

from typing import Final

#: ``SECRET_WORKER_SMART_CONTRACT_DEFAULT`` in ``secret_ai_sdk/_config.py`` (0.1.7):
#: the WorkerManager on Secret's mainnet, ``secret-4``.
SECRET_AI_SDK_DEFAULT_CONTRACT: Final = "secret1xv90yettghx8uv6ug23knaf5mjqwlsghau6aqa"  # noqa: S105

#: Every alias a node built by :func:`worker_manager.node.bootstrap.build_node` answers to.
CONTRACT_ALIASES: Final[frozenset[str]] = frozenset({SECRET_AI_SDK_DEFAULT_CONTRACT})
