"""Imports flow inwards: the contract core (and keys) never reach for I/O, clocks or the edges."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "worker_manager"

FORBIDDEN_IN_CORE = {
    "worker_manager.node",
    "worker_manager.store",
    "worker_manager.api",
    "worker_manager.lcd",
    "worker_manager.cli",
    "worker_manager.client",
    "worker_manager.agent",
    "worker_manager.settings",
    "worker_manager.home",
    "fastapi",
    "starlette",
    "uvicorn",
    "sqlalchemy",
    "alembic",
    "httpx",
    "typer",
    "time",
    "datetime",
    "random",
    "secrets",
    "os",
    "socket",
    "subprocess",
    "threading",
    "asyncio",
}


def imports_of(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def forbidden(name: str) -> bool:
    return any(name == f or name.startswith(f + ".") for f in FORBIDDEN_IN_CORE)


CORE_FILES = sorted((PACKAGE / "contract").glob("*.py")) + [
    PACKAGE / "keys" / name for name in ("address.py", "secp256k1.py")
]


@pytest.mark.parametrize("path", CORE_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_the_core_imports_nothing_impure(path: Path) -> None:
    bad = sorted(n for n in imports_of(path) if forbidden(n))
    assert not bad, f"{path.name} imports {bad}"


def test_no_module_but_settings_reads_the_environment() -> None:
    offenders = [
        str(p.relative_to(PACKAGE))
        for p in PACKAGE.rglob("*.py")
        if p.name != "settings.py" and ("os.environ" in p.read_text() or "getenv" in p.read_text())
    ]
    assert offenders == []
