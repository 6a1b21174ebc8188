"""The dashboard's operator token: the config's, or a random one kept in the home.

With ``[dashboard] token`` empty (the default), the node makes a random token on its
first start and keeps it in the owner-only ``secrets/dashboard.token``; every later
start, and every node process of the home, reads the same one. ``serve`` prints the
dashboard's address with the token only when its output is a terminal, so the token
never ends up in a log file.
"""

import logging
import os
import secrets
import sys
from pathlib import Path

from worker_manager.api.dashboard import DashboardOptions
from worker_manager.settings import Settings

log = logging.getLogger("worker_manager")

TOKEN_FILE = "dashboard.token"  # noqa: S105 - a file name, not a secret


def token_path(settings: Settings) -> Path:
    return settings.secrets_dir / TOKEN_FILE


def _kept_token(path: Path) -> str:
    """The token in ``path``, made (owner-only) if there is none yet."""
    try:
        kept = path.read_text().strip()
    except FileNotFoundError:
        kept = ""
    if kept:
        return kept
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    token = secrets.token_urlsafe(24)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another node process of this home made it first
        return path.read_text().strip()
    with os.fdopen(descriptor, "w") as file:
        file.write(token + "\n")
    return token


def dashboard_options(settings: Settings) -> DashboardOptions | None:
    """What the app needs to serve the dashboard (None: ``[dashboard] enabled = false``)."""
    if not settings.dashboard_enabled:
        return None
    token = settings.dashboard_token or _kept_token(token_path(settings))
    return DashboardOptions(token=token, refresh_s=settings.dashboard_refresh_s)


def announce_dashboard(settings: Settings, options: DashboardOptions | None) -> None:
    """Say where the dashboard is: with its token on a terminal, else where the token is."""
    if options is None:
        return
    if sys.stderr.isatty():
        log.info("dashboard: %s/?token=%s", settings.lcd_url, options.token)
        return
    where = "[dashboard] token in config.toml"
    if not settings.dashboard_token:
        where = str(token_path(settings))
    log.info("dashboard: %s/ (its operator token is in %s)", settings.lcd_url, where)
