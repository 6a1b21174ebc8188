"""worker-manager: the Secret AI WorkerManager contract, run by a Python node.

The contract core (:mod:`worker_manager.contract`) registers confidential GPU
workers, lets each worker's payment wallet manage its record, and tells
subscribers which models exist and which URLs serve them. The node
(:mod:`worker_manager.node`) feeds it authenticated messages and keeps its
state in SQLite or PostgreSQL (:mod:`worker_manager.store`).
"""

__version__ = "0.1.0"
