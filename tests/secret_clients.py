"""Run the real ``secret-sdk`` / ``secret-ai-sdk`` clients from tests.

Those clients pin ``protobuf<4`` (through ``betterproto`` 2.0.0b5), so they cannot
share our virtualenv. This helper builds a separate one, once, and runs Python
snippets in it as subprocesses:

    from secret_clients import run_client

    answer = run_client(
        '''
        from secret_sdk.key.mnemonic import MnemonicKey
        emit({"address": MnemonicKey(INPUT["mnemonic"]).acc_address})
        ''',
        input={"mnemonic": "..."},
    )

The snippet sees ``INPUT`` (the JSON value passed as ``input``) and ``emit(value)``,
which hands one JSON value back. Anything else it prints is ignored, so chatty
libraries do no harm.

:func:`cached_venv` and :func:`run_python` do the same for any other requirement
list (``tests/tx/test_tx_proto_runtimes.py`` uses them for old protobuf runtimes).

Virtualenvs are cached under ``${WM_TEST_CACHE:-~/.cache/worker-manager-tests}``,
keyed by a hash of the requirement list and of this interpreter's version. A file
lock makes parallel test runs (``pytest -n``, two terminals) build each once; a
failed install leaves nothing behind and raises :class:`ClientVenvError` carrying
pip's output. Delete the cache directory to force a rebuild.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import venv
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

#: What the clients need; ``setuptools<81`` because betterproto imports ``pkg_resources``.
REQUIREMENTS: tuple[str, ...] = (
    "secret-sdk==1.8.3",
    "secret-ai-sdk==0.1.7",
    "setuptools<81",
)

_MARKER = "@@WM-CLIENT-RESULT@@"
_PIP_TIMEOUT_S = 900
_DONE_FILE = ".complete"

_PRELUDE = f"""\
import json as _wm_json
import sys as _wm_sys

INPUT = _wm_json.loads(_wm_sys.stdin.read() or "null")


def emit(value):
    _wm_sys.stdout.write("\\n{_MARKER}" + _wm_json.dumps(value) + "\\n")
    _wm_sys.stdout.flush()

"""


class ClientVenvError(RuntimeError):
    """The client virtualenv could not be built; the message holds pip's output."""


class ClientScriptError(RuntimeError):
    """A snippet run in the client virtualenv failed; the message holds its output."""

    def __init__(self, message: str, *, returncode: int, stdout: str, stderr: str) -> None:
        super().__init__(message)
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr


def cache_dir() -> Path:
    """``$WM_TEST_CACHE``, else ``~/.cache/worker-manager-tests``."""
    configured = os.environ.get("WM_TEST_CACHE")
    if configured:
        return Path(configured).expanduser()
    return Path.home() / ".cache" / "worker-manager-tests"


def _venv_key(requirements: tuple[str, ...]) -> str:
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    text = "\n".join([f"python{version}", *sorted(requirements)])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _python_in(env_dir: Path) -> Path:
    if os.name == "nt":  # pragma: no cover - the suite runs on POSIX
        return env_dir / "Scripts" / "python.exe"
    return env_dir / "bin" / "python"


@contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _run_pip(python: Path, args: list[str], label: str) -> None:
    command = [str(python), "-m", "pip", "--disable-pip-version-check", "--no-input", *args]
    try:
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=_PIP_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise ClientVenvError(
            f"pip did not finish within {_PIP_TIMEOUT_S} s: {' '.join(command)}\n"
            f"--- output so far ---\n{exc.stdout or ''}\n{exc.stderr or ''}"
        ) from exc
    if done.returncode != 0:
        raise ClientVenvError(
            f"pip failed (exit {done.returncode}) building the {label} test virtualenv:\n"
            f"  {' '.join(command)}\n"
            f"--- pip stdout ---\n{done.stdout}\n--- pip stderr ---\n{done.stderr}"
        )


def cached_venv(
    requirements: tuple[str, ...],
    *,
    label: str,
    import_check: str | None = None,
) -> Path:
    """A cached virtualenv holding ``requirements``, built first if need be.

    ``label`` names the directory; ``import_check`` is Python code run once after
    installing, to fail early (and clearly) if the install is unusable.
    """
    root = cache_dir()
    env_dir = root / f"{label}-{_venv_key(requirements)}"
    if (env_dir / _DONE_FILE).is_file():
        return env_dir
    with _file_lock(root / f"{env_dir.name}.lock"):
        if (env_dir / _DONE_FILE).is_file():  # another process built it meanwhile
            return env_dir
        if env_dir.exists():  # a half-built leftover from a killed run
            shutil.rmtree(env_dir)
        staging = Path(tempfile.mkdtemp(prefix=f"{env_dir.name}.building-", dir=root))
        try:
            venv.EnvBuilder(with_pip=True, clear=True).create(staging)
            python = _python_in(staging)
            _run_pip(python, ["install", "--upgrade", "pip"], label)
            _run_pip(python, ["install", *requirements], label)
            # Scripts in bin/ keep the staging path in their shebang lines; we only
            # ever run ``python -m ...`` and ``python file``, which do not care.
            staging.rename(env_dir)
            staging = env_dir
            if import_check:
                check = subprocess.run(
                    [str(_python_in(env_dir)), "-c", import_check],
                    capture_output=True,
                    text=True,
                    timeout=120,
                    check=False,
                )
                if check.returncode != 0:
                    raise ClientVenvError(
                        f"the {label} test virtualenv was installed ({', '.join(requirements)}) "
                        f"but its import check failed:\n{check.stdout}\n{check.stderr}"
                    )
            (env_dir / _DONE_FILE).write_text("\n".join(requirements) + "\n")
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    return env_dir


def client_venv() -> Path:
    """The directory of the secret-sdk / secret-ai-sdk virtualenv (built on first use)."""
    return cached_venv(
        REQUIREMENTS,
        label="secret-clients",
        import_check="import secret_sdk.client.lcd, secret_ai_sdk.secret",
    )


def client_python() -> Path:
    """The interpreter of the client virtualenv (built on first use)."""
    return _python_in(client_venv())


def run_python(
    python: Path,
    code: str,
    *,
    input: Any = None,
    timeout: float = 120,
    env: Mapping[str, str] | None = None,
) -> Any:
    """Run ``code`` with interpreter ``python`` and return the value it ``emit``-ted.

    ``input`` is sent as JSON and seen by the snippet as ``INPUT``. ``env`` entries
    are added to this process's environment (``PYTHONPATH`` is cleared unless
    given). Raises :class:`ClientScriptError` if the snippet fails or emits nothing.
    """
    script = _PRELUDE + textwrap.dedent(code)
    child_env = dict(os.environ)
    child_env.pop("PYTHONPATH", None)
    child_env.update(env or {})
    with tempfile.TemporaryDirectory(prefix="wm-client-") as tmp:
        path = Path(tmp) / "snippet.py"
        path.write_text(script)
        done = subprocess.run(
            [str(python), str(path)],
            input=json.dumps(input),
            capture_output=True,
            text=True,
            timeout=timeout,
            env=child_env,
            cwd=tmp,
            check=False,
        )
    if done.returncode != 0:
        raise ClientScriptError(
            f"snippet failed (exit {done.returncode}) in {python}:\n--- stderr ---\n"
            f"{done.stderr}\n--- stdout ---\n{done.stdout}",
            returncode=done.returncode,
            stdout=done.stdout,
            stderr=done.stderr,
        )
    results = [line for line in done.stdout.splitlines() if line.startswith(_MARKER)]
    if not results:
        raise ClientScriptError(
            f"snippet emitted nothing in {python}:\n--- stdout ---\n{done.stdout}"
            f"\n--- stderr ---\n{done.stderr}",
            returncode=done.returncode,
            stdout=done.stdout,
            stderr=done.stderr,
        )
    return json.loads(results[-1][len(_MARKER) :])


def run_client(
    code: str,
    *,
    input: Any = None,
    timeout: float = 120,
    env: Mapping[str, str] | None = None,
) -> Any:
    """Run ``code`` in the secret-sdk virtualenv; see :func:`run_python`."""
    return run_python(client_python(), code, input=input, timeout=timeout, env=env)
