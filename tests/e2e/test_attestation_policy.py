"""The attestation policy on a real node: set by the admin through the CLI, a worker
whose quote cannot be verified today is kept but not served (mark mode), and
re-verification records each verdict."""

import json
import os
from pathlib import Path

from tests.conftest import ADMIN_KEY, OWNER
from tests.e2e.conftest import RunningNode, cli
from worker_manager.attestation.quote import parse_quote
from worker_manager.client import Client

DATA = Path(__file__).resolve().parents[1] / "data" / "attestation"


def test_policy_mark_mode_and_reverify(running_node: RunningNode, tmp_path: Path) -> None:
    raw = (DATA / "dcap-qvl" / "tdx_quote").read_bytes()
    quote = parse_quote(raw)
    policy = {
        "worker_types": {
            "m": {
                "measurements": [
                    {
                        "label": "a",
                        "mrtd": quote.mrtd,
                        "rtmr0": quote.rtmr0,
                        "rtmr1": quote.rtmr1,
                        "rtmr2": quote.rtmr2,
                        "rtmr3": quote.rtmr3,
                    }
                ]
            }
        },
        "binding": "none",
        "require_fresh_challenge": False,
        "registration_mode": "mark",
    }
    (tmp_path / "policy.json").write_text(json.dumps(policy))
    env = {
        **os.environ,
        "WM_HOME": str(tmp_path / "client"),
        "WM_KEYRING_PASSPHRASE": "pw",
        "WM_NODE": running_node.url,
    }
    # the admin's key into a keyring: the fixture's admin is a raw test key
    from worker_manager.keys.keyring import Keyring

    Keyring(tmp_path / "client" / "keyring", scrypt_n=2**14).add(
        "admin", ADMIN_KEY, passphrase="pw"
    )
    cli("attestation", "policy", "set", str(tmp_path / "policy.json"), "--from", "admin", env=env)
    shown = json.loads(cli("attestation", "policy", "show", env=env).stdout)
    assert shown["policy"]["registration_mode"] == "mark"
    with Client(running_node.url, key=ADMIN_KEY) as admin:
        result = admin.register_worker("10.8.0.1", OWNER, raw.hex(), "m")
        assert result.data["attestation_status"] == "unverified"  # its collateral expired
        worker = admin.worker("10.8.0.1")
        assert worker.served is False
        assert worker.not_served_because == ["attestation_unverified"]
        assert admin.urls(model="m") == []
    out = cli("attestation", "reverify", "--from", "admin", "-o", "json", env=env).stdout
    assert json.loads(out) == {"verified": 1, "statuses": {"unverified": 1}}
    bad = cli(
        "attestation",
        "policy",
        "set",
        str(tmp_path / "missing.json"),
        "--from",
        "admin",
        env=env,
        check=False,
    )
    assert bad.returncode == 2
