"""Accounts and keys, Cosmos style: secp256k1, bech32 ``secret1…`` addresses.

Pure functions shared by the contract core, the node and the client: nothing
here touches the network, the clock or the disk.
"""

from worker_manager.keys.address import (
    ADDRESS_PREFIX,
    AddressError,
    address_bytes,
    address_from_bytes,
    address_from_public_key,
    validate_address,
)
from worker_manager.keys.secp256k1 import (
    PrivateKey,
    SignatureError,
    parse_public_key,
    verify_compact,
)

__all__ = [
    "ADDRESS_PREFIX",
    "AddressError",
    "PrivateKey",
    "SignatureError",
    "address_bytes",
    "address_from_bytes",
    "address_from_public_key",
    "parse_public_key",
    "validate_address",
    "verify_compact",
]
