"""SNIP-24 query permits: a subscriber signs once, in its wallet, what it lets a query do.

A permit is what Keplr's ``signAmino`` (or secret.js, or :func:`~worker_manager.client.
make_permit`) signs: an amino sign doc of one ``query_permit`` message naming the
contracts it is good for (``allowed_tokens``), the chain, the permissions and a name.
secret-toolkit's ``permit`` package checks it this way; so do we:

- ``chain_id`` is this chain, ``allowed_tokens`` holds this contract's address;
- the permissions hold the one the query needs (:data:`PERMISSION_WORKERS`, or
  :data:`PERMISSION_OWNER`, which grants whatever the signer may do);
- the signature (64-byte compact secp256k1 over the sha256 of :func:`permit_sign_doc`)
  verifies with ``pub_key``;
- the signer's account (the ``secret1…`` address of ``pub_key``) has not revoked
  permits of that name with ``revoke_permit``.

Pure: the chain and the contract come from :class:`~worker_manager.contract.deps.Env`.
"""

import base64
import binascii
import hashlib
import json

from worker_manager.contract.auth import load_config
from worker_manager.contract.deps import Deps, Env, MessageInfo, QueryDeps
from worker_manager.contract.error import (
    InvalidSignature,
    PermitRefused,
    PermitRevoked,
    SubscriberNotAllowed,
)
from worker_manager.contract.msg import (
    Permit,
    PermitParams,
    RevokePermit,
    WithPermit,
    WorkersAnswer,
)
from worker_manager.contract.queries import workers_page
from worker_manager.contract.response import Response
from worker_manager.contract.state import Config
from worker_manager.contract.validate import canonical_address
from worker_manager.keys.address import address_from_public_key
from worker_manager.keys.secp256k1 import SignatureError, parse_public_key, verify_compact

#: The permission ``get_workers`` needs in a permit.
PERMISSION_WORKERS = "workers"
#: SNIP-20/721's "everything the signer may do": grants every permit query here too.
PERMISSION_OWNER = "owner"
#: The only ``pub_key.type`` a permit may name (Keplr's and secret-toolkit's).
PUB_KEY_TYPE = "tendermint/PubKeySecp256k1"
#: What amino JSON encoders (cosmjs, Keplr) escape that a Rust contract's encoder does not.
_HTML_ESCAPES = {"&": "\\u0026", "<": "\\u003c", ">": "\\u003e"}


def permit_sign_doc(params: PermitParams) -> bytes:
    """The bytes a permit's signature covers (their sha256): the amino JSON sign doc
    secret-toolkit rebuilds from the params and Keplr's ``signAmino`` signs, keys sorted,
    no whitespace, UTF-8::

        {"account_number":"0","chain_id":CHAIN,"fee":{"amount":[{"amount":"0",
        "denom":"uscrt"}],"gas":"1"},"memo":"","msgs":[{"type":"query_permit",
        "value":{"allowed_tokens":[...],"permissions":[...],"permit_name":NAME}}],
        "sequence":"0"}
    """
    doc = {
        "account_number": "0",
        "chain_id": params.chain_id,
        "fee": {"amount": [{"amount": "0", "denom": "uscrt"}], "gas": "1"},
        "memo": "",
        "msgs": [
            {
                "type": "query_permit",
                "value": {
                    "allowed_tokens": list(params.allowed_tokens),
                    "permissions": list(params.permissions),
                    "permit_name": params.permit_name,
                },
            }
        ],
        "sequence": "0",
    }
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _escaped(doc: bytes) -> bytes:
    """The sign doc as cosmjs and Keplr serialise it (``&``, ``<``, ``>`` escaped)."""
    text = doc.decode()
    for char, escape in _HTML_ESCAPES.items():
        text = text.replace(char, escape)
    return text.encode()


def _base64(value: str, field: str, size: int) -> bytes:
    try:
        raw = base64.b64decode(value.encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error, ValueError) as exc:
        raise InvalidSignature(f"permit {field} is not base64") from exc
    if len(raw) != size:
        raise InvalidSignature(f"permit {field} must be {size} bytes, got {len(raw)}")
    return raw


def permit_signer(permit: Permit) -> tuple[bytes, str]:
    """The permit's public key and its signer's account, once its signature verifies
    (over :func:`permit_sign_doc`, or the same doc with ``&<>`` escaped as Keplr does);
    else InvalidSignature. Checks nothing else: see :func:`verify_permit`."""
    signature = permit.signature
    if signature.pub_key.type != PUB_KEY_TYPE:
        raise InvalidSignature(
            f"permit pub_key.type must be {PUB_KEY_TYPE!r}, got {signature.pub_key.type[:64]!r}"
        )
    public_key = _base64(signature.pub_key.value, "pub_key.value", 33)
    compact = _base64(signature.signature, "signature", 64)
    doc = permit_sign_doc(permit.params)
    try:
        parse_public_key(public_key)
        valid = any(
            verify_compact(public_key, compact, hashlib.sha256(d).digest(), allow_high_s=True)
            for d in dict.fromkeys((doc, _escaped(doc)))
        )
    except SignatureError as exc:
        raise InvalidSignature(f"permit {exc}") from exc
    if not valid:
        raise InvalidSignature(
            "permit signature does not verify: it must sign the sha256 of the permit's "
            "amino sign doc (query_permit) with pub_key"
        )
    return public_key, address_from_public_key(public_key)


def verify_permit(deps: QueryDeps, env: Env, config: Config, permit: Permit, needs: str) -> str:
    """Check ``permit`` for a query needing permission ``needs`` (see the module doc);
    return the signer's public key, hex (the subscriber it speaks for)."""
    params = permit.params
    if params.chain_id != env.block.chain_id:
        raise PermitRefused(
            f"the permit is for chain {params.chain_id[:64]!r}, not this chain "
            f"{env.block.chain_id!r}"
        )
    if env.contract.address not in params.allowed_tokens:
        raise PermitRefused(
            f"the permit does not name this contract {env.contract.address} in allowed_tokens"
        )
    if needs not in params.permissions and PERMISSION_OWNER not in params.permissions:
        raise PermitRefused(
            f"the permit lacks the permission {needs!r} this query needs (or {PERMISSION_OWNER!r})"
        )
    public_key, account = permit_signer(permit)
    if deps.storage.is_permit_revoked(account, params.permit_name):
        raise PermitRevoked(params.permit_name, account)
    subscriber = public_key.hex()
    if config.require_listed_subscribers and deps.storage.get_subscriber(subscriber) is None:
        raise SubscriberNotAllowed(subscriber)
    return subscriber


def query_with_permit(deps: QueryDeps, env: Env, msg: WithPermit) -> WorkersAnswer:
    """Answer the permit's query for its signer."""
    config = load_config(deps.storage)
    verify_permit(deps, env, config, msg.permit, PERMISSION_WORKERS)
    return workers_page(deps, config, msg.query)


def execute_revoke_permit(deps: Deps, env: Env, info: MessageInfo, msg: RevokePermit) -> Response:
    """Record that the sender revoked its permits named ``permit_name`` (once: a repeat
    keeps the first height and says so)."""
    account = canonical_address("sender", info.sender)
    already = deps.storage.is_permit_revoked(account, msg.permit_name)
    if not already:
        deps.storage.revoke_permit(account, msg.permit_name, env.block.height)
    return Response.of(
        "revoke_permit",
        {"account": account, "permit_name": msg.permit_name, "already_revoked": already},
        account=account,
        permit_name=msg.permit_name,
    )
