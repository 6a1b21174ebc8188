"""One node per home: ``serve`` holds an exclusive lock on ``HOME/serve.lock``.

A second node on the same home would share its SQLite file and its block heights
and answer every tx with an error, so it is refused at start. The lock is an
advisory ``flock`` held for the life of the process; the kernel drops it when the
process ends, however it ends (``kill -9`` included), so it never goes stale. The
file holds the serving node's pid, for the message that names it, and the URL it
serves (``serve --port`` may differ from the home's config), for ``info``.

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


def _read(fd: int) -> list[str]:
    return os.pread(fd, 1024, 0).decode("utf-8", "replace").split("\n")


def _read_pid(fd: int) -> int | None:
    return _pid(_read(fd)[0])


@contextlib.contextmanager
def serve_lock(home: Path, url: str = "") -> Iterator[None]:
    """Hold the home's serve lock inside the block, or raise :class:`HomeInUse`.
    ``url``: where this node serves, for :func:`serving_url`."""
    fd = os.open(home / LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise HomeInUse(home, _read_pid(fd)) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n{url}\n".encode(), 0)
        yield
    finally:
        os.close(fd)  # releases the lock


def serving_pid(home: Path) -> int | None:
    """The pid of the node serving ``home`` now, or None if none does (or it is not known
    yet). Reads only: it creates and changes nothing."""
    served = _serving(home)
    return _pid(served[0]) if served else None


def serving_url(home: Path) -> str | None:
    """The URL the node serving ``home`` now listens on, or None if none does (or it is
    not known). Reads only."""
    served = _serving(home)
    if not served or len(served) < 2:
        return None
    return served[1].strip() or None


def _pid(text: str) -> int | None:
    text = text.strip()
    return int(text) if text.isdigit() else None


def _serving(home: Path) -> list[str] | None:
    """The lock file's lines while a node holds the lock, else None."""
    try:
        fd = os.open(home / LOCK_FILE, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _read(fd)
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)
