"""The node's cost to derive one Secret message key (X25519 + HKDF), for a client it has
seen before (its shared secret kept) and for a new client key each time.

Run: ``python bench/bench_envelope_key.py``. Every encrypted query of ``secret-ai-sdk``
pays this once on the way in (the answer is sealed with the same key).
"""

import json
import os
import time

from worker_manager.secret.encryption import X25519KeyPair, envelope_key

ROUNDS = 20_000


def per_call_us(node: X25519KeyPair, envelopes: list[bytes]) -> float:
    started = time.perf_counter()
    for envelope in envelopes:
        envelope_key(node, envelope)
    return (time.perf_counter() - started) / len(envelopes) * 1e6


def main() -> None:
    node = X25519KeyPair.generate()
    client = X25519KeyPair.generate()
    same = [os.urandom(32) + client.public_key + os.urandom(64) for _ in range(ROUNDS)]
    new = [
        os.urandom(32) + X25519KeyPair.generate().public_key + os.urandom(64) for _ in range(ROUNDS)
    ]
    per_call_us(node, same[:1000])  # warm up
    print(
        json.dumps(
            {
                "benchmark": "envelope_key: X25519 (kept per client key) + HKDF per message",
                "known_client_us": round(per_call_us(node, same), 1),
                "new_client_us": round(per_call_us(node, new), 1),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
