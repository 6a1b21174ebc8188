"""The docs keep up with the code: commands, messages, error codes and settings."""

import dataclasses
import importlib.util
import re
from pathlib import Path

import pytest
import typer

from worker_manager.cli.main import app
from worker_manager.contract import error
from worker_manager.contract.msg import EXECUTE_MESSAGES, QUERY_MESSAGES
from worker_manager.contract.state import Config
from worker_manager.node.ante import ANTE_ERRORS

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


def _commands() -> list[tuple[str, object]]:
    found: list[tuple[str, object]] = []

    def walk(prefix: str, group: object) -> None:
        ctx = typer.Context(group)  # type: ignore[arg-type]
        for name in group.list_commands(ctx):  # type: ignore[attr-defined]
            command = group.get_command(ctx, name)  # type: ignore[attr-defined]
            if hasattr(command, "list_commands"):
                walk(f"{prefix} {name}", command)
            else:
                found.append((f"{prefix} {name}", command))

    walk("worker-manager", typer.main.get_command(app))
    return found


@pytest.mark.parametrize(("path", "command"), _commands(), ids=str)
def test_every_command_has_help_with_an_example(path: str, command: object) -> None:
    help_text = getattr(command, "help", "") or ""
    assert help_text.strip(), f"{path} has no help"
    assert "Example:" in help_text, f"{path} --help has no example"
    assert path in help_text, f"{path} --help's example does not run {path}"


def test_the_cli_reference_is_generated_from_the_help() -> None:
    spec = importlib.util.spec_from_file_location("gen_cli_docs", ROOT / "scripts/gen_cli_docs.py")
    assert spec
    assert spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert (DOCS / "cli.md").read_text() == module.render(), (
        "docs/cli.md is stale: run python scripts/gen_cli_docs.py"
    )


@pytest.mark.parametrize("name", sorted({*EXECUTE_MESSAGES, *QUERY_MESSAGES}))
def test_every_message_has_a_section(name: str) -> None:
    assert f"### `{name}`" in (DOCS / "messages.md").read_text()


def _error_codes() -> list[str]:
    codes = set()
    for value in vars(error).values():
        if isinstance(value, type) and issubclass(value, error.ContractError):
            codes.add(value.code)
    codes.discard(error.ContractError.code)
    return sorted(codes)


@pytest.mark.parametrize("code", _error_codes())
def test_every_error_code_is_documented(code: str) -> None:
    assert re.search(rf"\| `{code}` \|", (DOCS / "errors.md").read_text())


@pytest.mark.parametrize(
    "setting",
    [
        f.name
        for f in dataclasses.fields(Config)
        if f.name not in ("admin", "pending_admin", "paused")
    ],
)
def test_every_contract_setting_is_documented(setting: str) -> None:
    assert f"`{setting}`" in (DOCS / "configuration.md").read_text()


@pytest.mark.parametrize("error", ANTE_ERRORS)
def test_every_tx_refusal_is_documented(error: str) -> None:
    assert re.search(rf"\| `{error}` \|", (DOCS / "errors.md").read_text())
    assert re.search(rf"\| `{error}` \|", (DOCS / "transactions.md").read_text())
