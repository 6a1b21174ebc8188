"""A real PostgreSQL server for the tests, in a temporary directory on a free port.

Started with the machine's ``initdb`` and ``pg_ctl`` (the newest under
``/usr/lib/postgresql/*/bin``, Debian's layout, or ``WM_PG_BIN``). PostgreSQL refuses to run as
root, so as root the server runs as the ``postgres`` user (``runuser``). Without the
binaries the tests that need it skip with the reason, unless ``WM_REQUIRE_POSTGRES=1``
(set by ``.ci/run``) makes them fail instead.
"""

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest


def _pg_bin() -> Path:
    """``WM_PG_BIN``, else the newest ``/usr/lib/postgresql/*/bin`` (Debian's layout),
    else the version-15 path the machine's docs name."""
    if "WM_PG_BIN" in os.environ:
        return Path(os.environ["WM_PG_BIN"])
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    return found[-1].parent if found else Path("/usr/lib/postgresql/15/bin")


PG_BIN = _pg_bin()
SUPERUSER = "postgres"


def required() -> bool:
    """Whether a missing PostgreSQL must fail the tests rather than skip them."""
    return os.environ.get("WM_REQUIRE_POSTGRES", "") not in ("", "0")


def unavailable(reason: str) -> None:
    """Skip (on a laptop) or fail (in CI) a test that needs PostgreSQL."""
    if required():
        pytest.fail(f"PostgreSQL is required (WM_REQUIRE_POSTGRES=1) but {reason}")
    pytest.skip(f"no PostgreSQL: {reason} (set WM_PG_BIN, or apt-get install postgresql)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class PostgresServer:
    """One throw-away cluster: ``start()``, ``url(name)``, ``create_database()``, ``stop()``."""

    def __init__(self, *, durable: bool = False) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="wm-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self.durable = durable
        self._as_user: list[str] = []
        if os.geteuid() == 0:  # initdb and postgres refuse to run as root
            account = pwd.getpwnam("postgres")
            os.chown(self.root, account.pw_uid, account.pw_gid)
            self._as_user = ["runuser", "-u", "postgres", "--"]

    def _run(self, *args: str) -> None:
        subprocess.run(
            [*self._as_user, *args],
            check=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            cwd=self.root,
        )

    def start(self) -> "PostgresServer":
        self._run(
            str(PG_BIN / "initdb"),
            "-D",
            str(self.data),
            "-U",
            SUPERUSER,
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
        )
        settings = [
            f"port={self.port}",
            "listen_addresses='127.0.0.1'",
            f"unix_socket_directories='{self.root}'",
            "max_connections=300",
            "shared_buffers=32MB",
        ]
        if not self.durable:  # the tests kill nodes, never the database
            settings += ["fsync=off", "synchronous_commit=off", "full_page_writes=off"]
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write("\n".join(settings) + "\n")
        log = str(self.root / "log")
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", log, "-w", "start")
        return self

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def execute(self, sql: str) -> None:
        """Run one statement outside a transaction (``CREATE DATABASE`` needs that)."""
        import psycopg

        with psycopg.connect(
            f"host=127.0.0.1 port={self.port} user={SUPERUSER} dbname=postgres", autocommit=True
        ) as conn:
            conn.execute(sql)  # type: ignore[arg-type]

    def create_database(self, name: str, *, template: str | None = None) -> str:
        """A new database (a copy of ``template`` if given); returns its URL."""
        source = f" TEMPLATE {template} STRATEGY FILE_COPY" if template else ""
        self.execute(f"CREATE DATABASE {name}{source}")
        return self.url(name)

    def drop_database(self, name: str) -> None:
        self.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def halt(self) -> None:
        """Stop the server as a crash would (its data stays): the database is gone."""
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop")

    def resume(self) -> None:
        """Start a halted server again, on the same port, with the same data."""
        log = str(self.root / "log")
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", log, "-w", "start")

    def stop(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop")
        shutil.rmtree(self.root, ignore_errors=True)


def start_server(*, durable: bool = False) -> PostgresServer:
    """A started server, or skip/fail (see :func:`unavailable`) with the reason."""
    if not (PG_BIN / "initdb").exists():
        unavailable(f"{PG_BIN / 'initdb'} does not exist")
    try:
        import psycopg  # noqa: F401
    except ImportError:
        unavailable("the psycopg package is not installed (pip install -e '.[postgres]')")
    server = PostgresServer(durable=durable)
    deadline = time.monotonic() + 60
    while True:
        try:
            return server.start()
        except subprocess.CalledProcessError as exc:
            output = exc.output.decode(errors="replace") if exc.output else ""
            log = server.root / "log"
            if log.exists():
                output += log.read_text(errors="replace")
            if "could not bind" in output and time.monotonic() < deadline:
                server.stop()  # the port was taken meanwhile: another one
                server = PostgresServer(durable=durable)
                continue
            server.stop()
            unavailable(f"it did not start: {output.strip()[-2000:]}")
