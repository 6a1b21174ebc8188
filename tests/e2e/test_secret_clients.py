"""The unmodified PyPI clients (secret-sdk 1.8.3, secret-ai-sdk 0.1.7) against a real
``worker-manager serve`` process, each client in its own virtualenv and process.

One node serves the whole module. Three client runs drive it, each doing many calls
and emitting what it saw; the tests below check one point each:

1. ``execute``: secret-sdk wallets register and change workers (admin, owner, a
   stranger), poll ``tx.tx_info`` until the txs commit, and hit ante refusals.
2. ``reads``: secret-sdk queries, errors and LCD quirks (LCD.md section 7).
3. ``discovery``: secret-ai-sdk's ``Secret()`` with the node's coordinates, with only
   ``SECRET_NODE_URL`` set (the default contract alias), and on an error path.
"""

import hashlib
import json
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from mnemonic import Mnemonic

from tests.conftest import SUBSCRIBER_KEY
from tests.e2e.conftest import cli, free_port, start_serve, stop
from worker_manager.keys.mnemonic import key_from_mnemonic
from worker_manager.secret.aliases import SECRET_AI_SDK_DEFAULT_CONTRACT

pytestmark = pytest.mark.slow

CHAIN_ID = "wm-lcd-e2e-1"
#: LCD.md 4.1's known pair: this mnemonic is the node's admin.
ADMIN_MNEMONIC = (
    "arrest rain grunt tuna super test scan limit motion indicate weather script duty "
    "praise federal demand suffer grape learn arctic evil maple pumpkin pink"
)
ADMIN = "secret1snf0y77qz9hgh69fefffjdv5tedfd6rmewzzsz"


def fixed_mnemonic(name: str) -> str:
    entropy = hashlib.sha256(f"worker-manager lcd e2e {name}".encode()).digest()
    return str(Mnemonic("english").to_mnemonic(entropy))


OWNER_MNEMONIC = fixed_mnemonic("owner")
OTHER_MNEMONIC = fixed_mnemonic("other")
OWNER = key_from_mnemonic(OWNER_MNEMONIC).address
OTHER = key_from_mnemonic(OTHER_MNEMONIC).address
#: A valid address that is no contract on the node.
UNKNOWN_CONTRACT = OTHER


class LcdNode:
    def __init__(self, url: str, info: dict[str, Any], log_path: Path) -> None:
        self.url = url
        self.info = info
        self.log_path = log_path

    @property
    def contract(self) -> str:
        return str(self.info["contract_address"])

    def query(self, msg: dict[str, Any]) -> Any:
        """The node's own answer, through the native API (what the clients must match)."""
        return httpx.post(f"{self.url}/v1/query", json=msg, timeout=10).json()

    def client_input(self, **extra: Any) -> dict[str, Any]:
        return {"url": self.url, "chain_id": CHAIN_ID, "contract": self.contract, **extra}


@contextmanager
def serving_node(tmp: Path) -> Iterator[LcdNode]:
    """``init --admin <the admin mnemonic's address>`` then ``serve``, in ``tmp``."""
    home = tmp / "home"
    port = free_port()
    cli("init", "--home", str(home), "--chain-id", CHAIN_ID, "--admin", ADMIN, "--port", str(port))
    info = json.loads(cli("info", "--home", str(home), "--json").stdout)
    assert {"contract_address", "code_hash", "chain_id", "lcd_url"} <= set(info)
    log_path = tmp / "serve.log"
    process = start_serve(["--home", str(home)], os.environ.copy(), log_path, info["lcd_url"])
    try:
        yield LcdNode(str(info["lcd_url"]), info, log_path)
    finally:
        stop(process)


@pytest.fixture(scope="module")
def lcd_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LcdNode]:
    """One node for the whole module."""
    with serving_node(tmp_path_factory.mktemp("lcd-e2e")) as node:
        yield node


# --- 1. executes through secret-sdk wallets ------------------------------------

#: What every execute script starts with: the client, the three wallets, and how to run
#: one message and wait for its block.
EXECUTE_PRELUDE = """
import time
from secret_sdk.client.lcd import LCDClient
from secret_sdk.core import Coins
from secret_sdk.exceptions import LCDResponseError
from secret_sdk.key.mnemonic import MnemonicKey

c = LCDClient(url=INPUT["url"], chain_id=INPUT["chain_id"])
contract = INPUT["contract"]
admin = c.wallet(MnemonicKey(INPUT["admin"]))
owner = c.wallet(MnemonicKey(INPUT["owner"]))
other = c.wallet(MnemonicKey(INPUT["other"]))
out = {"addresses": {"admin": admin.key.acc_address, "owner": owner.key.acc_address}}


def execute(wallet, msg):
    return wallet.execute_tx(contract, msg, transfer_amount=Coins("10000uscrt"))


def wait(txhash):
    for _ in range(400):
        try:
            return c.tx.tx_info(txhash)
        except LCDResponseError:
            time.sleep(0.05)
    raise AssertionError("tx never committed: " + txhash)


def outcome(result, info):
    data = [d.data.decode() if isinstance(d.data, bytes) else repr(d) for d in info.data]
    logs = info.logs if isinstance(info.logs, list) else getattr(info.logs, "log", None)
    return {
        "broadcast_code": result.code,
        "txhash": result.txhash,
        "info_txhash": info.txhash,
        "code": info.code,
        "height": info.height,
        "gas_wanted": info.gas_wanted,
        "rawlog": info.rawlog,
        "data": data,
        "logs": logs,
        "msg": info.tx.body.messages[0].msg,
        "sent_funds": str(info.tx.body.messages[0].sent_funds),
    }


def run(name, wallet, msg):
    result = execute(wallet, msg)
    out[name] = outcome(result, wait(result.txhash))
"""

_EXECUTE = (
    EXECUTE_PRELUDE
    + """
# the admin registers two workers back to back: the second signs with the next
# sequence, read from the node before the first one is necessarily in a block
sequence_before = c.auth.account_info(admin.key.acc_address).sequence
first = execute(admin, {"register_worker": INPUT["w1"]})
second = execute(admin, {"register_worker": INPUT["w2"]})
out["register_w1"] = outcome(first, wait(first.txhash))
out["register_w2"] = outcome(second, wait(second.txhash))
account = c.auth.account_info(admin.key.acc_address)
out["admin_account"] = {
    "sequence_before": sequence_before,
    "sequence_after": account.sequence,
    "account_number": account.account_number,
    "public_key": account.public_key.key.hex() if account.public_key else None,
}
run("register_w3", admin, {"register_worker": INPUT["w3"]})
# as the original's own register_worker script sends it: an empty report
run("register_empty_report", admin, {"register_worker": INPUT["w_empty"]})
empty_report = {"get_worker": {"ip_address": "10.9.0.4"}}
out["empty_report_worker"] = c.wasm.contract_query(contract, empty_report)
run("remove_empty_report", owner, {"remove_worker": {"ip_address": "10.9.0.4"}})
# a payment wallet whose bech32 checksum is wrong: refused in its block (not before)
run("register_bad_checksum", admin, {"register_worker": INPUT["w_bad_checksum"]})
# the payment wallet's own changes (INPUT["owner_steps"]: name -> message)
for name, msg in INPUT["owner_steps"].items():
    run(name, owner, msg)
# the owner no longer owns 10.9.0.2: included, code 3, nothing changes
get_w2 = {"get_worker": {"ip_address": "10.9.0.2"}}
before = c.wasm.contract_query(contract, get_w2)
run("not_owner", owner, {"set_worker_type": {"ip_address": "10.9.0.2", "worker_type": "stolen"}})
out["not_owner"]["before"] = before
out["not_owner"]["after"] = c.wasm.contract_query(contract, get_w2)

# ante refusals come back at once from execute_tx, and move no sequence
sequence = c.auth.account_info(admin.key.acc_address).sequence
wrong = LCDClient(url=INPUT["url"], chain_id="another-chain-7")
try:
    wrong.wallet(MnemonicKey(INPUT["admin"])).execute_tx(
        contract, {"pause": {}}, transfer_amount=Coins("10000uscrt")
    )
    out["wrong_chain"] = "accepted"
except Exception as exc:
    out["wrong_chain"] = str(exc)
out["wrong_chain_sequence"] = [sequence, c.auth.account_info(admin.key.acc_address).sequence]
emit(out)
"""
)


#: Signed by the payment wallet (OWNER), in this order, after the registrations.
OWNER_STEPS: dict[str, dict[str, Any]] = {
    "set_worker_type": {
        "set_worker_type": {"ip_address": "10.9.0.2", "worker_type": "deepseek-r1:70b"}
    },
    "set_worker_address": {
        "set_worker_address": {"old_ip_address": "10.9.0.1", "new_ip_address": "10.9.0.11"}
    },
    "set_worker_wallet": {"set_worker_wallet": {"ip_address": "10.9.0.2", "payment_wallet": OTHER}},
    "remove_worker": {"remove_worker": {"ip_address": "10.9.0.3"}},
}


@pytest.fixture(scope="module")
def executed(lcd_node: LcdNode, secret_clients: ModuleType) -> dict[str, Any]:
    worker: dict[str, Any] = {"payment_wallet": OWNER, "attestation_report": "quote"}
    return dict(
        secret_clients.run_client(
            _EXECUTE,
            input=lcd_node.client_input(
                admin=ADMIN_MNEMONIC,
                owner=OWNER_MNEMONIC,
                other=OTHER_MNEMONIC,
                w1={
                    **worker,
                    "ip_address": "10.9.0.1",
                    "worker_type": "llama3.3:70b",
                    "url": "https://w1.example",
                },
                w2={**worker, "ip_address": "10.9.0.2", "worker_type": "mistral:7b"},
                w3={**worker, "ip_address": "10.9.0.3", "worker_type": "gemma:2b"},
                w_empty={
                    **worker,
                    "ip_address": "10.9.0.4",
                    "worker_type": "gemma:2b",
                    "attestation_report": "",
                },
                w_bad_checksum={
                    **worker,
                    "ip_address": "10.9.0.5",
                    "worker_type": "gemma:2b",
                    "payment_wallet": BAD_CHECKSUM,
                },
                owner_steps=OWNER_STEPS,
            ),
            timeout=240,
        )
    )


def test_the_wallets_are_the_expected_accounts(executed: dict[str, Any]) -> None:
    assert executed["addresses"] == {"admin": ADMIN, "owner": OWNER}


@pytest.mark.parametrize("step", ["register_w1", "register_w2", "register_w3", *OWNER_STEPS])
def test_execute_tx_commits_and_tx_info_decrypts_the_answer(
    executed: dict[str, Any], step: str
) -> None:
    outcome = executed[step]
    assert outcome["broadcast_code"] == 0
    assert outcome["code"] == 0, outcome["rawlog"]
    assert outcome["info_txhash"] == outcome["txhash"]
    assert outcome["height"] >= 2
    assert outcome["gas_wanted"] == 200000
    assert outcome["rawlog"] == ""
    (answer,) = outcome["data"]
    assert isinstance(json.loads(answer), dict), answer  # decrypted contract JSON
    # the sender's client also decrypts its own message back
    assert isinstance(outcome["msg"], dict | str)
    assert "10000uscrt" in outcome["sent_funds"]


def test_register_answers_and_plain_text_events(executed: dict[str, Any]) -> None:
    outcome = executed["register_w1"]
    assert json.loads(outcome["data"][0]) == {
        "ip_address": "10.9.0.1",
        "status": "registered",
        "attestation_status": "unchecked",
    }
    assert json.loads(outcome["msg"]) == {
        "register_worker": {
            "payment_wallet": OWNER,
            "attestation_report": "quote",
            "ip_address": "10.9.0.1",
            "worker_type": "llama3.3:70b",
            "url": "https://w1.example",
        }
    }
    # LCD.md 4.5: wasm attributes arrive in plain text and pass through unchanged
    logs = outcome["logs"]
    assert {"msg": 0, "type": "wasm", "key": "action", "value": "register_worker"} in logs
    assert {"msg": 0, "type": "wasm", "key": "ip_address", "value": "10.9.0.1"} in logs


#: OWNER with its last character changed: a bech32 checksum that does not hold
BAD_CHECKSUM = OWNER[:-1] + ("q" if OWNER[-1] != "q" else "p")


def test_the_original_scripts_empty_report_registers_a_worker_not_attested(
    executed: dict[str, Any], lcd_node: LcdNode
) -> None:
    outcome = executed["register_empty_report"]
    assert outcome["code"] == 0, outcome["rawlog"]
    assert json.loads(outcome["data"][0]) == {
        "ip_address": "10.9.0.4",
        "status": "registered",
        "attestation_status": "not_attested",
    }
    worker = executed["empty_report_worker"]  # read through secret-sdk before its removal
    assert (worker["attestation_status"], worker["served"]) == ("not_attested", True)
    assert executed["remove_empty_report"]["code"] == 0


def test_a_wallet_with_a_bad_checksum_is_refused_with_the_documented_error(
    executed: dict[str, Any], lcd_node: LcdNode
) -> None:
    outcome = executed["register_bad_checksum"]
    assert outcome["broadcast_code"] == 0
    assert outcome["code"] != 0
    # word for word what docs/lcd.md shows a user of the original's scripts
    assert outcome["rawlog"] == (
        "failed to execute message; message index: 0: "
        '{"generic_err":{"msg":"invalid_address: payment_wallet: not a bech32 address '
        '(bad characters or checksum)"}}: execute contract failed'
    )
    assert "10.9.0.5" not in json.dumps(lcd_node.query({"get_workers": {}}))


def test_the_sequence_advances_at_broadcast(executed: dict[str, Any]) -> None:
    assert executed["register_w2"]["code"] == 0
    account = executed["admin_account"]
    assert account["sequence_before"] == 0
    assert account["sequence_after"] == 2
    assert account["public_key"] == (
        "03f43980979748010ea3a4b08cf5c9cc76c3d5d68e1edb6e68bbb3e5261becc99c"
    )


def test_a_strangers_change_fails_in_its_block_and_changes_nothing(
    executed: dict[str, Any], lcd_node: LcdNode
) -> None:
    outcome = executed["not_owner"]
    assert outcome["broadcast_code"] == 0
    assert outcome["code"] == 3
    assert outcome["data"] == []
    # the client decrypted the error inside the raw log, and parsed it
    match = re.fullmatch(
        r"failed to execute message; message index: 0: (\{.*\}): execute contract failed",
        outcome["rawlog"],
    )
    assert match, outcome["rawlog"]
    error = json.loads(match.group(1))
    assert error["generic_err"]["msg"].startswith(f"unauthorized: sender {OWNER} is not ")
    assert outcome["logs"] == error
    # the record is unchanged; only what the clock moves (an epoch may end between the two
    # reads) may differ
    moving = {"missed_epochs", "status", "served", "not_served_because"}
    before = {k: v for k, v in outcome["before"].items() if k not in moving}
    after = {k: v for k, v in outcome["after"].items() if k not in moving}
    assert before == after
    assert outcome["after"]["worker_type"] == "deepseek-r1:70b"
    assert lcd_node.query({"get_worker": {"ip_address": "10.9.0.2"}})["payment_wallet"] == OTHER


def test_owner_changes_landed(lcd_node: LcdNode) -> None:
    moved = lcd_node.query({"get_worker": {"ip_address": "10.9.0.11"}})
    assert (moved["payment_wallet"], moved["worker_type"]) == (OWNER, "llama3.3:70b")
    assert lcd_node.query({"get_worker": {"ip_address": "10.9.0.1"}})["code"] == (
        "worker_not_found"
    )
    assert lcd_node.query({"get_worker": {"ip_address": "10.9.0.3"}})["code"] == (
        "worker_not_found"
    )


def test_a_wrong_chain_id_is_refused_at_broadcast(executed: dict[str, Any]) -> None:
    message = executed["wrong_chain"]
    assert message.startswith("Broadcasting transaction failed with code 4 ")
    assert "signature verification failed" in message
    assert CHAIN_ID in message
    before, after = executed["wrong_chain_sequence"]
    assert before == after


def test_lookups_use_integer_codes_and_string_numbers(
    executed: dict[str, Any], lcd_node: LcdNode
) -> None:
    txhash = executed["register_w1"]["txhash"]
    found = httpx.get(f"{lcd_node.url}/cosmos/tx/v1beta1/txs/{txhash}").json()["tx_response"]
    assert isinstance(found["code"], int)
    for key in ("height", "gas_wanted", "gas_used"):
        assert isinstance(found[key], str)
        assert found[key].isdigit()
    assert re.fullmatch(r"[0-9A-F]+", found["data"])
    assert all(a["index"] is True for e in found["events"] for a in e["attributes"])


# --- 2. secret-sdk reads, errors and quirks ---------------------------------------

_READS = """
import base64
from secret_sdk.client.lcd import LCDClient
from secret_sdk.client.lcd.api import wasm as wasm_module
from secret_sdk.client.lcd.lcdclient import AsyncLCDClient
from secret_sdk.core.wasm.msgs import MsgExecuteContract
from secret_sdk.client.lcd.api.tx import CreateTxOptions
from secret_sdk.exceptions import LCDResponseError
from secret_sdk.key.key import Key
from secret_sdk.key.raw import RawKey
from secret_sdk.key.mnemonic import MnemonicKey

# watch what the client asks for (client side only; the node is untouched)
requests = []
_get = AsyncLCDClient._get


async def spy(self, endpoint, params=None, *args, **kwargs):
    requests.append({"endpoint": endpoint, "query": dict(params or {}).get("query")})
    return await _get(self, endpoint, params, *args, **kwargs)


AsyncLCDClient._get = spy
contract = INPUT["contract"]
out = {}


def error_of(call):
    try:
        call()
    except LCDResponseError as exc:
        return {"type": "LCDResponseError", "message": exc.message, "str": str(exc)}
    except Exception as exc:
        return {"type": type(exc).__name__, "message": str(exc)}
    return {"type": None}


c = LCDClient(url=INPUT["url"], chain_id=INPUT["chain_id"])
out["models"] = c.wasm.contract_query(contract, {"get_models": {}})
out["urls"] = c.wasm.contract_query(contract, {"get_u_r_ls": {}})
# '+' in the base64 query: keep asking until one carried a '+' (nonces are random)
for _ in range(60):
    if any("+" in (r["query"] or "") for r in requests):
        break
    assert c.wasm.contract_query(contract, {"get_u_r_ls": {}}) == out["urls"]
out["plus_queries"] = sum(1 for r in requests if "+" in (r["query"] or ""))

# get_workers with the subscriber's proof: signature over sha256(public key bytes)
subscriber = RawKey(bytes.fromhex(INPUT["subscriber"]))
public = subscriber.public_key.key
proof = {"signature": subscriber.sign(public).hex(), "subscriber_public_key": public.hex()}
out["workers"] = c.wasm.contract_query(contract, {"get_workers": proof})
bad = dict(proof, signature="00" * 64)
out["bad_proof"] = error_of(lambda: c.wasm.contract_query(contract, {"get_workers": bad}))
out["unknown_worker"] = error_of(
    lambda: c.wasm.contract_query(contract, {"get_worker": {"ip_address": "10.99.0.1"}})
)
out["unknown_contract"] = error_of(
    lambda: c.wasm.contract_query(INPUT["unknown_contract"], {"get_models": {}})
)

# a second client in the same process: the code hash cache is process-global
c2 = LCDClient(url=INPUT["url"], chain_id=INPUT["chain_id"])
out["models_again"] = c2.wasm.contract_query(contract, {"get_models": {}})
out["code_hash"] = c2.wasm.contract_hash(contract)
out["code_hash_requests"] = [
    r["endpoint"] for r in requests if r["endpoint"].endswith("/by_contract_address/" + contract)
]
out["queries"] = sum(1 for r in requests if r["endpoint"].startswith("/compute/v1beta1/query/"))
out["tx_key_requests"] = sum(1 for r in requests if r["endpoint"].endswith("/tx-key"))
# ... and never re-fetched: a stale entry stays wrong for the life of the process
wasm_module._contract_code_hash[INPUT["alias"]] = "ab" * 32
out["stale_hash"] = error_of(lambda: c2.wasm.contract_query(INPUT["alias"], {"get_models": {}}))

out["contract_info"] = c.wasm.contract_info(contract)
out["code_hash_by_code_id"] = c.wasm.code_hash_by_code_id(1)
account = c.auth.account_info(INPUT["admin_address"])
out["account"] = {
    "type": type(account).__name__,
    "address": account.address,
    "account_number": account.account_number,
    "sequence": account.sequence,
    "public_key": account.public_key.key.hex() if account.public_key else None,
}
fresh = c.auth.account_info(INPUT["fresh_address"])
out["fresh_account"] = {"sequence": fresh.sequence, "public_key": fresh.public_key}
out["node_info"] = c.tendermint.node_info()
coins, pagination = c.bank.balance(INPUT["admin_address"])
out["balance"] = {"coins": str(coins), "pagination": pagination}

# simulate a signed (never broadcast) tx
wallet = c.wallet(MnemonicKey(INPUT["admin_mnemonic"]))
msg = c.wasm.contract_execute_msg(wallet.key.acc_address, contract, {"pause": {}}, None)
signed = wallet.create_and_sign_tx(CreateTxOptions(msgs=[msg], gas="200000"))
out["estimate_gas"] = c.tx.estimate_gas(signed, None)
out["sequence_after_simulate"] = c.auth.account_info(INPUT["admin_address"]).sequence
emit(out)
"""


@pytest.fixture(scope="module")
def reads(
    executed: dict[str, Any], lcd_node: LcdNode, secret_clients: ModuleType
) -> dict[str, Any]:
    return dict(
        secret_clients.run_client(
            _READS,
            input=lcd_node.client_input(
                subscriber=SUBSCRIBER_KEY.secret.hex(),
                unknown_contract=UNKNOWN_CONTRACT,
                alias=SECRET_AI_SDK_DEFAULT_CONTRACT,
                admin_address=ADMIN,
                admin_mnemonic=ADMIN_MNEMONIC,
                fresh_address=key_from_mnemonic(fixed_mnemonic("fresh")).address,
            ),
            timeout=240,
        )
    )


def test_contract_query_returns_what_the_node_holds(
    reads: dict[str, Any], lcd_node: LcdNode
) -> None:
    assert reads["models"] == lcd_node.query({"get_models": {}})
    assert reads["models"] == {"models": ["deepseek-r1:70b", "llama3.3:70b"]}
    assert reads["urls"] == lcd_node.query({"get_u_r_ls": {}})
    assert reads["models_again"] == reads["models"]


def test_plus_in_the_query_string(reads: dict[str, Any]) -> None:
    assert reads["plus_queries"] >= 1


def test_get_workers_with_a_subscriber_proof(reads: dict[str, Any], lcd_node: LcdNode) -> None:
    ips = [w["ip_address"] for w in reads["workers"]["workers"]]
    assert ips == ["10.9.0.11", "10.9.0.2"]
    assert reads["workers"]["workers"][0]["url"] == "https://w1.example"


def test_a_bad_proof_is_a_readable_lcd_error(reads: dict[str, Any]) -> None:
    error = reads["bad_proof"]
    assert error["type"] == "LCDResponseError"
    decrypted = json.loads(error["message"])  # the contract's error JSON, decrypted
    assert decrypted["generic_err"]["msg"].startswith("invalid_signature: ")
    assert error["str"].startswith("Status 401 - {")


def test_error_bodies_survive_the_repr_reparse(reads: dict[str, Any]) -> None:
    unknown_worker = reads["unknown_worker"]
    assert unknown_worker["type"] == "LCDResponseError"
    assert json.loads(unknown_worker["message"]) == {
        "generic_err": {"msg": "worker_not_found: no worker is registered at 10.99.0.1"}
    }
    # errors that are not the contract's come through as they are, not as a JSONDecodeError
    unknown = reads["unknown_contract"]
    assert unknown["type"] == "LCDResponseError"
    assert unknown["str"].startswith("Status 404 - ")
    assert f"contract {UNKNOWN_CONTRACT} not found" in unknown["message"]


def test_the_code_hash_cache_is_process_global(reads: dict[str, Any], lcd_node: LcdNode) -> None:
    assert reads["code_hash"] == lcd_node.info["code_hash"]
    # two clients, many queries: the code hash was fetched once, the key once per client
    assert reads["queries"] >= 5
    assert reads["code_hash_requests"] == [
        f"/compute/v1beta1/code_hash/by_contract_address/{lcd_node.contract}"
    ]
    assert reads["tx_key_requests"] == 4
    stale = reads["stale_hash"]
    assert stale["type"] == "LCDResponseError"
    assert stale["str"].startswith("Status 400 - ")
    assert "code_hash_mismatch" in stale["message"]


def test_contract_info_account_info_and_node_info(reads: dict[str, Any], lcd_node: LcdNode) -> None:
    info = reads["contract_info"]
    assert info["contract_address"] == lcd_node.contract
    assert info["contract_info"]["creator"] == ADMIN
    assert info["contract_info"]["code_id"] == "1"
    assert reads["code_hash_by_code_id"] == {"code_hash": lcd_node.info["code_hash"]}
    account = reads["account"]
    assert account["type"] == "BaseAccount"
    assert account["address"] == ADMIN
    # five registrations (one of them refused in its block); the tx refused at broadcast
    # used none
    assert account["sequence"] == 5
    assert account["public_key"] is not None
    assert reads["fresh_account"] == {"sequence": 0, "public_key": None}
    assert reads["node_info"]["default_node_info"]["network"] == CHAIN_ID
    assert reads["node_info"]["application_version"]["name"] == "worker-manager"
    assert reads["balance"] == {"coins": "", "pagination": {"next_key": None, "total": "0"}}


def test_estimate_gas_simulates_without_queueing(reads: dict[str, Any]) -> None:
    assert reads["estimate_gas"] > 60_000
    assert reads["sequence_after_simulate"] == reads["account"]["sequence"]


# --- 3. secret-ai-sdk --------------------------------------------------------------

_DISCOVERY = """
import os
from secret_ai_sdk.secret import Secret

for name in ("SECRET_NODE_URL", "SECRET_CHAIN_ID", "SECRET_WORKER_SMART_CONTRACT"):
    os.environ.pop(name, None)
out = {}

os.environ.update(
    SECRET_NODE_URL=INPUT["url"],
    SECRET_CHAIN_ID=INPUT["chain_id"],
    SECRET_WORKER_SMART_CONTRACT=INPUT["contract"],
)
s = Secret()
out["configured"] = {
    "models": s.get_models(),
    "urls": s.get_urls(),
    "urls_llama": s.get_urls(model="llama3.3:70b"),
    "urls_none": s.get_urls(model="no-such-model"),
}

# only SECRET_NODE_URL: the default chain id and the default contract address
del os.environ["SECRET_CHAIN_ID"], os.environ["SECRET_WORKER_SMART_CONTRACT"]
d = Secret()
out["defaults"] = {
    "chain_id": d.chain_id,
    "contract": d.smart_contract,
    "models": d.get_models(),
    "urls": d.get_urls(model="deepseek-r1:70b"),
}

# an address the node does not run: retried, then given up
os.environ["SECRET_WORKER_SMART_CONTRACT"] = INPUT["unknown_contract"]
try:
    Secret().get_models()
    out["unknown"] = None
except Exception as exc:
    out["unknown"] = {
        "type": type(exc).__name__,
        "message": str(exc),
        "last": str(getattr(exc, "original_error", "")),
    }
emit(out)
"""


@pytest.fixture(scope="module")
def discovery(
    executed: dict[str, Any], lcd_node: LcdNode, secret_clients: ModuleType
) -> dict[str, Any]:
    return dict(
        secret_clients.run_client(
            _DISCOVERY,
            input=lcd_node.client_input(unknown_contract=UNKNOWN_CONTRACT),
            env={"SECRET_AI_RETRY_DELAY": "0.01", "SECRET_AI_MAX_RETRY_DELAY": "0.05"},
            timeout=240,
        )
    )


def test_secret_with_the_nodes_coordinates(discovery: dict[str, Any], lcd_node: LcdNode) -> None:
    configured = discovery["configured"]
    assert configured["models"] == lcd_node.query({"get_models": {}})["models"]
    assert configured["urls"] == lcd_node.query({"get_u_r_ls": {}})["urls"]
    assert configured["urls_llama"] == ["https://w1.example"]
    assert (
        configured["urls_llama"]
        == (lcd_node.query({"get_u_r_ls": {"model": "llama3.3:70b"}})["urls"])
    )
    assert configured["urls_none"] == []


def test_secret_with_only_the_node_url(discovery: dict[str, Any], lcd_node: LcdNode) -> None:
    defaults = discovery["defaults"]
    assert defaults["chain_id"] == "secret-4"  # not the node's: queries do not care
    assert defaults["contract"] == SECRET_AI_SDK_DEFAULT_CONTRACT
    assert defaults["models"] == ["deepseek-r1:70b", "llama3.3:70b"]
    assert (
        defaults["urls"] == (lcd_node.query({"get_u_r_ls": {"model": "deepseek-r1:70b"}})["urls"])
    )


def test_secret_gives_up_on_an_unknown_contract(discovery: dict[str, Any]) -> None:
    unknown = discovery["unknown"]
    assert unknown is not None
    assert unknown["type"] == "SecretAIRetryExhaustedError"
    assert unknown["message"].endswith("Network error: All 4 retry attempts failed")
    assert "Status 404 - " in unknown["last"]
    assert f"contract {UNKNOWN_CONTRACT} not found" in unknown["last"]
