"""Run the docs' ``console`` examples as a reader would, and compare what they print.

Used by ``tests/e2e/test_docs_examples.py``. The rules, which docs/README.md's
"Examples are tested" note also states:

Which blocks run
    Every fenced ``console`` block of README.md and docs/*.md runs, in order, per file.
    A block preceded by ``<!-- not-run: REASON -->`` does not run; the test counts and
    reports those blocks with their reasons (keep that list short). A block preceded by
    ``<!-- setup: COMMAND -->`` runs COMMAND first, unshown and uncompared (it must
    succeed): for a file a block needs that the reader is assumed to have.

Commands
    A line ``$ COMMAND`` is a command, continued on the next lines while a line ends with
    ``\\`` (or, with a here-document ``<<'EOF'``, up to its ``EOF`` line); the lines after
    it, up to the next ``$``, are what it prints. Each command runs
    in bash in a terminal 120 columns wide (stdout and stderr interleaved, as a reader sees
    them), in a fresh directory that is also ``$HOME`` (shown in the docs as
    ``/home/you``), with ``WM_PORT`` and ``WM_NODE`` naming a free port (shown as 1317)
    and the files of :data:`FIXTURES` (a sample quote as ``quote.hex``...). Variables a
    command exports and its working directory carry on to the next command of the file.
    A command that shows no output must exit 0; its output is not compared.

Long-running commands
    ``worker-manager serve``, ``worker-manager agent`` (``timeout N`` before them
    included) and a command ending in ``&`` keep
    running (in the background) until the file's examples end; the test waits until the
    lines shown under one are the first lines it printed (or it exits, and then all of
    its output is compared). A ``serve`` stops the file's earlier ``serve`` first, as a
    reader would press Ctrl-C before serving another home on the same port; a ``serve``
    that shows no output is waited for until it answers ``/healthz``.

Comparing
    Lines compare exactly, except that runs of spaces inside a line, and of ``─``, count
    as one (tables align to their widest value) and trailing spaces and blank lines at
    the end do not count. In what the docs show:

    - ``…`` stands for any text within a line, and a line of only ``…`` for any number
      of lines (none included);
    - values that differ from run to run are recognised by their shape and stand for any
      value of that shape: a 64-digit hex hash (either case), a ``secret1…`` address and a
      time (``2026-11-25T12:44:44.379363Z``, ``2026-11-25 12:44:44,379``). Once a hash or
      an address shown in the docs has matched a real one, it stands for that real one in
      the rest of the file: in what later commands print, and in later commands
      themselves (so ``query tx HASH`` asks for the hash the earlier command printed).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import re
import select
import signal
import struct
import subprocess
import termios
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
#: The files the examples assume a reader has, by name in the example's directory.
ATTESTATION = ROOT / "tests/data/attestation"
FIXTURES: dict[str, bytes] = {
    # real TDX quotes in hex (a worker's TDX guest makes them; README says where), and
    # the first one's collateral
    "quote.hex": (ATTESTATION / "dcap-qvl/tdx_quote").read_bytes().hex().encode(),
    "coll.json": (ATTESTATION / "dcap-qvl/tdx_quote_collateral.json").read_bytes(),
    "quote2.hex": (ATTESTATION / "secretvm/secretai_cpu_quote.txt").read_bytes(),
    # the admin of the README (and of docs/lcd.md's known pair):
    # secret1snf0y77qz9hgh69fefffjdv5tedfd6rmewzzsz
    "admin-mnemonic.txt": b"arrest rain grunt tuna super test scan limit motion indicate weather "
    b"script duty praise federal demand suffer grape learn arctic evil maple pumpkin pink\n",
}
DOCS_HOME = "/home/you"
DOCS_PORT = 1317
COLUMNS = 120
ROWS = 40
COMMAND_TIMEOUT_S = 60.0
START_TIMEOUT_S = 30.0

ELLIPSIS = "…"
_HASH = re.compile(r"\b(?:[0-9A-F]{64}|[0-9a-f]{64})\b")
_ADDRESS = re.compile(r"\bsecret1[02-9ac-hj-np-z]{38}\b")
_TIME = re.compile(
    r"\b\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z|\b\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}\b"
)
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")
_HEREDOC = re.compile(r"<<-?\s*'?(\w+)'?")
_MARKER = re.compile(r"<!--\s*(not-run|setup):\s*(.*?)\s*-->", re.DOTALL)


@dataclass
class Command:
    line: int
    text: str
    expected: list[str]


@dataclass
class Block:
    path: Path
    line: int
    commands: list[Command]
    not_run: str | None = None
    setup: list[str] = field(default_factory=list)

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def parse(path: Path) -> list[Block]:
    """The ``console`` blocks of a markdown file, with their markers and commands."""
    lines = path.read_text().splitlines()
    blocks: list[Block] = []
    markers: list[tuple[str, str]] = []
    comment: list[str] | None = None
    i = 0
    while i < len(lines):
        stripped = lines[i].strip()
        if comment is not None:
            comment.append(lines[i])
            if "-->" in stripped:
                markers += _MARKER.findall("\n".join(comment))
                comment = None
        elif stripped.startswith("<!--"):
            if "-->" in stripped:
                markers += _MARKER.findall(stripped)
            else:
                comment = [lines[i]]
        elif stripped.startswith("```console"):
            indent = len(lines[i]) - len(lines[i].lstrip())
            start = i + 1
            i += 1
            body: list[str] = []
            while i < len(lines) and lines[i].strip() != "```":
                body.append(lines[i][indent:])
                i += 1
            block = Block(path, start, _commands(body, start + 1))
            for kind, value in markers:
                if kind == "not-run":
                    block.not_run = " ".join(value.split())
                else:
                    block.setup.append(value)
            blocks.append(block)
            markers = []
        elif stripped and not stripped.startswith("```"):
            markers = [] if not stripped.startswith("<!--") else markers
        i += 1
    return blocks


def _commands(body: list[str], first_line: int) -> list[Command]:
    commands: list[Command] = []
    i = 0
    while i < len(body):
        if body[i].startswith("$ "):
            number = first_line + i
            text = body[i][2:]
            while text.endswith("\\") and i + 1 < len(body):
                i += 1
                text += "\n" + body[i]
            heredoc = _HEREDOC.search(text)
            while heredoc and i + 1 < len(body):  # the here-document is the command's
                i += 1
                text += "\n" + body[i]
                if body[i] == heredoc.group(1):
                    break
            commands.append(Command(number, text, []))
        elif commands:
            commands[-1].expected.append(body[i])
        i += 1
    return commands


# --- comparing -----------------------------------------------------------------------


def _normalise(line: str) -> str:
    line = re.sub(r"(?<=\S) {2,}", " ", line.rstrip())
    return re.sub("─{2,}", "─", line)


def _trim(lines: list[str]) -> list[str]:
    while lines and not lines[-1].strip():
        lines = lines[:-1]
    return lines


class Bindings(dict[str, str]):
    """Values shown in the docs (hashes, addresses) and the real values they stand for."""

    def apply(self, text: str) -> str:
        for shown, real in self.items():
            text = text.replace(shown, real)
        return text


def _line_pattern(expected: str, bindings: Bindings) -> tuple[re.Pattern[str], dict[str, str]]:
    """A regex for one line the docs show; its groups name the docs' values they bind."""
    expected = _normalise(expected)
    parts: list[str] = []
    groups: dict[str, str] = {}  # group name -> the docs' value
    seen: dict[str, str] = {}  # the docs' value -> its group name
    shapes = re.compile(f"{_HASH.pattern}|{_ADDRESS.pattern}|{_TIME.pattern}|{ELLIPSIS}| ")
    position = 0
    for match in shapes.finditer(expected):
        parts.append(re.escape(expected[position : match.start()]))
        value = match.group()
        position = match.end()
        if value == ELLIPSIS:
            parts.append(".*?")
        elif value == " ":
            parts.append(" +")
        elif _TIME.fullmatch(value):
            parts.append(re.sub(r"\d", r"\\d", re.escape(value)))
        elif value in bindings:
            parts.append(re.escape(bindings[value]))
        elif value in seen:
            parts.append(f"(?P={seen[value]})")
        else:
            name = f"v{len(groups)}"
            shape = _ADDRESS.pattern if value.startswith("secret1") else _same_case_hash(value)
            parts.append(f"(?P<{name}>{shape})")
            groups[name] = value
            seen[value] = name
    parts.append(re.escape(expected[position:]))
    return re.compile("".join(parts)), groups


def _same_case_hash(value: str) -> str:
    return r"\b[0-9A-F]{64}\b" if value.upper() == value else r"\b[0-9a-f]{64}\b"


def match_lines(
    expected: list[str], actual: list[str], bindings: Bindings, *, prefix: bool = False
) -> Bindings | None:
    """The bindings (``bindings`` and what this match adds) if ``actual`` shows what
    ``expected`` says (``prefix``: if its first lines do), else None."""
    expected = _trim(expected)
    actual = [_normalise(line) for line in _trim(actual)]

    def walk(e: int, a: int, bound: Bindings) -> Bindings | None:
        if e == len(expected):
            return bound if prefix or a == len(actual) else None
        if expected[e].strip() == ELLIPSIS:
            for skip in range(a, len(actual) + 1):
                found = walk(e + 1, skip, bound)
                if found is not None:
                    return found
            return None
        if a == len(actual):
            return None
        pattern, groups = _line_pattern(expected[e], bound)
        hit = pattern.fullmatch(actual[a])
        if hit is None:
            return None
        more = Bindings(bound)
        for name, shown in groups.items():
            more[shown] = hit.group(name)
        return walk(e + 1, a + 1, more)

    return walk(0, 0, bindings)


# --- running -------------------------------------------------------------------------


class Terminal:
    """A process in bash on a pseudo-terminal, its output collected by a thread."""

    def __init__(self, script: str, cwd: Path, env: dict[str, str]) -> None:
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLUMNS, 0, 0))
        self.process = subprocess.Popen(
            ["bash", "-c", script],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            cwd=cwd,
            env=env,
            start_new_session=True,
        )
        os.close(slave)
        self._master = master
        self._chunks: list[bytes] = []
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while True:
            try:
                ready, _, _ = select.select([self._master], [], [], 0.2)
                if not ready:
                    if self.process.poll() is not None and not self._more_within(0.3):
                        break
                    continue
                data = os.read(self._master, 65536)
            except OSError as exc:
                if exc.errno in (errno.EIO, errno.EBADF):
                    break
                raise
            if not data:
                break
            with self._lock:
                self._chunks.append(data)
        with contextlib.suppress(OSError):
            os.close(self._master)

    def _more_within(self, seconds: float) -> bool:
        ready, _, _ = select.select([self._master], [], [], seconds)
        return bool(ready)

    def text(self) -> str:
        with self._lock:
            raw = b"".join(self._chunks)
        text = _ANSI.sub("", raw.decode("utf-8", "replace"))
        return re.sub(r"\r+\n|\r", "\n", text)

    def wait(self, timeout: float) -> int:
        try:
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.stop()
            raise
        self._reader.join(timeout=5)
        return code

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, sig)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self._reader.join(timeout=5)


@dataclass
class Outcome:
    """What a file's examples did: failures, and the blocks that did not run."""

    ran: int = 0
    commands: int = 0
    not_run: list[tuple[str, str]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


_LONG_RUNNING = re.compile(r"^(?:\w+=\S*\s+)*(?:timeout\s+\S+\s+)?worker-manager\s+(serve|agent)\b")


class Session:
    """One file's examples: a directory, its variables, and its background processes."""

    def __init__(
        self, directory: Path, port: int, venv_bin: Path, extra_env: dict[str, str]
    ) -> None:
        self.directory = directory
        self.port = port
        self.bindings = Bindings()
        self.background: list[tuple[str, Terminal]] = []
        self.state = directory / ".docs-test-state.sh"
        self.env = {
            "HOME": str(directory),
            "PATH": f"{venv_bin}:/usr/local/bin:/usr/bin:/bin",
            "LANG": "C.UTF-8",
            "LC_ALL": "C.UTF-8",
            "TERM": "dumb",
            "COLUMNS": str(COLUMNS),
            "LINES": str(ROWS),
            "WM_PORT": str(port),
            "WM_NODE": f"http://127.0.0.1:{port}",
            "PYTHONUNBUFFERED": "1",
            **extra_env,
        }
        self.state.write_text(f"cd {directory}\n")
        for name, data in FIXTURES.items():
            (directory / name).write_bytes(data)

    # commands and output, as the docs show them and as they run
    def to_real(self, command: str) -> str:
        command = command.replace(f"127.0.0.1:{DOCS_PORT}", f"127.0.0.1:{self.port}")
        return self.bindings.apply(command)

    def to_docs(self, output: str) -> list[str]:
        output = output.replace(f"127.0.0.1:{self.port}", f"127.0.0.1:{DOCS_PORT}")
        output = output.replace(str(self.directory), DOCS_HOME)
        return output.split("\n")

    def _script(self, command: str) -> str:
        return (
            f"source {self.state} 2>/dev/null\n"
            f"{command}\n"
            "__rc=$?\n"
            f"{{ export -p | grep -v -E '^declare -[a-z]*x (PWD|OLDPWD|SHLVL|_)='; "
            f'echo "cd $(printf %q "$PWD")"; }} > {self.state}.new '
            f"&& mv {self.state}.new {self.state}\n"
            "exit $__rc\n"
        )

    def run(self, command: Command) -> str | None:
        """Run one command; a failure's description, or None."""
        real = self.to_real(command.text)
        long_running = _LONG_RUNNING.match(real.strip())
        if real.rstrip().endswith("&") or long_running:
            return self._start(command, real.rstrip().rstrip("&"), long_running)
        terminal = Terminal(self._script(real), self.directory, self.env)
        try:
            code = terminal.wait(COMMAND_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            return self._describe(
                command, terminal.text(), f"still running after {COMMAND_TIMEOUT_S}s"
            )
        return self._check(command, terminal.text(), code, prefix=False)

    def _check(self, command: Command, output: str, code: int, *, prefix: bool) -> str | None:
        if not _trim(command.expected):
            if code != 0:
                return self._describe(command, output, f"exited {code} (it shows no output)")
            return None
        found = match_lines(command.expected, self.to_docs(output), self.bindings, prefix=prefix)
        if found is None:
            return self._describe(command, output, f"printed something else (exit {code})")
        self.bindings = found
        return None

    def _start(self, command: Command, real: str, kind: re.Match[str] | None) -> str | None:
        if kind is not None and kind.group(1) == "serve":
            for name, earlier in list(self.background):
                if name == "serve":
                    earlier.stop(signal.SIGINT)
                    self.background.remove((name, earlier))
        terminal = Terminal(
            f"source {self.state} 2>/dev/null\nexec {real}\n", self.directory, self.env
        )
        self.background.append((kind.group(1) if kind else "other", terminal))
        deadline = time.monotonic() + START_TIMEOUT_S
        expected = _trim(command.expected)
        while time.monotonic() < deadline:
            exited = terminal.process.poll()
            if exited is not None:
                terminal.wait(5)
                return self._check(command, terminal.text(), exited, prefix=False)
            if expected:
                found = match_lines(
                    expected, self.to_docs(terminal.text()), self.bindings, prefix=True
                )
                if found is not None:
                    self.bindings = found
                    return None
            elif kind is None or kind.group(1) != "serve" or self._healthy():
                return None
            time.sleep(0.1)
        return self._describe(command, terminal.text(), f"did not show this in {START_TIMEOUT_S}s")

    def _healthy(self) -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    def _describe(self, command: Command, output: str, what: str) -> str:
        shown = "\n".join(f"    {line}" for line in command.expected)
        got = "\n".join(f"    {line}" for line in self.to_docs(output))
        return (
            f"line {command.line}: $ {command.text}\n  {what}.\n  The docs show:\n{shown}\n"
            f"  It printed:\n{got}"
        )

    def setup(self, script: str) -> str | None:
        real = self.to_real(script)
        if _LONG_RUNNING.match(real.strip()) or real.rstrip().endswith("&"):
            return self.run(Command(0, script, []))
        terminal = Terminal(self._script(real), self.directory, self.env)
        code = terminal.wait(COMMAND_TIMEOUT_S)
        if code != 0:
            return f"setup `{script}` exited {code}:\n{terminal.text()}"
        return None

    def close(self) -> None:
        for _, terminal in reversed(self.background):
            terminal.stop()
        self.background.clear()


def run_file(
    path: Path,
    directory: Path,
    port: int,
    venv_bin: Path,
    extra_env: dict[str, str] | None = None,
) -> Outcome:
    """Run every block of ``path`` in order in ``directory``; stop at a block's first
    failure (later commands of the file depend on it). ``extra_env``: more variables
    for its commands (the setup comments may use them)."""
    outcome = Outcome()
    session = Session(directory, port, venv_bin, extra_env or {})
    try:
        for block in parse(path):
            if block.not_run is not None:
                outcome.not_run.append((block.where, block.not_run))
                continue
            if not block.commands:
                outcome.failures.append(f"{block.where}: a console block with no `$ ` command")
                continue
            outcome.ran += 1
            for script in block.setup:
                failure = session.setup(script)
                if failure:
                    outcome.failures.append(f"{block.where}: {failure}")
                    return outcome
            for command in block.commands:
                outcome.commands += 1
                failure = session.run(command)
                if failure:
                    outcome.failures.append(f"{path.relative_to(ROOT)} {failure}")
                    return outcome
    finally:
        session.close()
    return outcome
