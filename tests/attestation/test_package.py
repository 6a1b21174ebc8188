"""The package surface and its promises: curated exports, no clock, no network in verification."""

import ast
import re
import subprocess
import sys
from pathlib import Path

from worker_manager import attestation
from worker_manager.attestation import Reason
from worker_manager.attestation.errors import UNVERIFIED_REASONS, is_unverified

PACKAGE = Path(attestation.__file__).parent
CLOCK_CALLS = re.compile(r"\.now\(|\.today\(|utcnow\(|time\.time\(|monotonic\(")
IMPURE_MODULES = {
    "time", "random", "secrets", "os", "tempfile", "socket", "subprocess", "threading",
    "asyncio", "urllib", "http", "httpx", "requests",
}  # fmt: skip
NODE_SIDE = {"pccs.py", "collateral_dir.py"}  # network and disk; never used while verifying


def imports_of(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_all_is_sorted_and_every_name_is_documented() -> None:
    assert attestation.__all__ == sorted(attestation.__all__)
    for name in attestation.__all__:
        obj = getattr(attestation, name)
        assert obj.__doc__, name


def test_no_module_reads_the_clock() -> None:
    offenders = [p.name for p in PACKAGE.rglob("*.py") if CLOCK_CALLS.search(p.read_text())]
    assert offenders == []


def test_verification_modules_import_nothing_impure() -> None:
    offenders = {
        str(path.relative_to(PACKAGE)): sorted(imports_of(path) & IMPURE_MODULES)
        for path in PACKAGE.rglob("*.py")
        if path.name not in NODE_SIDE
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_importing_the_package_does_not_import_the_pccs_client() -> None:
    code = (
        "import sys, worker_manager.attestation, worker_manager.attestation.verify;"
        "print('worker_manager.attestation.pccs' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


def test_modules_stay_small() -> None:
    sizes = {p.name: len(p.read_text().splitlines()) for p in PACKAGE.rglob("*.py")}
    assert max(sizes.values()) <= 400, sizes


def test_every_reason_has_a_row_in_the_documented_table() -> None:
    from worker_manager.attestation import errors

    table = errors.__doc__ or ""
    for reason in Reason:
        assert re.search(rf"^{reason.value}\s+(rejected|unverified)\s", table, re.MULTILINE), reason
        documented = re.search(rf"^{reason.value}\s+(\w+)", table, re.MULTILINE)
        assert documented is not None
        assert (documented.group(1) == "unverified") == is_unverified(reason), reason
    assert len(UNVERIFIED_REASONS) == 9


def test_pinned_roots_ship_with_the_package() -> None:
    roots = PACKAGE / "nvidia" / "roots"
    assert sorted(p.name for p in roots.iterdir()) == [
        "PROVENANCE.md",
        "nvidia_corim_signing_root_ca.pem",
        "nvidia_device_identity_ca.pem",
    ]
