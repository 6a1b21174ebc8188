"""Allow ``python -m worker_manager``."""

from worker_manager.cli.main import run

# the guard matters: ``serve --workers N`` starts its node processes with the "spawn"
# method, which imports this module again in each of them
if __name__ == "__main__":
    run()
