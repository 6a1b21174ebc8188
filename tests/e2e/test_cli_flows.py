"""A real node process driven through the command line with real keys: every message,
the ante refusals, the authorization refusals, and ``query tx``."""

import base64
import json
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from mnemonic import Mnemonic

from tests.e2e.conftest import RunningNode, cli, free_port, start_serve, stop
from worker_manager.client import Client
from worker_manager.keys.mnemonic import key_from_mnemonic
from worker_manager.node.deliver import account_number_for
from worker_manager.tx import build_execute_tx


def words(seed: int) -> str:
    return str(Mnemonic("english").to_mnemonic(bytes([seed]) * 32))


ADMIN_WORDS, OWNER_WORDS, OTHER_WORDS = words(1), words(2), words(3)
ADMIN = key_from_mnemonic(ADMIN_WORDS)
OWNER = key_from_mnemonic(OWNER_WORDS)
OTHER = key_from_mnemonic(OTHER_WORDS)


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningNode]:
    tmp = tmp_path_factory.mktemp("cli-flows")
    home = tmp / "home"
    env = {**os.environ, "WM_KEYRING_PASSPHRASE": "correct horse", "WM_HOME": str(home)}
    cli(
        "init",
        "--chain-id",
        "wm-cli-e2e",
        "--admin",
        ADMIN.address,
        "--port",
        str(free_port()),
        env=env,
    )
    for name, phrase in (("admin", ADMIN_WORDS), ("owner", OWNER_WORDS), ("other", OTHER_WORDS)):
        cli("keys", "recover", name, env=env, input_text=phrase + "\n")
    info = json.loads(cli("info", "--json", env=env).stdout)
    url = str(info["lcd_url"])
    process = start_serve([], env, tmp / "serve.log", url)
    env["WM_NODE"] = url
    try:
        yield RunningNode(home, url, process, {**info, "env": env}, tmp / "serve.log")
    finally:
        stop(process)


def run(node: RunningNode, *args: str, check: bool = True):  # type: ignore[no-untyped-def]
    env = node.info["env"]
    assert isinstance(env, dict)
    return cli(*args, env=env, check=check)


def tx_json(node: RunningNode, *args: str) -> dict[str, object]:
    result = run(node, "tx", *args, "--output", "json")
    data: dict[str, object] = json.loads(result.stdout)
    return data


def test_keys_match_their_mnemonics_and_list_without_a_passphrase(node: RunningNode) -> None:
    listed = json.loads(run(node, "keys", "list", "--output", "json").stdout)
    assert {k["name"]: k["address"] for k in listed} == {
        "admin": ADMIN.address,
        "owner": OWNER.address,
        "other": OTHER.address,
    }
    assert run(node, "keys", "show", "owner", "--address").stdout.strip() == OWNER.address


def test_every_message_through_the_cli(node: RunningNode) -> None:
    register = tx_json(
        node,
        "register-worker",
        "10.1.0.1",
        "--wallet",
        OWNER.address,
        "--type",
        "llama3.3:70b",
        "--report",
        "quote-1",
        "--from",
        "admin",
    )
    assert register["code"] == 0
    assert register["data"] == {
        "ip_address": "10.1.0.1",
        "status": "registered",
        "attestation_status": "unchecked",
    }
    tx_json(node, "set-worker-type", "10.1.0.1", "mistral", "--from", "owner")
    tx_json(node, "set-worker-url", "10.1.0.1", "https://w.example:21434", "--from", "owner")
    tx_json(node, "set-worker-address", "10.1.0.1", "10.1.0.2", "--from", "owner")
    tx_json(node, "set-worker-wallet", "10.1.0.2", OTHER.address, "--from", "owner")
    worker = json.loads(run(node, "query", "worker", "10.1.0.2", "--output", "json").stdout)
    assert (worker["payment_wallet"], worker["worker_type"], worker["url"]) == (
        OTHER.address,
        "mistral",
        "https://w.example:21434",
    )
    assert json.loads(run(node, "query", "models", "-o", "json").stdout) == {"models": ["mistral"]}
    urls = json.loads(run(node, "query", "urls", "--model", "mistral", "-o", "json").stdout)
    assert urls == {"urls": ["https://w.example:21434"]}
    found = json.loads(run(node, "query", "endpoints", "--model", "mistral", "-o", "json").stdout)
    (endpoint,) = found["endpoints"]
    assert (endpoint["url"], endpoint["ip_address"]) == ("https://w.example:21434", "10.1.0.2")
    assert (endpoint["tls_binding"], endpoint["spki_sha256"], endpoint["evidence"]) == (
        None,
        None,
        None,  # no policy: no verdict binds a certificate, nothing to pin
    )
    table = run(node, "query", "endpoints", "--model", "mistral").stdout
    assert "https://w.example:21434" in table
    assert "unchecked" in table
    tx_json(node, "add-subscriber", OWNER.public_key.hex(), "--from", "admin")
    page = json.loads(run(node, "query", "workers", "--subscriber", "owner", "-o", "json").stdout)
    assert [w["ip_address"] for w in page["workers"]] == ["10.1.0.2"]
    tx_json(node, "remove-subscriber", OWNER.public_key.hex(), "--from", "admin")
    tx_json(node, "set-config", "--url-template", "https://{host}:21434", "--from", "admin")
    tx_json(node, "set-config", "--work-period-seconds", "600", "--grace-epochs", "3",
            "--offline-after-epochs", "9", "--work-report-window-periods", "4",
            "--from", "admin")  # fmt: skip
    config = json.loads(run(node, "query", "config", "-o", "json").stdout)
    assert (config["work_period_seconds"], config["grace_epochs"]) == (600, 3)
    assert (config["offline_after_epochs"], config["work_report_window_periods"]) == (9, 4)
    tx_json(node, "pause", "--from", "admin")
    tx_json(node, "unpause", "--from", "admin")
    tx_json(node, "remove-worker", "10.1.0.2", "--from", "other")
    tx_json(
        node,
        "execute",
        json.dumps({"propose_admin": {"new_admin": OWNER.address}}),
        "--from",
        "admin",
    )
    tx_json(node, "cancel-admin-proposal", "--from", "admin")
    tx_json(node, "propose-admin", OWNER.address, "--from", "admin")
    tx_json(node, "accept-admin", "--from", "owner")
    config = json.loads(run(node, "query", "config", "-o", "json").stdout)
    assert config["admin"] == OWNER.address
    tx_json(node, "propose-admin", ADMIN.address, "--from", "owner")
    tx_json(node, "accept-admin", "--from", "admin")
    shown = json.loads(run(node, "query", "tx", str(register["txhash"]), "-o", "json").stdout)
    assert shown["sender"] == ADMIN.address
    assert shown["messages"][0]["msg"]["register_worker"]["ip_address"] == "10.1.0.1"
    assert shown["code"] == 0
    table = run(node, "query", "tx", str(register["txhash"])).stdout
    assert str(register["txhash"]) in table


def test_authorization_refusals_exit_1_and_say_why(node: RunningNode) -> None:
    tx_json(
        node,
        "register-worker",
        "10.2.0.1",
        "--wallet",
        OWNER.address,
        "--type",
        "m",
        "--report",
        "q",
        "--from",
        "admin",
    )
    for args in (
        [
            "register-worker",
            "10.2.0.2",
            "--wallet",
            OWNER.address,
            "--type",
            "m",
            "--report",
            "q",
            "--from",
            "other",
        ],
        ["set-worker-type", "10.2.0.1", "x", "--from", "other"],
        ["remove-worker", "10.2.0.1", "--from", "other"],
        ["pause", "--from", "owner"],
    ):
        result = run(node, "tx", *args, "--output", "json", check=False)
        assert result.returncode == 1, result.stderr
        error = json.loads(result.stdout)["error"]
        assert error["code"] == "unauthorized"
        assert error["txhash"]
        assert "refused (unauthorized)" in result.stderr
        shown = json.loads(run(node, "query", "tx", error["txhash"], "-o", "json").stdout)
        assert (shown["code"], shown["error"]) == (3, "unauthorized")
    worker = json.loads(run(node, "query", "worker", "10.2.0.1", "-o", "json").stdout)
    assert worker["worker_type"] == "m"


def _post(node: RunningNode, tx: bytes) -> httpx.Response:
    body = {"tx_bytes": base64.b64encode(tx).decode(), "mode": "commit"}
    return httpx.post(f"{node.url}/v1/txs", json=body, timeout=30)


def test_a_replayed_tx_and_a_tx_for_another_chain_are_refused(node: RunningNode) -> None:
    account = json.loads(run(node, "query", "account", OTHER.address, "-o", "json").stdout)
    msg = json.dumps({"set_worker_type": {"ip_address": "10.9.9.9", "worker_type": "z"}}).encode()
    tx = build_execute_tx(
        OTHER,
        str(node.info["contract_address"]),
        msg,
        chain_id="wm-cli-e2e",
        account_number=account_number_for(OTHER.address),
        sequence=account["sequence"],
        with_hint=True,
    )
    assert _post(node, tx).json()["error"] == "worker_not_found"  # included, refused by contract
    replayed = _post(node, tx)
    assert (replayed.status_code, replayed.json()["code"]) == (409, "wrong_sequence")
    other_chain = build_execute_tx(
        OTHER,
        str(node.info["contract_address"]),
        msg,
        chain_id="secret-4",
        account_number=account_number_for(OTHER.address),
        sequence=account["sequence"] + 1,
        with_hint=True,
    )
    refused = _post(node, other_chain)
    assert (refused.status_code, refused.json()["code"]) == (401, "wrong_chain_id")
    after = json.loads(run(node, "query", "account", OTHER.address, "-o", "json").stdout)
    assert after["sequence"] == account["sequence"] + 1


def test_usage_errors_exit_2(node: RunningNode) -> None:
    result = run(
        node,
        "tx",
        "register-worker",
        "10.3.0.1",
        "--wallet",
        OWNER.address,
        "--type",
        "m",
        "--from",
        "admin",
        check=False,
    )
    assert result.returncode == 2
    assert "exactly one of --report or --report-file" in result.stderr
    assert run(node, "tx", "pause", "--from", "nobody", check=False).returncode == 1


def test_an_unreachable_node_is_refused_clearly(node: RunningNode) -> None:
    result = run(node, "query", "models", "--node", "http://127.0.0.1:9", check=False)
    assert result.returncode == 1
    assert "cannot reach" in result.stderr


def test_verify_replays_the_log(node: RunningNode, tmp_path: Path) -> None:
    result = run(node, "verify", "--json")
    report = json.loads(result.stdout)
    assert report["ok"] is True
    assert report["txs"] > 20


def _bad_checksum(address: str) -> str:
    return address[:-1] + ("q" if address[-1] != "q" else "p")


BAD_WALLET = _bad_checksum(OWNER.address)


@pytest.mark.parametrize(
    ("args", "names"),
    [
        (
            [
                "tx",
                "register-worker",
                "10.4.0.1",
                "--wallet",
                BAD_WALLET,
                "--type",
                "m",
                "--report",
                "q",
            ],
            "--wallet",
        ),
        (["tx", "set-worker-wallet", "10.4.0.1", BAD_WALLET], "PAYMENT_WALLET"),
        (["tx", "propose-admin", BAD_WALLET], "NEW_ADMIN"),
        (["tx", "remove-worker", "10.4.0.1.."], "IP_ADDRESS"),
        (["tx", "set-worker-address", "10.4.0.1", "10.4.0.300"], "NEW_IP_ADDRESS"),
        (["tx", "set-worker-type", "10.4.0.1", "bad type"], "WORKER_TYPE"),
        (["tx", "set-worker-url", "10.4.0.1", "ftp://w.example"], "URL"),
        (["attestation", "reverify", "--worker", "http://10.4.0.1"], "--worker"),
    ],
    ids=lambda v: v if isinstance(v, str) else v[1],
)
def test_a_bad_address_is_refused_before_the_key_is_even_unlocked(
    node: RunningNode, args: list[str], names: str
) -> None:
    """No passphrase is set here: had the key been loaded first, that would be the error."""
    env = node.info["env"]
    assert isinstance(env, dict)
    with Client(node.url) as client:
        before = client.account(ADMIN.address).sequence
    locked = {k: v for k, v in env.items() if k != "WM_KEYRING_PASSPHRASE"}
    result = cli(*args, "--from", "admin", env=locked, check=False)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(f"error: {names}")
    assert "passphrase" not in result.stderr
    assert "Traceback" not in result.stderr
    with Client(node.url) as client:
        assert client.account(ADMIN.address).sequence == before  # nothing signed or sent


def test_permits_through_the_cli(node: RunningNode) -> None:
    """query workers --permit-name signs a SNIP-24 permit with --subscriber's key; tx
    revoke-permit revokes it; bad names stop before the key is loaded."""
    tx_json(node, "register-worker", "10.5.0.1", "--wallet", OWNER.address, "--type", "m",
            "--report", "q", "--from", "admin")  # fmt: skip
    ask = ("query", "workers", "--subscriber", "other", "--permit-name", "cli laptop")
    page = json.loads(run(node, *ask, "-o", "json").stdout)
    assert "10.5.0.1" in [w["ip_address"] for w in page["workers"]]
    revoked = tx_json(node, "revoke-permit", "cli laptop", "--from", "other")
    assert revoked["data"] == {
        "account": OTHER.address,
        "already_revoked": False,
        "permit_name": "cli laptop",
    }
    result = run(node, *ask, "-o", "json", check=False)
    assert result.returncode == 1, result.stderr
    assert json.loads(result.stdout)["error"]["code"] == "permit_revoked"
    # the same name signed by another key is still good
    page = json.loads(run(node, *ask[:2], "--subscriber", "owner", *ask[4:], "-o", "json").stdout)
    assert "10.5.0.1" in [w["ip_address"] for w in page["workers"]]
    env = node.info["env"]
    assert isinstance(env, dict)
    locked = {k: v for k, v in env.items() if k != "WM_KEYRING_PASSPHRASE"}
    for args, names in (
        (["tx", "revoke-permit", "", "--from", "other"], "permit name"),
        (["tx", "revoke-permit", "n" * 257, "--from", "other"], "permit name"),
        (["query", "workers", "--subscriber", "other", "--permit-name", ""], "--permit-name"),
        (
            [
                "query",
                "workers",
                *("--signature", "00", "--subscriber-public-key", "02"),
                *("--permit-name", "x"),
            ],
            "--permit-name needs --subscriber",
        ),
    ):
        result = cli(*args, env=locked, check=False)
        assert result.returncode == 2, result.stderr
        assert result.stderr.startswith(f"error: {names}"), result.stderr
        assert "Traceback" not in result.stderr


def test_report_data_commits_to_the_nodes_chain_challenge_key_wallet_and_certificate(
    node: RunningNode, tmp_path: Path
) -> None:
    """``attestation report-data``: what a worker's TD must put in its quote, recomputed
    here from the fields it names; with a certificate, the v2 form binding its key."""
    from tests.client.servers import self_signed
    from worker_manager.attestation import WorkerKeyBinding, expected_report_data

    chain_id = str(node.info["chain_id"])
    worker_key = OTHER.public_key.hex()
    plain = json.loads(
        run(
            node, "attestation", "report-data", "--wallet", OWNER.address,
            "--worker-key", worker_key, "-o", "json",
        ).stdout
    )  # fmt: skip
    binding = WorkerKeyBinding(
        chain_id=chain_id,
        worker_pubkey=bytes.fromhex(worker_key),
        payment_wallet=OWNER.address,
        challenge=bytes.fromhex(plain["challenge"]),
    )
    assert plain["binding"] == "worker_key"
    assert plain["report_data"] == expected_report_data(binding, gpu=False).hex()
    now = httpx.get(f"{node.url}/v1/liveliness/challenge").json()
    assert now["epoch"] > plain["epoch"] or now["challenge"] == plain["challenge"]

    tls = self_signed(tmp_path, "worker")
    bound = json.loads(
        run(
            node, "attestation", "report-data", "--wallet", OWNER.address,
            "--worker-key", "other", "--certificate", str(tls.certfile), "--gpu", "-o", "json",
        ).stdout
    )  # fmt: skip
    with_tls = WorkerKeyBinding(
        chain_id=chain_id,
        worker_pubkey=bytes.fromhex(worker_key),  # "other" names the same key in the keyring
        payment_wallet=OWNER.address,
        challenge=bytes.fromhex(bound["challenge"]),
        tls_spki_sha256=bytes.fromhex(tls.spki_sha256),
    )
    assert bound["binding"] == "worker_key:tls"
    assert bound["report_data"] == expected_report_data(with_tls, gpu=True).hex()
    text = run(
        node, "attestation", "report-data", "--wallet", OWNER.address, "--worker-key", worker_key
    ).stdout
    assert len(text.strip()) == 128

    for bad in (
        ["--worker-key", "no-such-key"],
        ["--worker-key", worker_key, "--certificate", str(tls.certfile),
         "--certificate-from-url", "https://127.0.0.1:1"],
        ["--worker-key", worker_key, "--certificate", str(tmp_path / "missing.pem")],
    ):  # fmt: skip
        refused = run(
            node, "attestation", "report-data", "--wallet", OWNER.address, *bad, check=False
        )
        assert refused.returncode == 2, refused.stderr
