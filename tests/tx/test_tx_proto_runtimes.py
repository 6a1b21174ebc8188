"""The committed gencode works on every protobuf runtime ``protobuf>=5.27`` allows.

``scripts/gen_proto.py`` stamps the gencode as 5.27.0 (see its docstring); this
runs the real codec (build, decode, verify, JSON, TxMsgData) under protobuf 5.27.0,
the last 5.x, the first and the last 6.x, each in a cached virtualenv, and checks
the bytes equal those made here under the installed runtime (7.x).
"""

import importlib.metadata
import json
from pathlib import Path

import pytest

from worker_manager.keys import PrivateKey
from worker_manager.tx import (
    TxCoin,
    build_execute_tx,
    decode_tx,
    encode_tx_msg_data,
    tx_to_json,
)

pytestmark = pytest.mark.slow

SRC = Path(__file__).resolve().parents[2] / "src"
RUNTIMES = ["5.27.0", "5.29.6", "6.30.2", "6.33.6"]

_SNIPPET = """
import json, warnings
warnings.simplefilter("always")
with warnings.catch_warnings(record=True) as caught:
    from google.protobuf import __version__ as runtime
    from worker_manager.keys import PrivateKey
    from worker_manager.tx import (
        TxCoin, build_execute_tx, decode_tx, encode_tx_msg_data, tx_to_json, verify_tx_signature,
    )
key = PrivateKey(bytes.fromhex(INPUT["key"]))
tx_bytes = build_execute_tx(
    key, INPUT["contract"], b"envelope", chain_id="secret-4", account_number=7, sequence=3,
    sent_funds=[TxCoin("uscrt", 10)], memo="m",
)
decoded = decode_tx(bytes.fromhex(INPUT["tx"]))
errors = []
for bad in [b"\\xff\\xff", bytes.fromhex(INPUT["tx"]) + b"\\x20\\x01"]:
    try:
        decode_tx(bad)
    except Exception as exc:
        errors.append([type(exc).__name__, exc.code])
emit({
    "runtime": runtime,
    "tx": tx_bytes.hex(),
    "verified": verify_tx_signature(decoded, "secret-4", 7),
    "json": tx_to_json(decoded),
    "msg_data": encode_tx_msg_data([b"a", b"b"]).hex(),
    "errors": errors,
    "warnings": [str(w.message) for w in caught],
})
"""


def _requirements(runtime: str) -> tuple[str, ...]:
    pins = [f"{name}=={importlib.metadata.version(name)}" for name in ("coincurve", "bech32")]
    return (f"protobuf=={runtime}", *pins, "cryptography>=43")


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_gencode_runs_on_runtime(test_venvs, runtime: str) -> None:
    env_dir = test_venvs.cached_venv(
        _requirements(runtime),
        label=f"protobuf-{runtime}",
        import_check="import google.protobuf, coincurve, bech32",
    )
    key = PrivateKey(bytes.fromhex("11" * 32))
    contract = PrivateKey(bytes.fromhex("22" * 32)).address
    ours = build_execute_tx(
        key,
        contract,
        b"envelope",
        chain_id="secret-4",
        account_number=7,
        sequence=3,
        sent_funds=[TxCoin("uscrt", 10)],
        memo="m",
    )
    result = test_venvs.run_python(
        env_dir / "bin" / "python",
        _SNIPPET,
        input={"key": key.secret.hex(), "contract": contract, "tx": ours.hex()},
        env={"PYTHONPATH": str(SRC)},
    )
    assert result["runtime"] == runtime
    assert result["tx"] == ours.hex()
    assert result["verified"] is True
    assert result["json"] == json.loads(json.dumps(tx_to_json(decode_tx(ours))))
    assert result["msg_data"] == encode_tx_msg_data([b"a", b"b"]).hex()
    assert result["errors"] == [["TxDecodeError", 2], ["TxDecodeError", 2]]
    if runtime.startswith("6.3") and runtime < "6.33":
        # Early 6.x runtimes warn (never fail) that 5.x gencode is one major version older.
        assert result["warnings"]
        assert all("one major version older" in w for w in result["warnings"])
    else:
        assert result["warnings"] == []
