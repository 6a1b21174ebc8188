"""The Secret-compatible LCD edge: what secret-sdk and secret-ai-sdk talk to.

See ``LCD.md`` (shared design notes) and ``docs/lcd.md`` for the routes and the
cryptography. :mod:`~worker_manager.lcd.encryption` holds Secret's contract-message
encryption; :mod:`~worker_manager.lcd.routes` serves the routes, decoding requests
with :mod:`~worker_manager.lcd.requests` and shaping answers with
:mod:`~worker_manager.lcd.views` and :mod:`~worker_manager.lcd.txs`;
:mod:`~worker_manager.lcd.aliases` lists the other addresses of the contract.
"""
