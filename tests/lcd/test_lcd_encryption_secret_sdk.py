"""Our encryption against secret-sdk's ``EncryptionUtils`` (miscreant AES-SIV), both ways."""

import base64
import os

import pytest

from worker_manager.secret.encryption import (
    X25519KeyPair,
    encrypt_error,
    encrypt_query_result,
    open_envelope,
    seal_envelope,
)

pytestmark = pytest.mark.slow

NODE = X25519KeyPair(bytes(range(32)))
CODE_HASH = "af74387e276be8874f07bec3a87023ee49b0e7ebe08178c49d0a49c3c98ed60e"

_SEAL = """
import base64, json
from secret_sdk.util.encrypt_utils import EncryptionUtils
node_pub = base64.b64decode(INPUT["node_pub"])
out = []
for case in INPUT["cases"]:
    utils = EncryptionUtils(node_pub, encryption_seed=list(bytes.fromhex(case["seed"])))
    if case["nonce"]:
        utils.generate_new_seed = lambda n=case["nonce"]: list(bytes.fromhex(n))
    text = json.dumps(case["msg"], separators=(",", ":"))
    envelope = bytes(utils.encrypt(INPUT["code_hash"], text))
    out.append(base64.b64encode(envelope).decode())
emit(out)
"""

_OPEN = """
import base64
from secret_sdk.util.encrypt_utils import EncryptionUtils
node_pub = base64.b64decode(INPUT["node_pub"])
out = []
for case in INPUT["cases"]:
    utils = EncryptionUtils(node_pub, encryption_seed=list(bytes.fromhex(case["seed"])))
    nonce = list(base64.b64decode(case["envelope"])[:32])
    # What AsyncWasmAPI.contract_query does with a 200 answer and with an error.
    answer = base64.b64decode(utils.decrypt(base64.b64decode(case["data"]), nonce))
    error = utils.decrypt(base64.b64decode(case["error"]), nonce)
    out.append({"answer": answer.decode(), "error": error.decode()})
emit(out)
"""


def test_client_envelope_is_byte_exact_with_ours(secret_clients) -> None:
    client_seed = bytes(range(32, 64))
    nonce = bytes(range(64, 96))
    msg = {"get_models": {}}
    (theirs,) = secret_clients.run_client(
        _SEAL,
        input={
            "node_pub": base64.b64encode(NODE.public_key).decode(),
            "code_hash": CODE_HASH,
            "cases": [{"seed": client_seed.hex(), "nonce": nonce.hex(), "msg": msg}],
        },
    )
    ours, _ = seal_envelope(
        X25519KeyPair(client_seed), NODE.public_key, CODE_HASH, b'{"get_models":{}}', nonce=nonce
    )
    assert base64.b64decode(theirs) == ours


def test_node_opens_client_envelopes_and_client_reads_our_answers(secret_clients) -> None:
    node = X25519KeyPair.generate()
    messages = [
        {"get_models": {}},
        {"get_u_r_ls": {"model": "llama3.1:70b"}},
        {"register_worker": {"ip_address": "10.1.2.3", "note": "ünïcode ✓", "n": [1, 2.5, None]}},
    ]
    cases = [{"seed": os.urandom(32).hex(), "nonce": None, "msg": m} for m in messages]
    envelopes = secret_clients.run_client(
        _SEAL,
        input={
            "node_pub": base64.b64encode(node.public_key).decode(),
            "code_hash": CODE_HASH,
            "cases": cases,
        },
    )
    answers = []
    for case, envelope_b64 in zip(cases, envelopes, strict=True):
        opened = open_envelope(node, base64.b64decode(envelope_b64), CODE_HASH)
        assert opened.msg == case["msg"]
        answer = f'{{"echo":{opened.msg_json.decode()}}}'.encode()
        error = b'{"generic_err":{"msg":"unknown worker"}}'
        answers.append(
            {
                "seed": case["seed"],
                "envelope": envelope_b64,
                "data": encrypt_query_result(opened.context, answer),
                "error": encrypt_error(opened.context, error),
                "expected": answer.decode(),
            }
        )
    decrypted = secret_clients.run_client(
        _OPEN,
        input={"node_pub": base64.b64encode(node.public_key).decode(), "cases": answers},
    )
    for case, result in zip(answers, decrypted, strict=True):
        assert result["answer"] == case["expected"]
        assert result["error"] == '{"generic_err":{"msg":"unknown worker"}}'
