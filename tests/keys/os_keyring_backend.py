"""Real ``keyring`` backends for the OS-keyring tests, chosen per test with ``set_keyring``.

- :func:`os_keyring`: keyrings.alt's file backend, writing to a file in the test's
  temporary directory (it works headless, unlike the Secret Service or Keychain);
- :func:`no_os_keyring`: the ``keyring`` package's own ``fail`` backend, what it
  picks when the system has none: every call raises ``NoKeyringError``.

Import the fixtures into a test module to use them. The previous backend comes back
after each test, and no test ever touches the user's real keyring.
"""

import configparser
import sys
from collections.abc import Iterator
from pathlib import Path

import keyring
import keyring.backend
import keyring.backends.fail
import pytest
from keyrings.alt.file import PlaintextKeyring


def entries(backend: PlaintextKeyring) -> dict[str, dict[str, str]]:
    """Every (service, user) entry the file backend holds, read from its file."""
    parser = configparser.RawConfigParser()
    parser.read(backend.file_path, encoding="utf-8")
    return {section: dict(parser.items(section)) for section in parser.sections()}


@pytest.fixture
def os_keyring(tmp_path: Path) -> Iterator[PlaintextKeyring]:
    backend = PlaintextKeyring()
    backend.file_path = str(tmp_path / "os-keyring" / "keyring_pass.cfg")
    previous = keyring.get_keyring()
    keyring.set_keyring(backend)
    try:
        yield backend
    finally:
        keyring.set_keyring(previous)


@pytest.fixture
def no_os_keyring() -> Iterator[keyring.backend.KeyringBackend]:
    backend = keyring.backends.fail.Keyring()
    previous = keyring.get_keyring()
    keyring.set_keyring(backend)
    try:
        yield backend
    finally:
        keyring.set_keyring(previous)


@pytest.fixture
def keyring_not_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    """As if the ``keyring`` package were not installed: importing it raises ImportError
    (Python's own meaning of ``None`` in ``sys.modules``)."""
    for module in ("keyring", "keyring.errors"):
        monkeypatch.setitem(sys.modules, module, None)
