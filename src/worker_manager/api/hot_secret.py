"""The Secret-encrypted contract query, served from the lean front door.

``GET /compute/v1beta1/query/{contract}?query=<envelope>`` is how ``secret-ai-sdk``
asks for URLs: every subscriber request. Its answer is the same ready bytes as the
native query's, so the only work per request is opening the envelope (the X25519
shared secret is kept per client key, :mod:`~worker_manager.secret.encryption`)
and sealing the answer with AES-SIV.

Only a ready answer is given here. Anything else (another contract address or an
alias, a missing or garbled ``query``, an envelope that does not open, a query
whose answer is not ready, a contract refusal, a database that cannot answer)
returns ``None`` and the request goes on to the full LCD route, which answers it
and gives every refusal its exact shape. The request is a GET, so nothing of it
has been consumed.
"""

import base64
import binascii
from urllib.parse import unquote

from worker_manager.failures import ServiceUnavailable
from worker_manager.node import Node
from worker_manager.secret.encryption import (
    EnvelopeError,
    encrypt_query_result,
    open_message,
)

PATH_PREFIX = "/compute/v1beta1/query/"
#: percent-escapes of base64's own characters (encodeURIComponent's, either case)
_BASE64_ESCAPES = tuple(
    (escape, plain) for plain in "+/=" for escape in {f"%{ord(plain):02X}", f"%{ord(plain):02x}"}
)


def _envelope(query_string: bytes) -> bytes | None:
    """The envelope bytes of ``?query=``, if there is exactly one and it is base64."""
    found = [part[6:] for part in query_string.split(b"&") if part.startswith(b"query=")]
    if len(found) != 1 or not found[0]:
        return None
    text = found[0].decode("latin-1")
    for escaped, plain in _BASE64_ESCAPES:  # what clients escape of base64, in C
        text = text.replace(escaped, plain)
    if "%" in text:  # anything else: as the LCD route reads it (a space stands for "+")
        text = unquote(found[0].decode("latin-1").replace("+", " ")).replace(" ", "+")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None


async def encrypted_query(node: Node, path: str, query_string: bytes) -> bytes | None:
    """The response body of a successful encrypted query, or ``None`` to let the LCD
    route answer."""
    io_key = node.io_key
    if io_key is None or path[len(PATH_PREFIX) :] != node.identity.contract_address:
        return None
    envelope = _envelope(query_string)
    if envelope is None:
        return None
    try:
        context, _code_hash, msg_json = open_message(io_key, envelope, node.identity.code_hash)
        # ready answers only: these exact bytes were parsed and answered before (a
        # get_u_r_ls of a kept ranking is parsed there); all else goes to the LCD route
        answer = node.cached_query(msg_json)
    except (EnvelopeError, ServiceUnavailable):
        return None
    if answer is None:
        return None
    return b'{"data":"%s"}' % encrypt_query_result(context, answer).encode("ascii")
