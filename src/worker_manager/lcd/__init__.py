"""The Secret-compatible LCD edge: what secret-sdk and secret-ai-sdk talk to.

See ``LCD.md`` (shared design notes) for the routes and the cryptography;
:mod:`worker_manager.lcd.encryption` holds Secret's contract-message encryption.
"""
