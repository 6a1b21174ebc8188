"""The benchmarks: ``python -m bench`` runs them all beside their references (README.md)."""
