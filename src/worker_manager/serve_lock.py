"""One node per home: ``serve`` holds an exclusive lock on ``HOME/serve.lock``.

A second node on the same home would share its SQLite file and its block heights
and answer every tx with an error, so it is refused at start. The lock is an
advisory ``flock`` held for the life of the process; the kernel drops it when the
process ends, however it ends (``kill -9`` included), so it never goes stale. The
file holds the serving node's pid, for the message that names it.

Several nodes on one home are not supported yet: the lock is always exclusive.
"""

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

LOCK_FILE = "serve.lock"


class HomeInUse(RuntimeError):
    """Another live process serves this home."""

    def __init__(self, home: Path, pid: int | None) -> None:
        who = f"another node (pid {pid})" if pid else "another node"
        super().__init__(
            f"{home} is already served by {who}; stop it first, or serve another home. "
            "Several nodes on one home are not supported yet."
        )
        self.home = home
        self.pid = pid


def _read_pid(fd: int) -> int | None:
    text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    return int(text) if text.isdigit() else None


@contextlib.contextmanager
def serve_lock(home: Path) -> Iterator[None]:
    """Hold the home's serve lock inside the block, or raise :class:`HomeInUse`."""
    fd = os.open(home / LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise HomeInUse(home, _read_pid(fd)) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)  # releases the lock


def serving_pid(home: Path) -> int | None:
    """The pid of the node serving ``home`` now, or None if none does (or it is not known
    yet). Reads only: it creates and changes nothing."""
    try:
        fd = os.open(home / LOCK_FILE, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _read_pid(fd)
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)
