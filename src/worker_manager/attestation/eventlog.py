"""Replay a TD event log into RTMR values.

A TD extends its runtime measurement registers as it boots and runs:
``rtmr = sha384(rtmr || digest)``, starting from 48 zero bytes. When a worker
sends its event log (dstack style: ``[{"imr": 0..3, "digest": "<96 hex>", ...}]``),
replaying it must reproduce RTMR0-3 of the quote exactly; otherwise the log is
not the one that was measured. Only ``imr`` and ``digest`` take part in the
replay; the other fields (``event``, ``event_type``, ``event_payload``) are kept
as the worker sent them, for display, and are not trusted.
"""

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

from worker_manager.attestation.errors import AttestationError, Reason

MAX_EVENTS = 4096
"""A real boot log has a few dozen events; this only bounds work on hostile input."""

RTMR_COUNT = 4
DIGEST_LEN = 48


@dataclass(frozen=True, slots=True)
class EventLogEntry:
    """One measured event: which RTMR it extended, with which SHA-384 digest."""

    imr: int
    digest: bytes
    event: str = ""


def parse_event_log(obj: object) -> tuple[EventLogEntry, ...]:
    """Decode the JSON list form or raise ``malformed_report``."""
    if not isinstance(obj, list) or len(obj) > MAX_EVENTS:
        raise AttestationError(
            Reason.MALFORMED_REPORT, f"event_log must be a list of at most {MAX_EVENTS} events"
        )
    return tuple(_entry(i, e) for i, e in enumerate(obj))


def _entry(index: int, obj: object) -> EventLogEntry:
    def bad(why: str) -> AttestationError:
        return AttestationError(Reason.MALFORMED_REPORT, f"event_log[{index}]: {why}")

    if not isinstance(obj, Mapping):
        raise bad("not an object")
    imr = obj.get("imr")
    if not isinstance(imr, int) or isinstance(imr, bool) or not 0 <= imr < RTMR_COUNT:
        raise bad("imr must be 0..3")
    digest_hex = obj.get("digest")
    if not isinstance(digest_hex, str) or len(digest_hex) != 2 * DIGEST_LEN:
        raise bad("digest must be 96 hex characters")
    try:
        digest = bytes.fromhex(digest_hex)
    except ValueError as exc:
        raise bad("digest is not hex") from exc
    event = obj.get("event", "")
    return EventLogEntry(imr=imr, digest=digest, event=event if isinstance(event, str) else "")


def replay_rtmrs(entries: tuple[EventLogEntry, ...]) -> tuple[bytes, bytes, bytes, bytes]:
    """The RTMR0-3 values the events produce, in order."""
    rtmrs = [bytes(DIGEST_LEN)] * RTMR_COUNT
    for entry in entries:
        rtmrs[entry.imr] = hashlib.sha384(rtmrs[entry.imr] + entry.digest).digest()
    return rtmrs[0], rtmrs[1], rtmrs[2], rtmrs[3]
