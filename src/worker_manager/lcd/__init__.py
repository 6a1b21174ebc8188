"""The Secret-compatible LCD edge: the routes secret-sdk and secret-ai-sdk talk to.

See ``LCD.md`` (shared design notes) and ``docs/lcd.md`` for the routes.
:mod:`~worker_manager.lcd.routes` serves them, decoding requests with
:mod:`~worker_manager.lcd.requests` and shaping answers with
:mod:`~worker_manager.lcd.views` and :mod:`~worker_manager.lcd.txs`. Secret's
message encryption, the node's x25519 key and the contract aliases live below
every edge, in :mod:`worker_manager.secret`.
"""
