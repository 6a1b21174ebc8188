"""The deployment files, read as Docker, Compose, systemd and the CLI read them.

No Docker daemon is needed: the Dockerfile's instructions, ``.dockerignore``'s patterns,
``compose.yaml`` and the systemd units are parsed here, and the tests hold them to the
command line they run (its commands and options come from the Typer app itself).
"""

import configparser
import fnmatch
import json
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import typer
import yaml

from worker_manager.cli.main import app

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
COMPOSE = ROOT / "compose.yaml"
ENTRYPOINT = ROOT / "deploy/docker/entrypoint.sh"
SYSTEMD = ROOT / "deploy/systemd"


# --- the command line -----------------------------------------------------------------


def cli_command(*path: str) -> Any:
    """The (click) command ``worker-manager PATH...``; AssertionError if there is none."""
    command: Any = typer.main.get_command(app)
    for name in path:
        assert hasattr(command, "get_command"), f"{command.name} has no subcommands"
        found = command.get_command(typer.Context(command), name)
        assert found is not None, f"worker-manager has no command {' '.join(path)}"
        command = found
    return command


def check_cli_args(args: list[str]) -> None:
    """``args`` (after ``worker-manager``) name a real command, and every option it
    passes is one of that command's options."""
    assert args, "no command"
    command = cli_command(args[0])
    options = {opt for param in command.params for opt in param.opts}
    for arg in args[1:]:
        if arg.startswith("-"):
            name = arg.split("=", 1)[0]
            assert name in options, f"worker-manager {args[0]} has no option {name}"


# --- Dockerfile -----------------------------------------------------------------------


@dataclass
class Instruction:
    keyword: str
    args: str

    def exec_form(self) -> list[str]:
        """The JSON (exec) form's argv; AssertionError for the shell form."""
        value = json.loads(self.args)
        assert isinstance(value, list), f"{self.keyword} is not in exec form: {self.args}"
        return [str(v) for v in value]


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[Instruction]:
        return [i for i in self.instructions if i.keyword == keyword]

    def one(self, keyword: str) -> Instruction:
        found = self.all(keyword)
        assert len(found) == 1, f"expected one {keyword} in the stage, found {len(found)}"
        return found[0]


def dockerfile_instructions(text: str) -> list[Instruction]:
    """The instructions of a Dockerfile: comments dropped, ``\\`` continuations joined."""
    instructions: list[Instruction] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if pending and line.startswith("#"):
            continue  # a comment inside a continued instruction
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        whole = (pending + line).strip()
        pending = ""
        if whole:
            keyword, _, args = whole.partition(" ")
            instructions.append(Instruction(keyword.upper(), " ".join(args.split())))
    assert not pending, "the Dockerfile ends inside a continued instruction"
    return instructions


@dataclass
class Dockerfile:
    #: ARGs before the first FROM, and the final stage's ARG defaults
    args: dict[str, str]
    stages: list[Stage]

    @property
    def final(self) -> Stage:
        return self.stages[-1]

    def expand(self, text: str, stage: Stage | None = None) -> str:
        """``${NAME}`` and ``$NAME`` replaced by the ARG defaults (global, then the stage's)."""
        values = dict(self.args)
        for arg in (stage or self.final).all("ARG"):
            name, _, default = arg.args.partition("=")
            values[name] = default
        return re.sub(
            r"\$\{(\w+)\}|\$(\w+)", lambda m: values.get(m[1] or m[2], m[0]), text
        ).replace('"', "")

    def env(self, stage: Stage | None = None) -> dict[str, str]:
        """The ENV of a stage (``KEY=VALUE`` pairs, quotes removed)."""
        found: dict[str, str] = {}
        for instruction in (stage or self.final).all("ENV"):
            for pair in shlex.split(instruction.args):
                key, _, value = pair.partition("=")
                found[key] = value
        return found


def dockerfile() -> Dockerfile:
    global_args: dict[str, str] = {}
    stages: list[Stage] = []
    for instruction in dockerfile_instructions(DOCKERFILE.read_text()):
        if instruction.keyword == "FROM":
            words = instruction.args.split()
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
            stages.append(Stage(words[0], name))
        elif not stages:
            assert instruction.keyword == "ARG", "only ARG may come before the first FROM"
            name, _, default = instruction.args.partition("=")
            global_args[name] = default
        else:
            stages[-1].instructions.append(instruction)
    return Dockerfile(global_args, stages)


def dockerignored(path: str) -> bool:
    """Whether ``.dockerignore`` keeps ``path`` (relative, with ``/``) out of the build
    context: the last pattern that matches it or one of its parent directories wins, and
    a ``!`` pattern lets it in (Docker's rules, for the patterns this file uses)."""
    patterns = [
        line.strip()
        for line in DOCKERIGNORE.read_text().splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]
    parts = path.split("/")
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    ignored = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        body = pattern.lstrip("!").rstrip("/")
        forms = [body]
        if body.startswith("**/"):
            forms.append(body[3:])
        for candidate in candidates:
            tails = ["/".join(candidate.split("/")[i:]) for i in range(candidate.count("/") + 1)]
            subjects = tails if body.startswith("**/") else [candidate]
            if any(
                fnmatch.fnmatchcase(subject, form) and subject.count("/") == form.count("/")
                for subject in subjects
                for form in forms
            ):
                ignored = not negated
                break
    return ignored


# --- compose.yaml ---------------------------------------------------------------------


def compose() -> dict[str, Any]:
    loaded = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(loaded, dict)
    return loaded


def interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's ``${NAME}``, ``${NAME:-default}`` and ``${NAME:?error}`` against ``env``."""

    def one(match: re.Match[str]) -> str:
        name, op, word = match[1], match[2], match[3] or ""
        if env.get(name):
            return env[name]
        if op == ":?":
            raise KeyError(f"{name}: {word}")
        return word if op == ":-" else ""

    return re.sub(r"\$\{(\w+)(?:(:[-?])([^}]*))?\}", one, value)


# --- systemd units --------------------------------------------------------------------


def unit(name: str) -> configparser.RawConfigParser:
    """A unit file as sections of keys (a key given twice is refused: these units do not
    rely on systemd's lists of repeated keys)."""
    parser = configparser.RawConfigParser(
        strict=True, interpolation=None, delimiters=("=",), comment_prefixes=("#", ";")
    )
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys keep their case
    parser.read_string((SYSTEMD / name).read_text(), source=name)
    return parser
