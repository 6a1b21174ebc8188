"""Write docs/cli.md from the real command tree, so the reference never drifts from --help.

Run: python scripts/gen_cli_docs.py   (tests/test_docs.py fails when the file is stale)
"""

import sys
from pathlib import Path
from typing import Any

import typer

from worker_manager.cli.main import app

OUT = Path(__file__).resolve().parents[1] / "docs" / "cli.md"


def _clean(text: str) -> str:
    return text.replace("[bold]", "").replace("[/bold]", "").strip()


def _command_doc(path: str, command: Any) -> list[str]:
    lines = [f"## `{path}`", ""]
    help_text = _clean(command.help or "")
    summary, _, rest = help_text.partition("\n\n")
    lines += [summary, ""]
    if rest:
        for block in rest.split("\n\n"):
            if block.strip().startswith("worker-manager") or block.startswith("  "):
                lines += ["```", *(b.removeprefix("  ") for b in block.splitlines()), "```", ""]
            else:
                lines += [block, ""]
    options = [p for p in command.params if getattr(p, "param_type_name", "") == "option"]
    if options:
        lines += ["| option | meaning | default |", "|---|---|---|"]
        for option in options:
            names = ", ".join(f"`{n}`" for n in option.opts)
            default = option.default
            shown = "" if default in (None, False, "") or option.required else f"`{default}`"
            if option.required:
                shown = "required"
            lines.append(f"| {names} | {(option.help or '').strip()} | {shown} |")
        lines.append("")
    return lines


def _is_group(command: Any) -> bool:
    return hasattr(command, "list_commands")


def _walk(prefix: str, group: Any) -> list[str]:
    lines: list[str] = []
    ctx = typer.Context(group)
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        if command is None:
            continue
        path = f"{prefix} {name}"
        if _is_group(command):
            lines += _command_doc(path, command) if command.help else []
            lines += _walk(path, command)
        else:
            lines += _command_doc(path, command)
    return lines


def render() -> str:
    root = typer.main.get_command(app)
    assert _is_group(root)
    lines = [
        "# Command line reference",
        "",
        "Generated from the commands' own help by `scripts/gen_cli_docs.py`; "
        "`worker-manager COMMAND --help` shows the same.",
        "",
        "Exit codes: 0 success, 1 refused by the contract or the node (the message says why), "
        "2 bad usage, 3 the node cannot start (`serve`: its port is taken, or another node "
        "serves its home). Mistakes end in a message that says what is wrong, never in a "
        "Python traceback.",
        "",
        *_walk("worker-manager", root),
    ]
    return "\n".join(lines).rstrip() + "\n"


if __name__ == "__main__":
    OUT.write_text(render(), encoding="utf-8")
    sys.stdout.write(f"wrote {OUT}\n")
