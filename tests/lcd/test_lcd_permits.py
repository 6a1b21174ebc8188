"""SNIP-24 permits over the LCD with Secret's encryption: an encrypted ``with_permit``
query, an encrypted ``revoke_permit`` tx, and the unmodified secret-sdk asking with a
permit through ``wasm.contract_query``."""

import json
import re
from types import ModuleType
from typing import Any

import httpx
import pytest

from tests.conftest import ADMIN, CHAIN_ID, OTHER_KEY, SUBSCRIBER_KEY, register_msg
from tests.helpers import ex, q
from tests.lcd.conftest import Lcd
from worker_manager.client import make_permit
from worker_manager.keys import PrivateKey
from worker_manager.secret.encryption import decrypt_error, decrypt_query_result


def with_permit(lcd: Lcd, key: PrivateKey = SUBSCRIBER_KEY, **where: Any) -> dict[str, Any]:
    permit = make_permit(
        key,
        where.get("name", "laptop"),
        [lcd.contract],
        where.get("chain_id", CHAIN_ID),
    )
    return {"with_permit": {"permit": permit, "query": {"get_workers": {}}}}


def encrypted_refusal(lcd: Lcd, msg: dict[str, Any]) -> tuple[int, str]:
    """The status and the decrypted contract error of an encrypted query it refuses."""
    envelope, ctx = lcd.seal(msg)
    r = httpx.get(lcd.query_url(envelope))
    found = re.fullmatch(r"encrypted: (.+?): query contract failed", r.json()["message"])
    assert found, r.text
    return r.status_code, json.loads(decrypt_error(ctx, found.group(1)))["generic_err"]["msg"]


def test_an_encrypted_permit_query_and_an_encrypted_revocation(lcd: Lcd) -> None:
    ex(lcd.node, ADMIN, register_msg("10.0.0.1"))
    msg = with_permit(lcd)
    envelope, ctx = lcd.seal(msg)
    r = httpx.get(lcd.query_url(envelope))
    assert r.status_code == 200, r.text
    assert json.loads(decrypt_query_result(ctx, r.json()["data"])) == q(lcd.node, msg)
    status, error = encrypted_refusal(lcd, with_permit(lcd, chain_id="secret-4"))
    assert (status, error.split(":")[0]) == (403, "permit_refused")
    # the subscriber revokes it in an encrypted execute, as Secret's wallets send one
    revoke, _ = lcd.seal({"revoke_permit": {"permit_name": "laptop"}})
    answer = lcd.broadcast(lcd.signed_tx(SUBSCRIBER_KEY, [revoke]))
    assert answer["code"] == 0, answer
    lcd.wait_tx(answer["txhash"])
    status, error = encrypted_refusal(lcd, msg)
    assert status == 403
    assert error.startswith(
        f"permit_revoked: permit 'laptop' was revoked by its signer {SUBSCRIBER_KEY.address}"
    )


_SECRET_SDK_QUERIES = """
from secret_sdk.client.lcd import LCDClient
from secret_sdk.exceptions import LCDResponseError

c = LCDClient(url=INPUT["url"], chain_id=INPUT["chain_id"])
out = {"workers": c.wasm.contract_query(INPUT["contract"], INPUT["good"])}
try:
    c.wasm.contract_query(INPUT["contract"], INPUT["other_chain"])
except LCDResponseError as exc:
    out["refused"] = exc.message
emit(out)
"""


@pytest.mark.slow
def test_secret_sdk_asks_with_a_permit(lcd: Lcd, base_url: str, secret_clients: ModuleType) -> None:
    ex(lcd.node, ADMIN, register_msg("10.0.0.1"))
    good = with_permit(lcd, OTHER_KEY)
    out = secret_clients.run_client(
        _SECRET_SDK_QUERIES,
        input={
            "url": base_url,
            "chain_id": CHAIN_ID,
            "contract": lcd.contract,
            "good": good,
            "other_chain": with_permit(lcd, OTHER_KEY, chain_id="pulsar-3"),
        },
        timeout=240,
    )
    assert out["workers"] == q(lcd.node, good)
    assert [w["ip_address"] for w in out["workers"]["workers"]] == ["10.0.0.1"]
    refused = json.loads(out["refused"])["generic_err"]["msg"]
    assert refused.startswith("permit_refused: the permit is for chain 'pulsar-3'")
