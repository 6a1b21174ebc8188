"""``worker-manager attestation``: offline verification and the home's collateral and RIMs."""

import json
from pathlib import Path

from typer.testing import CliRunner

from worker_manager.cli.main import app

DATA = Path(__file__).resolve().parents[1] / "data" / "attestation"
QUOTE_A = DATA / "dcap-qvl" / "tdx_quote"
COLLATERAL_A = DATA / "dcap-qvl" / "tdx_quote_collateral.json"
runner = CliRunner()


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_a_real_quote_verifies_at_its_time(tmp_path: Path) -> None:
    code, out, _ = invoke(
        "attestation",
        "verify",
        str(QUOTE_A),
        "--collateral",
        str(COLLATERAL_A),
        "--at",
        "1751328000",
        "--home",
        str(tmp_path / "h"),
        "--json",
    )
    assert code == 0
    verdict = json.loads(out)
    assert (verdict["status"], verdict["tcb_status"], verdict["fmspc"]) == (
        "valid",
        "UpToDate",
        "b0c06f000000",
    )
    assert not (tmp_path / "h").exists()  # an offline check writes nothing


def test_expired_collateral_and_a_flipped_byte_are_refused(tmp_path: Path) -> None:
    code, out, _ = invoke(
        "attestation",
        "verify",
        str(QUOTE_A),
        "--collateral",
        str(COLLATERAL_A),
        "--at",
        str(1751328000 + 90 * 86400),
        "--home",
        str(tmp_path),
        "--json",
    )
    assert code == 1
    assert json.loads(out)["status"] == "unverified"
    flipped = bytearray(QUOTE_A.read_bytes())
    flipped[184] ^= 1
    (tmp_path / "bad.bin").write_bytes(bytes(flipped))
    code, out, _ = invoke(
        "attestation",
        "verify",
        str(tmp_path / "bad.bin"),
        "--collateral",
        str(COLLATERAL_A),
        "--at",
        "1751328000",
        "--home",
        str(tmp_path),
        "--json",
    )
    assert code == 1
    assert "signature_invalid" in json.loads(out)["reasons"]


def test_collateral_and_rims_are_imported_into_the_home(tmp_path: Path) -> None:
    home = tmp_path / "h"
    code, _, err = invoke(
        "attestation", "collateral", "import", str(COLLATERAL_A), "--home", str(home)
    )
    assert code == 0
    assert "FMSPC b0c06f000000" in err
    # the imported bundle now serves offline verification with no --collateral
    code, out, _ = invoke(
        "attestation", "verify", str(QUOTE_A), "--at", "1751328000", "--home", str(home), "--json"
    )
    assert (code, json.loads(out)["status"]) == (0, "valid")
    code, _, err = invoke(
        "attestation",
        "rim",
        "import",
        str(DATA / "nvidia" / "NV_GPU_DRIVER_GH100_550.144.03.xml"),
        "--home",
        str(home),
    )
    assert code == 0
    assert "550.144.03" in err
    (tmp_path / "fake.xml").write_text("<not-a-rim/>")
    code, _, err = invoke(
        "attestation", "rim", "import", str(tmp_path / "fake.xml"), "--home", str(home)
    )
    assert code == 1
    assert not (home / "rims" / "fake.xml").exists()


def test_bad_input_is_a_usage_error(tmp_path: Path) -> None:
    code, _, err = invoke("attestation", "verify", str(tmp_path / "missing.hex"))
    assert code == 2
    assert "cannot read" in err
