"""Every ``console`` example of README.md and docs/*.md runs as written and prints what
it shows: real ``worker-manager`` processes in a terminal, real files, a real node on
127.0.0.1. The rules (which blocks run, placeholders, long-running commands) are in
:mod:`tests.docs_examples` and in README.md's "Examples are tested" note."""

import sys
import tempfile
from pathlib import Path

import pytest

from tests.docs_examples import ROOT, parse, run_file
from tests.e2e.conftest import free_port

pytestmark = pytest.mark.slow

FILES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FILES = [path for path in FILES if any(True for _ in parse(path))]

#: The blocks that do not run, by file and the start of their reason. Adding one means
#: adding it here too: the list is meant to stay short.
NOT_RUN = [
    ("README.md", "installs the package"),
    ("README.md", "runs the whole test suite"),
    ("README.md", "needs a PostgreSQL server"),
    ("docs/attestation.md", "fetches from Intel's PCCS"),
    ("docs/liveliness.md", "needs a day of work reports"),
    ("docs/operations.md", "needs a PostgreSQL server"),
    ("docs/operations.md", "needs a PostgreSQL server"),
    ("docs/reliability.md", "runs the crash test"),
    ("docs/scaling.md", "needs a PostgreSQL server"),
    ("docs/tutorial.md", "installs secret-ai-sdk from PyPI"),
]


def _name(path: Path) -> str:
    return str(path.relative_to(ROOT))


def _extra_env(path: Path) -> dict[str, str]:
    """docs/tutorial.md asks secret-ai-sdk: the suite's cached virtualenv of it."""
    if "WM_DOCS_SDK_VENV" not in path.read_text():
        return {}
    from tests.secret_clients import client_venv

    return {"WM_DOCS_SDK_VENV": str(client_venv())}


@pytest.mark.parametrize("path", FILES, ids=_name)
def test_the_examples_run_as_written(path: Path) -> None:
    # a short directory: paths the examples print fit their tables as in the docs
    with tempfile.TemporaryDirectory(prefix="wm-docs-") as scratch:
        directory = Path(scratch) / "you"
        directory.mkdir()
        outcome = run_file(
            path, directory, free_port(), Path(sys.executable).parent, _extra_env(path)
        )
    assert not outcome.failures, "\n\n".join(outcome.failures)


def _not_run() -> list[tuple[str, str]]:
    return [
        (_name(block.path), block.not_run)
        for path in FILES
        for block in parse(path)
        if block.not_run is not None
    ]


@pytest.mark.parametrize(("where", "reason"), _not_run(), ids=lambda value: value)
def test_a_block_that_does_not_run_says_why(where: str, reason: str) -> None:
    """Each block left out is named with its reason in the test id (not skipped: CI must
    show no skips); :func:`test_only_the_listed_blocks_do_not_run` keeps the list short."""
    assert reason.strip(), f"{where}: <!-- not-run: --> needs a reason"


def test_only_the_listed_blocks_do_not_run() -> None:
    found = sorted(
        (
            where,
            next(
                (start for w, start in NOT_RUN if w == where and reason.startswith(start)), reason
            ),
        )
        for where, reason in _not_run()
    )
    assert found == sorted(NOT_RUN), "the not-run blocks changed: update NOT_RUN (keep it short)"
