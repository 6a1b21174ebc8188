"""The ``worker-manager`` command line (Typer): one module per command group."""
