"""The read paths a network serves thousands of times a second, on one node with
``workers`` workers: ``GET /v1/urls``, ``POST /v1/query`` and the Secret-encrypted
``get_u_r_ls`` (``/compute/v1beta1/query``, the path ``secret-ai-sdk`` takes).

Subscribers cycle through 1,000 keys, so the node serves many buckets' ready
answers; encrypted queries come from 64 client keys (a client keeps its x25519
key for its session), each with a new nonce.
"""

import base64
import json
import tempfile
from pathlib import Path
from typing import Any

import httpx

from bench import _references
from bench._harness import BenchNode, bench_node, rss_mb
from bench._population import populate
from worker_manager.keys import PrivateKey
from worker_manager.secret.encryption import X25519KeyPair, seal_envelope

SUBSCRIBERS = 1000
CLIENT_KEYS = 64
MODEL = "model-3"


def subscriber(i: int) -> str:
    return f"02{i % SUBSCRIBERS:064x}"


def _write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n")
    return path


def _sealed_paths(node: BenchNode, count: int) -> list[str]:
    """``count`` encrypted ``get_u_r_ls`` requests, as secret-sdk sends them."""
    contract = str(node.info["contract_address"])
    node_key = base64.b64decode(httpx.get(f"{node.url}/registration/v1beta1/tx-key").json()["key"])
    code_hash = str(node.info["code_hash"])
    clients = [X25519KeyPair(bytes([k + 1]) * 32) for k in range(CLIENT_KEYS)]
    paths = []
    for i in range(count):
        msg = json.dumps({"get_u_r_ls": {"model": MODEL, "subscriber": subscriber(i)}}).encode()
        envelope, _ = seal_envelope(clients[i % CLIENT_KEYS], node_key, code_hash, msg)
        quoted = base64.b64encode(envelope).decode().replace("+", "%2B").replace("=", "%3D")
        paths.append(f"/compute/v1beta1/query/{contract}?query={quoted}")
    return paths


def read_paths(
    workers: int, seconds: float, connections: int, *, rounds: int = 3
) -> tuple[dict[str, Any], dict[str, Any]]:
    """req/s and latency of the three read paths, each beside a bare Starlette app
    answering the same requests with as many bytes (measured in turns)."""
    admin = PrivateKey(b"\x02" * 32).address
    runs: dict[str, Any] = {}
    references: dict[str, Any] = {}
    loads: dict[str, tuple[str, ...]] = {}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        prepare = lambda home: populate(home, workers, models=10, with_keys=False)  # noqa: E731
        with bench_node(admin, prepare=prepare) as node:
            gets = [
                f"/v1/urls?model={MODEL}&subscriber={subscriber(i)}" for i in range(SUBSCRIBERS)
            ]
            bodies = [
                json.dumps({"get_u_r_ls": {"model": MODEL, "subscriber": subscriber(i)}})
                for i in range(SUBSCRIBERS)
            ]
            sealed = _sealed_paths(node, max(SUBSCRIBERS, int(seconds * 4000)))
            loads = {
                "urls_get": (str(_write_lines(tmp / "gets.txt", gets)), "GET"),
                "query_post": (str(_write_lines(tmp / "bodies.txt", bodies)), "POST", "/v1/query"),
                "query_encrypted": (str(_write_lines(tmp / "sealed.txt", sealed)), "GET"),
            }
            sizes = {
                "urls_get": len(httpx.get(node.url + gets[0]).content),
                "query_post": len(httpx.post(f"{node.url}/v1/query", content=bodies[0]).content),
                "query_encrypted": len(httpx.get(node.url + sealed[0]).content),
            }
            urls_per_answer = len(httpx.get(node.url + gets[0]).json()["urls"])
            for name, args in loads.items():
                run, references[f"bare_{name}"] = _references.side_by_side(
                    node.url, sizes[name], seconds, connections, rounds=rounds, args=args
                )
                runs[name] = {**run, "answer_bytes": sizes[name]}
            rss = rss_mb(node.process.pid)
    return {
        "workers": workers,
        "urls_per_answer": urls_per_answer,
        "node_rss_mb": round(rss, 1),
        **runs,
    }, references
