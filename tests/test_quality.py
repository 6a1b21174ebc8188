"""ruff, mypy and the import contracts are part of the test suite, so the README's one
test command runs them."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    """``python -m ARGS``, or the console script ``ARGS[0]`` installed beside python."""
    script = Path(sys.executable).with_name(args[0])
    command = [str(script), *args[1:]] if script.exists() else [sys.executable, "-m", *args]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)


PATHS = tuple(p for p in ("src", "tests", "bench", "scripts") if (ROOT / p).is_dir())


@pytest.mark.parametrize(
    "command",
    [
        ("ruff", "check", *PATHS),
        ("ruff", "format", "--check", *PATHS),
        ("mypy",),
        ("lint-imports", "--no-cache"),
    ],
    ids=["ruff-check", "ruff-format", "mypy-strict", "import-contracts"],
)
def test_the_code_is_clean(command: tuple[str, ...]) -> None:
    result = run(*command)
    assert result.returncode == 0, f"{' '.join(command)} failed:\n{result.stdout}{result.stderr}"
