"""Log lines: JSON off a terminal, human on one, the request id, and no secrets."""

import io
import json
import logging

import pytest

from tests.conftest import ADMIN_KEY
from worker_manager.keys.mnemonic import generate_mnemonic
from worker_manager.logs import (
    HUMAN_FORMAT,
    REDACTED,
    REQUEST_ID,
    JsonFormatter,
    RedactSecrets,
    redact,
)


def _emit(formatter: logging.Formatter, msg: str, *args: object, **extra: object) -> str:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    handler.addFilter(RedactSecrets())
    logger = logging.getLogger("worker_manager.test_logs")
    logger.propagate = False
    logger.addHandler(handler)
    try:
        logger.warning(msg, *args, extra=extra or None)
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
    return stream.getvalue()


@pytest.mark.parametrize("words", [12, 24])
def test_a_mnemonic_is_redacted_wherever_it_is(words: int) -> None:
    phrase = generate_mnemonic(words)
    line = _emit(JsonFormatter(), "imported key %s for admin", phrase)
    assert phrase not in line
    for word in set(phrase.split()):
        assert f" {word} " not in json.loads(line)["message"].replace(REDACTED, "")
    message = json.loads(line)["message"]  # ("key", a word of the list, goes too)
    assert message.startswith("imported ")
    assert message.endswith(f"{REDACTED} for admin")


def test_a_private_key_is_redacted_but_hashes_the_node_logs_are_kept() -> None:
    secret = ADMIN_KEY.secret.hex()
    assert redact(f"key={secret} ok") == f"key={REDACTED} ok"
    assert redact(f"0x{secret}") == REDACTED
    code_hash = "702d6ed9c3bc55b99af495b3a158c48de4765fda943ce03c998970335ca1c6e4"
    kept = f"contract x (code hash {code_hash}); state hash: {code_hash}"
    assert redact(kept) == kept
    tx_hash = "9F1C" * 16  # upper case, as tx hashes are written
    assert redact(f"accepted tx {tx_hash}") == f"accepted tx {tx_hash}"
    assert redact("a" * 65) == "a" * 65  # not 64 digits standing alone


def test_ordinary_prose_is_left_alone() -> None:
    text = (
        "database schema upgraded from empty to 0009; node for chain wm-1 at height 3; "
        "the node process stopped after it committed what was queued in the last block"
    )
    assert redact(text) == text


def test_a_json_line_has_the_request_id_and_the_structured_fields() -> None:
    token = REQUEST_ID.set("req-42")
    try:
        line = _emit(JsonFormatter(process=2), "block %d: %d txs", 7, 3, height=7, txs=3)
    finally:
        REQUEST_ID.reset(token)
    data = json.loads(line)
    assert data["message"] == "block 7: 3 txs"
    assert (data["request_id"], data["height"], data["txs"], data["process"]) == ("req-42", 7, 3, 2)
    assert data["level"] == "warning"
    assert data["logger"] == "worker_manager.test_logs"
    assert isinstance(data["pid"], int)
    outside = json.loads(_emit(JsonFormatter(), "no request here"))
    assert "request_id" not in outside


def test_the_human_format_is_unchanged() -> None:
    line = _emit(logging.Formatter(HUMAN_FORMAT), "listening on %s", "http://127.0.0.1:1317")
    assert line.rstrip().endswith(
        "WARNING worker_manager.test_logs: listening on http://127.0.0.1:1317"
    )
