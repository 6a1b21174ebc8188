"""The Secret-encrypted contract query, served from the lean front door.

``GET /compute/v1beta1/query/{contract}?query=<envelope>`` is how ``secret-ai-sdk``
asks for URLs: every subscriber request. Its answer is the same ready bytes as the
native query's, so the only work per request is opening the envelope (the X25519
shared secret is kept per client key, :mod:`~worker_manager.secret.encryption`)
and sealing the answer with AES-SIV.

Only the plain success is answered here. Anything else (another contract address
or an alias, a missing or garbled ``query``, an envelope that does not open, a
contract refusal, a database that cannot answer) returns ``None`` and the request
goes on to the full LCD route, which gives every refusal its exact shape. The
request is a GET, so nothing of it has been consumed.
"""

import base64
import binascii
from urllib.parse import parse_qs

from starlette.concurrency import run_in_threadpool

from worker_manager.contract import ContractError
from worker_manager.failures import ServiceUnavailable
from worker_manager.node import Node
from worker_manager.secret.encryption import (
    EnvelopeError,
    encrypt_query_result,
    open_envelope,
)

PATH_PREFIX = "/compute/v1beta1/query/"


def _envelope(query_string: bytes) -> bytes | None:
    """The envelope bytes of ``?query=``, if there is exactly one and it is base64."""
    values = parse_qs(query_string.decode("latin-1")).get("query")
    if values is None or len(values) != 1 or not values[0]:
        return None
    try:
        # a space stands for "+" (a query string decoded as a form), as the LCD route reads it
        return base64.b64decode(values[0].replace(" ", "+"), validate=True)
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
        opened = open_envelope(io_key, envelope, node.identity.code_hash)
        answer = node.cached_query(opened.msg_json)
        if answer is None:
            answer = await run_in_threadpool(node.query, opened.msg_json)
    except (EnvelopeError, ContractError, ServiceUnavailable):
        return None
    return b'{"data":"%s"}' % encrypt_query_result(opened.context, answer).encode("ascii")
