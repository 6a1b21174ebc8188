"""Allow ``python -m worker_manager``."""

from worker_manager.cli.main import run

run()
