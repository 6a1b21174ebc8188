"""``keys import``/``keys export`` (secretcli's armored keys) and ``--keyring-backend``
through the real command line (in-process Typer runner), with real keys and files and
a real ``keyring`` backend (keyrings.alt's file backend) for the OS keyring."""

import json
import stat
from pathlib import Path

import pytest
from keyrings.alt.file import PlaintextKeyring
from typer.testing import CliRunner, Result

from tests.keys.os_keyring_backend import (
    entries,
    keyring_not_installed,
    no_os_keyring,
    os_keyring,
)
from tests.keys.test_armor import (
    COSMOS_ADDRESS,
    COSMOS_ARMOR,
    COSMOS_KEY,
    COSMOS_PASSPHRASE,
    COSMOS_WRONG_PASSPHRASE,
)
from worker_manager.cli.common import load_key
from worker_manager.cli.main import app
from worker_manager.keys.armor import export_private_key, import_private_key
from worker_manager.keys.keyring import Keyring
from worker_manager.keys.mnemonic import key_from_mnemonic

__all__ = ["keyring_not_installed", "no_os_keyring", "os_keyring"]  # fixtures used below

runner = CliRunner()
KEYRING_PASS = "keyring passphrase"
EXPORT_PASS = "export passphrase"
MNEMONIC = (
    "arrest rain grunt tuna super test scan limit motion indicate weather script duty "
    "praise federal demand suffer grape learn arctic evil maple pumpkin pink"
)
ADDRESS = "secret1snf0y77qz9hgh69fefffjdv5tedfd6rmewzzsz"


def keys(*args: str, armor: str | None = None, input: str | None = None, **env: str) -> Result:
    """``worker-manager keys ARGS`` with the keyring passphrase set and, if given, the
    armor passphrase (``armor``); no other WM_ setting leaks in from outside."""
    environment: dict[str, str | None] = {
        "WM_KEYRING_PASSPHRASE": KEYRING_PASS,
        "WM_ARMOR_PASSPHRASE": armor,
        "WM_KEYRING_BACKEND": None,
        "WM_HOME": None,
        **env,
    }
    return runner.invoke(app, ["keys", *args], env=environment, input=input)


def vector_file(tmp_path: Path) -> Path:
    path = tmp_path / "admin.armor"
    path.write_text(COSMOS_ARMOR)
    return path


def listed(home: Path) -> list[dict[str, object]]:
    result = keys("list", "--home", str(home), "-o", "json")
    assert result.exit_code == 0, result.stderr
    data: list[dict[str, object]] = json.loads(result.stdout)
    return data


def assert_one_error(result: Result, code: int, says: str) -> None:
    assert result.exit_code == code, (result.stdout, result.stderr)
    assert result.stderr.startswith("error: ")
    assert says in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


# --- import -----------------------------------------------------------------------------


def test_import_of_cosmos_sdk_s_armored_key(tmp_path: Path) -> None:
    home = tmp_path / "home"
    result = keys(
        "import", "admin", str(vector_file(tmp_path)), "--home", str(home), armor=COSMOS_PASSPHRASE
    )
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == f"admin  {COSMOS_ADDRESS}"
    assert listed(home) == [
        {
            "name": "admin",
            "address": COSMOS_ADDRESS,
            "public_key": Keyring(home / "keyring").show("admin").public_key.hex(),
            "has_mnemonic": False,
            "backend": "file",
        }
    ]
    key = Keyring(home / "keyring").get("admin", passphrase=KEYRING_PASS)
    assert key.secret.hex() == COSMOS_KEY


def test_import_reads_standard_input_and_a_passphrase_file(tmp_path: Path) -> None:
    home = tmp_path / "home"
    secret = tmp_path / "armor-passphrase"
    secret.write_text(COSMOS_PASSPHRASE + "\n")
    result = keys(
        "import",
        *("admin", "-", "--home", str(home), "--passphrase-file", str(secret), "-o", "json"),
        input=COSMOS_ARMOR,
    )
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["address"] == COSMOS_ADDRESS


def test_import_with_the_wrong_passphrase_writes_nothing(tmp_path: Path) -> None:
    home = tmp_path / "home"
    result = keys(
        "import",
        *("admin", str(vector_file(tmp_path)), "--home", str(home)),
        armor=COSMOS_WRONG_PASSPHRASE,
    )
    assert_one_error(result, 1, "wrong passphrase for the armored key")
    assert not home.exists()


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("hello\n", "no '-----BEGIN"),
        (COSMOS_ARMOR.replace("HbP+", "HbQ+"), "checksum mismatch"),
        (COSMOS_ARMOR.replace("HbP+", "Hb*+"), "not base64"),
        (COSMOS_ARMOR.split("=f3l4", maxsplit=1)[0], "no '-----END"),
    ],
    ids=["not-armor", "crc-mismatch", "bad-base64", "truncated"],
)
def test_import_of_a_damaged_file_is_refused_before_any_passphrase(
    tmp_path: Path, text: str, says: str
) -> None:
    path = tmp_path / "bad.armor"
    path.write_text(text)
    home = tmp_path / "home"
    # no armor passphrase anywhere and no terminal: a prompt would fail differently
    result = keys("import", "admin", str(path), "--home", str(home))
    assert_one_error(result, 2, says)
    assert not home.exists()


@pytest.mark.parametrize(
    ("change", "says"),
    [
        (("kdf: bcrypt", "kdf: argon2"), "unsupported kdf 'argon2'"),
        (("kdf: bcrypt", "kdf: bcrypt\ntype: ed25519"), "unsupported key type 'ed25519'"),
        (("TENDERMINT PRIVATE KEY", "TENDERMINT PUBLIC KEY"), "TENDERMINT PUBLIC KEY block"),
    ],
    ids=["kdf", "type", "block"],
)
def test_import_of_a_foreign_armor_is_refused(
    tmp_path: Path, change: tuple[str, str], says: str
) -> None:
    path = tmp_path / "foreign.armor"
    path.write_text(COSMOS_ARMOR.replace(*change))
    result = keys(
        "import", "admin", str(path), "--home", str(tmp_path / "h"), armor=COSMOS_PASSPHRASE
    )
    assert_one_error(result, 2, says)


def test_import_over_an_existing_key_is_refused(tmp_path: Path) -> None:
    home = tmp_path / "home"
    recovered = keys("recover", "admin", "--home", str(home), input=MNEMONIC + "\n")
    assert recovered.exit_code == 0, recovered.stderr
    before = (home / "keyring" / "admin.json").read_text()
    result = keys(
        "import", "admin", str(vector_file(tmp_path)), "--home", str(home), armor=COSMOS_PASSPHRASE
    )
    assert_one_error(result, 1, "a key named 'admin' already exists; delete it first")
    assert (home / "keyring" / "admin.json").read_text() == before
    # as keys add: delete it first, then the import goes through
    assert keys("delete", "admin", "--yes", "--home", str(home)).exit_code == 0
    again = keys(
        "import", "admin", str(vector_file(tmp_path)), "--home", str(home), armor=COSMOS_PASSPHRASE
    )
    assert again.exit_code == 0, again.stderr


def test_import_refusals_of_usage(tmp_path: Path) -> None:
    home = str(tmp_path / "home")
    missing = keys("import", "admin", str(tmp_path / "nope"), "--home", home, armor="x" * 8)
    assert_one_error(missing, 2, "cannot read")
    bad_name = keys("import", "../x", str(vector_file(tmp_path)), "--home", home)
    assert_one_error(bad_name, 2, "invalid key name")
    stdin_no_passphrase = keys("import", "admin", "-", "--home", home, input=COSMOS_ARMOR)
    assert_one_error(stdin_no_passphrase, 2, "came on standard input")
    no_passphrase = keys("import", "admin", str(vector_file(tmp_path)), "--home", home)
    assert_one_error(no_passphrase, 2, "--passphrase-file FILE")
    binary = tmp_path / "binary"
    binary.write_bytes(b"\xff\xfe" * 10)
    assert_one_error(keys("import", "a", str(binary), "--home", home), 2, "not UTF-8")
    empty = tmp_path / "empty"
    empty.write_text("\n")
    result = keys(
        "import", "a", str(vector_file(tmp_path)), "--home", home, "--passphrase-file", str(empty)
    )
    assert_one_error(result, 2, "is empty")


# --- export -----------------------------------------------------------------------------


def test_export_to_stdout_opens_with_the_export_passphrase(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert keys("recover", "admin", "--home", str(home), input=MNEMONIC + "\n").exit_code == 0
    result = keys("export", "admin", "--home", str(home), armor=EXPORT_PASS)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("-----BEGIN TENDERMINT PRIVATE KEY-----\nkdf: bcrypt\n")
    assert import_private_key(result.stdout, EXPORT_PASS) == key_from_mnemonic(MNEMONIC)


def test_export_then_import_moves_a_key_between_homes(tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    assert keys("recover", "admin", "--home", str(first), input=MNEMONIC + "\n").exit_code == 0
    secret = tmp_path / "export-passphrase"
    secret.write_text(EXPORT_PASS + "\n")
    out = tmp_path / "admin.armor"
    result = keys(
        "export",
        *("admin", "--home", str(first), "--output-file", str(out)),
        *("--passphrase-file", str(secret)),
    )
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    imported = keys(
        "import", "moved", str(out), "--home", str(second), "--passphrase-file", str(secret)
    )
    assert imported.exit_code == 0, imported.stderr
    assert imported.stdout.strip() == f"moved  {ADDRESS}"
    assert [k["address"] for k in listed(second)] == [ADDRESS]


def test_export_of_the_cosmos_vector_round_trips_to_its_address(tmp_path: Path) -> None:
    home = tmp_path / "home"
    path = str(vector_file(tmp_path))
    imported = keys("import", "admin", path, "--home", str(home), armor=COSMOS_PASSPHRASE)
    assert imported.exit_code == 0, imported.stderr
    exported = keys("export", "admin", "--home", str(home), armor=EXPORT_PASS)
    assert exported.exit_code == 0, exported.stderr
    assert import_private_key(exported.stdout, EXPORT_PASS).address == COSMOS_ADDRESS


def test_export_refusals(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert keys("recover", "admin", "--home", str(home), input=MNEMONIC + "\n").exit_code == 0
    missing = keys("export", "nobody", "--home", str(home), armor=EXPORT_PASS)
    assert_one_error(missing, 1, "no key named 'nobody'")
    short = keys("export", "admin", "--home", str(home), armor="short")
    assert_one_error(short, 2, "at least 8 characters")
    wrong_keyring = keys(
        "export",
        *("admin", "--home", str(home)),
        armor=EXPORT_PASS,
        WM_KEYRING_PASSPHRASE="not the keyring passphrase",
    )
    assert_one_error(wrong_keyring, 1, "wrong passphrase for key 'admin'")
    assert wrong_keyring.stdout == ""
    no_passphrase = keys("export", "admin", "--home", str(home))
    assert_one_error(no_passphrase, 2, "WM_ARMOR_PASSPHRASE")
    taken = tmp_path / "taken"
    taken.write_text("keep me")
    result = keys(
        "export", "admin", "--home", str(home), "--output-file", str(taken), armor=EXPORT_PASS
    )
    assert_one_error(result, 2, "already exists")
    assert taken.read_text() == "keep me"


# --- the OS keyring ---------------------------------------------------------------------


def test_add_in_the_os_keyring_lists_without_a_passphrase(
    tmp_path: Path, os_keyring: PlaintextKeyring
) -> None:
    home = tmp_path / "home"
    result = keys("add", "operator", "--home", str(home), "--keyring-backend", "os")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip().endswith("(OS keyring)")
    assert "OS keyring (service worker-manager:" in result.stderr
    document = json.loads((home / "keyring" / "operator.json").read_text())
    assert "ciphertext" not in document
    assert document["storage"]["backend"] == "os"
    assert any(entries(os_keyring).values())
    assert [(k["name"], k["backend"]) for k in listed(home)] == [("operator", "os")]
    shown = runner.invoke(app, ["keys", "show", "operator", "--home", str(home)])
    assert "stored in:   the OS keyring" in shown.stdout
    assert keys("delete", "operator", "--yes", "--home", str(home)).exit_code == 0
    assert not any(entries(os_keyring).values())


def test_recover_and_import_into_the_os_keyring_by_environment(
    tmp_path: Path, os_keyring: PlaintextKeyring
) -> None:
    home = tmp_path / "home"
    recovered = keys(
        "recover", "admin", "--home", str(home), input=MNEMONIC + "\n", WM_KEYRING_BACKEND="os"
    )
    assert recovered.exit_code == 0, recovered.stderr
    imported = keys(
        "import",
        *("cosmos", str(vector_file(tmp_path)), "--home", str(home)),
        armor=COSMOS_PASSPHRASE,
        WM_KEYRING_BACKEND="os",
    )
    assert imported.exit_code == 0, imported.stderr
    assert {k["name"]: k["backend"] for k in listed(home)} == {"admin": "os", "cosmos": "os"}
    # the command line beats the environment
    filed = keys(
        "add", "filed", "--home", str(home), "--keyring-backend", "file", WM_KEYRING_BACKEND="os"
    )
    assert filed.exit_code == 0, filed.stderr
    assert {k["name"]: k["backend"] for k in listed(home)}["filed"] == "file"


def test_a_key_in_the_os_keyring_signs_and_exports(
    tmp_path: Path, os_keyring: PlaintextKeyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    keys("recover", "admin", "--home", str(home), "--keyring-backend", "os", input=MNEMONIC + "\n")
    # what every `tx ... --from admin` calls to get its signing key
    monkeypatch.setenv("WM_KEYRING_PASSPHRASE", KEYRING_PASS)
    assert load_key(home, "admin") == key_from_mnemonic(MNEMONIC)
    exported = keys("export", "admin", "--home", str(home), armor=EXPORT_PASS)
    assert exported.exit_code == 0, exported.stderr
    assert import_private_key(exported.stdout, EXPORT_PASS).address == ADDRESS


def test_no_os_keyring_backend_is_one_error_line(tmp_path: Path, no_os_keyring: object) -> None:
    home = tmp_path / "home"
    for args, extra in [
        (("add", "k", "--keyring-backend", "os"), {}),
        (("recover", "k", "--keyring-backend", "os"), {"input": MNEMONIC + "\n"}),
        (("add", "k"), {"WM_KEYRING_BACKEND": "os"}),
    ]:
        result = keys(*args, "--home", str(home), **extra)
        assert_one_error(result, 1, "the OS keyring")
        assert "No recommended backend" in result.stderr
        assert "--keyring-backend file" in result.stderr
    imported = keys(
        "import",
        *("k", str(vector_file(tmp_path)), "--home", str(home), "--keyring-backend", "os"),
        armor=COSMOS_PASSPHRASE,
    )
    assert_one_error(imported, 1, "--keyring-backend file")
    assert not home.exists()


@pytest.mark.usefixtures("keyring_not_installed")
def test_without_the_keyring_package_the_error_says_what_to_install(tmp_path: Path) -> None:
    result = keys("add", "k", "--home", str(tmp_path / "h"), "--keyring-backend", "os")
    assert_one_error(result, 1, "pip install 'worker-manager[keyring]'")
    assert "--keyring-backend file" in result.stderr
    assert keys("add", "k", "--home", str(tmp_path / "h")).exit_code == 0


def test_an_unknown_backend_is_bad_usage(tmp_path: Path) -> None:
    home = str(tmp_path / "h")
    by_option = keys("add", "k", "--home", home, "--keyring-backend", "pass")
    assert_one_error(by_option, 2, "--keyring-backend must be file or os, not 'pass'")
    by_environment = keys("add", "k", "--home", home, WM_KEYRING_BACKEND="kwallet")
    assert_one_error(by_environment, 2, "WM_KEYRING_BACKEND must be file or os")


def test_the_cli_export_is_what_the_library_writes(tmp_path: Path) -> None:
    """The library's format is pinned to cosmos-sdk's in tests/keys/test_armor.py; the CLI
    adds nothing to it but a file."""
    key = key_from_mnemonic(MNEMONIC)
    text = export_private_key(key, EXPORT_PASS)
    path = tmp_path / "k.armor"
    path.write_text(text)
    result = keys("import", "k", str(path), "--home", str(tmp_path / "h"), armor=EXPORT_PASS)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == f"k  {ADDRESS}"
