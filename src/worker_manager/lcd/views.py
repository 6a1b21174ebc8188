"""JSON shapes of the LCD answers (LCD.md sections 2 and 4), built from node records.

Cosmos conventions throughout: ``code`` fields are JSON integers; heights, gas,
account numbers and sequences are decimal strings; bytes are standard base64.
"""

import base64
from datetime import UTC, datetime
from typing import Any

from worker_manager import __version__
from worker_manager.node.identity import ChainIdentity
from worker_manager.node.queries import AccountInfo
from worker_manager.tx import SECP256K1_PUBKEY_TYPE_URL

BASE_ACCOUNT_TYPE_URL = "/cosmos.auth.v1beta1.BaseAccount"
APP_NAME = "worker-manager"

JsonObject = dict[str, Any]


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def rfc3339(time_ns: int) -> str:
    """A block time as Cosmos prints it: RFC 3339, UTC, whole seconds, ``Z``."""
    moment = datetime.fromtimestamp(time_ns // 1_000_000_000, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def tx_key_json(public_key: bytes) -> JsonObject:
    """R1: the node's x25519 public key."""
    return {"key": b64(public_key)}


def code_hash_json(code_hash: str) -> JsonObject:
    """R2 and O4: 64 lower-case hex characters, no ``0x``."""
    return {"code_hash": code_hash.lower()}


def contract_info_json(identity: ChainIdentity, address: str) -> JsonObject:
    """R7: the contract at ``address`` (the node's own address or an alias)."""
    return {
        "contract_address": address,
        "contract_info": {
            "code_id": str(identity.code_id),
            "creator": identity.creator,
            "label": identity.label,
            "created": {"block_height": str(identity.created_height), "tx_index": "0"},
            "ibc_port_id": "",
            "admin": "",
            "admin_proof": None,
        },
    }


def account_json(account: AccountInfo) -> JsonObject:
    """R4: a ``BaseAccount``; ``pub_key`` stays null until the account's first tx."""
    pub_key = None
    if account.public_key is not None:
        key = b64(bytes.fromhex(account.public_key))
        pub_key = {"@type": SECP256K1_PUBKEY_TYPE_URL, "key": key}
    return {
        "account": {
            "@type": BASE_ACCOUNT_TYPE_URL,
            "address": account.address,
            "pub_key": pub_key,
            "account_number": str(account.account_number),
            "sequence": str(account.sequence),
        }
    }


def broadcast_json(
    txhash: str, *, code: int = 0, codespace: str = "", raw_log: str = ""
) -> JsonObject:
    """R5: what a CheckTx answers, accepted (code 0) or refused."""
    return {
        "tx_response": {
            "height": "0",
            "txhash": txhash,
            "codespace": codespace,
            "code": code,
            "data": "",
            "raw_log": raw_log,
            "logs": [],
            "info": "",
            "gas_wanted": "0",
            "gas_used": "0",
            "tx": None,
            "timestamp": "",
            "events": [],
        }
    }


def simulate_json(gas_used: int) -> JsonObject:
    """O1: a gas estimate; nothing runs, so the result is empty."""
    return {
        "gas_info": {"gas_wanted": "0", "gas_used": str(gas_used)},
        "result": {"data": "", "log": "", "events": [], "msg_responses": []},
    }


def node_info_json(chain_id: str) -> JsonObject:
    """O2: enough of Tendermint's node info for clients: the chain id as ``network``."""
    return {
        "default_node_info": {
            "protocol_version": {"p2p": "0", "block": "0", "app": "0"},
            "default_node_id": "",
            "listen_addr": "",
            "network": chain_id,
            "version": __version__,
            "channels": "",
            "moniker": APP_NAME,
            "other": {"tx_index": "on", "rpc_address": ""},
        },
        "application_version": {
            "name": APP_NAME,
            "app_name": APP_NAME,
            "version": __version__,
            "git_commit": "",
            "build_tags": "",
            "go_version": "",
            "build_deps": [],
            "cosmos_sdk_version": "",
        },
    }


def balances_json() -> JsonObject:
    """O3: this node has no bank module, so every balance is empty."""
    return {"balances": [], "pagination": {"next_key": None, "total": "0"}}
