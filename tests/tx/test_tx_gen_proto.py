"""The committed protobuf modules match their .proto files and the upstream schema."""

import re
import subprocess
import sys
from pathlib import Path

import pytest
from google.protobuf.descriptor import FieldDescriptor

from worker_manager.tx.proto.cosmos.base.abci.v1beta1 import abci_pb2
from worker_manager.tx.proto.cosmos.base.v1beta1 import coin_pb2
from worker_manager.tx.proto.cosmos.crypto.secp256k1 import keys_pb2
from worker_manager.tx.proto.cosmos.tx.signing.v1beta1 import signing_pb2
from worker_manager.tx.proto.cosmos.tx.v1beta1 import tx_pb2
from worker_manager.tx.proto.secret.compute.v1beta1 import msg_pb2

ROOT = Path(__file__).resolve().parents[2]
PROTO_DIR = ROOT / "src" / "worker_manager" / "tx" / "proto"


def test_generated_code_is_up_to_date() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gen_proto.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_proto_has_modules_stamped_for_the_oldest_runtime() -> None:
    protos = sorted(PROTO_DIR.rglob("*.proto"))
    assert len(protos) == 7
    for proto in protos:
        module = proto.with_name(proto.stem + "_pb2.py")
        assert module.is_file(), module
        assert proto.with_name(proto.stem + "_pb2.pyi").is_file()
        text = module.read_text()
        assert "Domain.PUBLIC,\n    5,\n    27,\n    0,\n" in text
        # Imports of sibling modules are package-absolute, never top-level ``cosmos``.
        assert not re.search(r"^(from|import) (cosmos|secret)\b", text, re.MULTILINE)


# (message, field name) -> (number, type, repeated), as in cosmos-sdk and SecretNetwork.
_B, _S, _U64, _M, _E = (
    FieldDescriptor.TYPE_BYTES,
    FieldDescriptor.TYPE_STRING,
    FieldDescriptor.TYPE_UINT64,
    FieldDescriptor.TYPE_MESSAGE,
    FieldDescriptor.TYPE_ENUM,
)
UPSTREAM = {
    coin_pb2.Coin: {"denom": (1, _S, False), "amount": (2, _S, False)},
    keys_pb2.PubKey: {"key": (1, _B, False)},
    tx_pb2.Tx: {"body": (1, _M, False), "auth_info": (2, _M, False), "signatures": (3, _B, True)},
    tx_pb2.TxRaw: {
        "body_bytes": (1, _B, False),
        "auth_info_bytes": (2, _B, False),
        "signatures": (3, _B, True),
    },
    tx_pb2.SignDoc: {
        "body_bytes": (1, _B, False),
        "auth_info_bytes": (2, _B, False),
        "chain_id": (3, _S, False),
        "account_number": (4, _U64, False),
    },
    tx_pb2.TxBody: {
        "messages": (1, _M, True),
        "memo": (2, _S, False),
        "timeout_height": (3, _U64, False),
        "extension_options": (1023, _M, True),
        "non_critical_extension_options": (2047, _M, True),
    },
    tx_pb2.AuthInfo: {
        "signer_infos": (1, _M, True),
        "fee": (2, _M, False),
        "tip": (3, _M, False),
    },
    tx_pb2.SignerInfo: {
        "public_key": (1, _M, False),
        "mode_info": (2, _M, False),
        "sequence": (3, _U64, False),
    },
    tx_pb2.ModeInfo: {"single": (1, _M, False)},
    tx_pb2.ModeInfo.Single: {"mode": (1, _E, False)},
    tx_pb2.Fee: {
        "amount": (1, _M, True),
        "gas_limit": (2, _U64, False),
        "payer": (3, _S, False),
        "granter": (4, _S, False),
    },
    tx_pb2.Tip: {"amount": (1, _M, True), "tipper": (2, _S, False)},
    msg_pb2.MsgExecuteContract: {
        "sender": (1, _B, False),
        "contract": (2, _B, False),
        "msg": (3, _B, False),
        "callback_code_hash": (4, _S, False),
        "sent_funds": (5, _M, True),
        "callback_sig": (6, _B, False),
    },
    msg_pb2.MsgExecuteContractResponse: {"data": (1, _B, False)},
    abci_pb2.MsgData: {"msg_type": (1, _S, False), "data": (2, _B, False)},
    abci_pb2.TxMsgData: {"data": (1, _M, True), "msg_responses": (2, _M, True)},
}


def _is_repeated(field: FieldDescriptor) -> bool:
    if hasattr(field, "is_repeated"):  # protobuf >= 6.31; ``label`` is gone in 7.x
        return bool(field.is_repeated)
    return bool(field.label == FieldDescriptor.LABEL_REPEATED)


@pytest.mark.parametrize("message", list(UPSTREAM), ids=lambda m: m.DESCRIPTOR.full_name)
def test_schema_matches_upstream(message: type) -> None:
    descriptor = message.DESCRIPTOR  # type: ignore[attr-defined]
    fields = {f.name: (f.number, f.type, _is_repeated(f)) for f in descriptor.fields}
    assert fields == UPSTREAM[message]


def test_full_names_and_sign_modes() -> None:
    assert (
        msg_pb2.MsgExecuteContract.DESCRIPTOR.full_name
        == "secret.compute.v1beta1.MsgExecuteContract"
    )
    assert keys_pb2.PubKey.DESCRIPTOR.full_name == "cosmos.crypto.secp256k1.PubKey"
    assert tx_pb2.TxRaw.DESCRIPTOR.full_name == "cosmos.tx.v1beta1.TxRaw"
    assert abci_pb2.TxMsgData.DESCRIPTOR.full_name == "cosmos.base.abci.v1beta1.TxMsgData"
    assert dict(signing_pb2.SignMode.items()) == {
        "SIGN_MODE_UNSPECIFIED": 0,
        "SIGN_MODE_DIRECT": 1,
        "SIGN_MODE_TEXTUAL": 2,
        "SIGN_MODE_DIRECT_AUX": 3,
        "SIGN_MODE_LEGACY_AMINO_JSON": 127,
        "SIGN_MODE_EIP_191": 191,
    }
