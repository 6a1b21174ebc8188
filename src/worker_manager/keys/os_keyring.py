"""The operating system's keyring, through the optional ``keyring`` package.

macOS Keychain, the freedesktop Secret Service (GNOME Keyring, KWallet) or the
Windows Credential Locker: whichever backend the ``keyring`` package picks (its
``keyring --list-backends``; ``PYTHON_KEYRING_BACKEND`` or its config file choose
another). :class:`~worker_manager.keys.keyring.Keyring` keeps a key's sealed secret
here when its backend is ``os``. Every failure of the package or its backend is an
:class:`~worker_manager.keys.keyring.OsKeyringUnavailable`, never a traceback. Example::

    store = OsKeyring("worker-manager:/home/me/.local/share/worker-manager/keyring")
    store.set("admin:3f9a1c0e7b2d", sealed_json)
    store.get("admin:3f9a1c0e7b2d")
"""

from types import ModuleType
from typing import Final

from worker_manager.keys.keyring import OsKeyringUnavailable

#: What to install for an OS keyring: the extra that pulls in the ``keyring`` package.
INSTALL_HINT: Final = "pip install 'worker-manager[keyring]'"


def _package() -> ModuleType:
    try:
        import keyring
        import keyring.errors
    except ImportError:
        raise OsKeyringUnavailable(
            f"the OS keyring needs the 'keyring' package, which is not installed: {INSTALL_HINT}"
        ) from None
    return keyring


def _unavailable(exc: Exception, backend: str) -> OsKeyringUnavailable:
    reason = str(exc).strip() or type(exc).__name__
    return OsKeyringUnavailable(f"the OS keyring ({backend}) is not available: {reason}")


class OsKeyring:
    """Entries of one ``service`` in the OS keyring, by user name."""

    def __init__(self, service: str) -> None:
        self.service = service

    def __repr__(self) -> str:
        return f"OsKeyring({self.service!r})"

    @property
    def backend(self) -> str:
        """The backend's class, e.g. ``keyring.backends.macOS.Keyring``."""
        backend = _package().get_keyring()
        return f"{type(backend).__module__}.{type(backend).__qualname__}"

    def get(self, username: str) -> str | None:
        """The secret stored under ``username``, or None."""
        package = _package()
        try:
            value = package.get_password(self.service, username)
        except Exception as exc:  # a backend may raise anything (D-Bus, locked, ...)
            raise _unavailable(exc, self.backend) from exc
        return value if isinstance(value, str) else None

    def set(self, username: str, secret: str) -> None:
        """Store ``secret`` under ``username``."""
        package = _package()
        try:
            package.set_password(self.service, username, secret)
        except Exception as exc:  # a backend may raise anything (D-Bus, locked, ...)
            raise _unavailable(exc, self.backend) from exc

    def delete(self, username: str) -> bool:
        """Remove ``username``'s entry; False if there was none."""
        package = _package()
        try:
            package.delete_password(self.service, username)
        except package.errors.PasswordDeleteError:
            return False
        except Exception as exc:  # a backend may raise anything (D-Bus, locked, ...)
            raise _unavailable(exc, self.backend) from exc
        return True
