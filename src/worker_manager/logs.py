"""Logging, set up in one place for ``serve``, its node processes and the agent.

- On a terminal, lines read as they always did (``time LEVEL logger: message``); when
  stderr is not a terminal (a file, a pipe, journald, a container's log), each line is
  one JSON object: ``time``, ``level``, ``logger``, ``message``, ``pid``, the request's
  ``request_id`` while one is being handled, ``process`` (``serve --workers N``), an
  exception's ``exc_info`` text, and any structured fields the call passed in
  ``extra`` (a block's ``height``, ``txs``, ``failed``, ``commit_ms``).
- :data:`REQUEST_ID` is set by the HTTP layer for each request
  (:mod:`worker_manager.api.observe`), so every line a request causes carries its id.
- :class:`RedactSecrets` replaces anything that looks like a BIP-39 mnemonic (12 or
  more words of its list in a row) or a 64-hex private key before a line is written,
  whatever logged it.
"""

import json
import logging
import re
import sys
from collections.abc import Iterable
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import IO, Any

#: The id of the HTTP request being handled (None outside requests).
REQUEST_ID: ContextVar[str | None] = ContextVar("worker_manager_request_id", default=None)
REDACTED = "[redacted]"
HUMAN_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"

#: Runs of at least 12 lowercase words of 3-8 letters (BIP-39's words), the candidates.
_WORD_RUN = re.compile(r"\b[a-z]{3,8}(?:\s+[a-z]{3,8}){11,}\b")
_WORD = re.compile(r"[a-z]{3,8}")
#: 64 hex digits standing alone (optionally 0x): a secp256k1 or ed25519 private key.
#: Hashes the node logs on purpose are left alone: tx hashes (upper case, as Cosmos
#: writes them) and a value right after the word "hash" ("code hash …", "state hash …").
_HEX_KEY = re.compile(r"(?<![0-9A-Za-z])(?:0x)?[0-9a-fA-F]{64}(?![0-9A-Za-z])")
_AFTER_HASH = re.compile(r"hash[\s=:\"']*$", re.IGNORECASE)
MIN_MNEMONIC_WORDS = 12

_wordlist: frozenset[str] | None = None


def _bip39_words() -> frozenset[str]:
    global _wordlist  # noqa: PLW0603 - loaded once, on the first candidate
    if _wordlist is None:
        from mnemonic import Mnemonic

        _wordlist = frozenset(Mnemonic("english").wordlist)
    return _wordlist


def _redact_mnemonics(text: str) -> str:
    if not _WORD_RUN.search(text):
        return text
    words = _bip39_words()
    out: list[str] = []
    last = 0
    for run in _WORD_RUN.finditer(text):
        tokens = list(_WORD.finditer(run.group()))
        start = 0
        while start < len(tokens):
            end = start
            while end < len(tokens) and tokens[end].group() in words:
                end += 1
            if end - start >= MIN_MNEMONIC_WORDS:
                first = run.start() + tokens[start].start()
                out.append(text[last:first])
                out.append(REDACTED)
                last = run.start() + tokens[end - 1].end()
            start = end + 1
    out.append(text[last:])
    return "".join(out)


def _redact_hex(text: str) -> str:
    def replace(match: re.Match[str]) -> str:
        value = match.group()
        if value.isupper() or value.isdigit():  # a tx hash (Cosmos writes them upper case)
            return value
        if _AFTER_HASH.search(text, 0, match.start()):
            return value
        return REDACTED

    return _HEX_KEY.sub(replace, text)


def redact(text: str) -> str:
    """``text`` without anything that looks like a mnemonic or a private key."""
    return _redact_hex(_redact_mnemonics(text))


class RedactSecrets(logging.Filter):
    """Redacts mnemonics and private keys from each record's message (and exception)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


#: A LogRecord's own attributes; anything else on a record came in ``extra``.
_RECORD_FIELDS = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line (see the module docstring)."""

    def __init__(self, process: int | None = None) -> None:
        super().__init__()
        self._process = process

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "pid": record.process,
        }
        if self._process is not None:
            line["process"] = self._process
        request_id = REQUEST_ID.get()
        if request_id is not None:
            line["request_id"] = request_id
        for key, value in record.__dict__.items():
            if key not in _RECORD_FIELDS and not key.startswith("_") and key not in line:
                line[key] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exc_info"] = record.exc_text
        return json.dumps(line, default=str, ensure_ascii=False)


def setup_logging(
    level: str,
    *,
    process: int | None = None,
    stream: IO[str] | None = None,
    json_lines: bool | None = None,
    quiet: Iterable[str] = ("alembic",),
) -> None:
    """Send log records to ``stream`` (stderr) at ``level``: human lines on a terminal,
    JSON lines elsewhere (``json_lines`` forces either), secrets redacted. Calling it
    again changes the level (the handler is installed once, and not at all when the
    process has handlers already, as :func:`logging.basicConfig`). ``process`` numbers a
    ``serve --workers`` process; ``quiet`` loggers only say warnings and worse."""
    stream = stream if stream is not None else sys.stderr
    root = logging.getLogger()
    # as logging.basicConfig: a process whose logging is set up already (a test runner's
    # capture) keeps its handlers; only the level changes
    if not root.handlers:
        handler: logging.Handler = logging.StreamHandler(stream)
        as_json = json_lines if json_lines is not None else not _is_terminal(stream)
        if as_json:
            handler.setFormatter(JsonFormatter(process))
        else:
            prefix = f"[node {process}] " if process is not None else ""
            handler.setFormatter(
                logging.Formatter(f"%(asctime)s %(levelname)-7s {prefix}%(name)s: %(message)s")
            )
        handler.addFilter(RedactSecrets())
        root.addHandler(handler)
    root.setLevel(level.upper())
    for name in quiet:
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))


def _is_terminal(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError, OSError):
        return False
