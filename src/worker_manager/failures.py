"""The one failure every layer may meet and every edge answers the same way.

Kept apart (and import-free) so that the store can raise it, and the command line
and the HTTP API can catch it, without importing each other.
"""


class ServiceUnavailable(Exception):
    """Something the work needs is not available now (the database, a port, a home
    another node serves): not the caller's mistake; try again later. The command line
    exits 3; the HTTP API answers 503 ``node_unavailable``."""
