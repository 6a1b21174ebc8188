"""Who may send what, through SIGNED transactions: every execute message x every kind of sender.

The two tables below are the rules at a glance (docs/messages.md says who may send
each message; docs/transactions.md what runs while the contract is paused). Each cell
sends one real secp256k1-signed tx through ``node.broadcast`` (ante checks, then a
block) from the same prepared chain, and checks the exact outcome: accepted (code 0,
and the change is visible), or refused with the exact error code and nothing changed.

The prepared chain (built once, with signed txs, then copied for every cell):

- worker ``10.0.0.1`` with a worker key (WORKER_KEY), registered by the admin for the
  *former owner*, who then handed it to the *owner* (``set_worker_wallet``);
- worker ``10.0.0.2`` without a worker key, the same history;
- an open admin proposal to the *pending admin*; one listed subscriber.
"""

import json
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import (
    ADMIN_KEY,
    API,
    CHAIN_ID,
    GENESIS_NS,
    NEW_ADMIN_KEY,
    OTHER_KEY,
    OWNER_KEY,
    SUBSCRIBER_KEY,
    WORKER_KEY,
    key,
    make_node,
    register_msg,
    snapshot,
)
from worker_manager.client import make_permit
from worker_manager.contract.error import PermitRevoked
from worker_manager.contract.liveliness import liveliness_sign_bytes, work_sign_bytes
from worker_manager.contract.msg import ALLOWED_WHILE_PAUSED, EXECUTE_MESSAGES
from worker_manager.keys import PrivateKey
from worker_manager.node import AnteError, FixedClock, Node
from worker_manager.node.deliver import account_number_for
from worker_manager.node.pending import TxOutcome
from worker_manager.store import Store
from worker_manager.tx import build_execute_tx

FORMER_OWNER_KEY = key("former-owner")
NEW_WALLET = key("new-wallet").address
NEXT_ADMIN = key("next-admin").address
SECOND_SUBSCRIBER = key("subscriber-2").public_key.hex()

KEYED = "10.0.0.1"  # has a worker key (WORKER_KEY)
KEYLESS = "10.0.0.2"  # has none: only its owner answers for it

#: The kinds of sender, in the tables' column order, and their keys.
SENDERS: dict[str, PrivateKey] = {
    "admin": ADMIN_KEY,
    "owner": OWNER_KEY,
    "stranger": OTHER_KEY,
    "former-owner": FORMER_OWNER_KEY,
    "pending-admin": NEW_ADMIN_KEY,
    "worker-key": WORKER_KEY,
}

OK = "accepted"
DENY = "unauthorized"
NOSIG = "invalid_signature"
PAUSED = "paused"

Row = tuple[str, str, str, str, str, str]

# fmt: off
#: Who may send what while the contract runs. A row is a message; report_liveliness
#: and report_work come in three rows: for the worker without a worker key, for the
#: worker with one (no ``signature`` in the message: only a tx the worker key signs
#: itself is taken, as for set_worker_attestation), and for that worker carrying its
#: worker key's signature (any sender may carry it).
#:                                         admin   owner   stranger former pending worker-key
MATRIX: dict[str, Row] = {
    "register_worker":                    (OK,     DENY,   DENY,    DENY,  DENY,   DENY),
    "set_worker_wallet":                  (DENY,   OK,     DENY,    DENY,  DENY,   DENY),
    "set_worker_address":                 (DENY,   OK,     DENY,    DENY,  DENY,   DENY),
    "set_worker_type":                    (DENY,   OK,     DENY,    DENY,  DENY,   DENY),
    "set_worker_url":                     (DENY,   OK,     DENY,    DENY,  DENY,   DENY),
    "remove_worker":                      (OK,     OK,     DENY,    DENY,  DENY,   DENY),
    "set_worker_paused":                  (DENY,   OK,     DENY,    DENY,  DENY,   DENY),
    "set_worker_attestation":             (DENY,   OK,     DENY,    DENY,  DENY,   OK),
    "report_liveliness":                  (DENY,   OK,     DENY,    DENY,  DENY,   DENY),
    "report_liveliness-keyed-worker":     (NOSIG,  NOSIG,  NOSIG,   NOSIG, NOSIG,  OK),
    "report_liveliness-keyed-worker-signed": (OK,  OK,     OK,      OK,    OK,     OK),
    "report_work":                        (DENY,   OK,     DENY,    DENY,  DENY,   DENY),
    "report_work-keyed-worker":           (NOSIG,  NOSIG,  NOSIG,   NOSIG, NOSIG,  OK),
    "report_work-keyed-worker-signed":    (OK,     OK,     OK,      OK,    OK,     OK),
    "propose_admin":                      (OK,     DENY,   DENY,    DENY,  DENY,   DENY),
    "accept_admin":                       (DENY,   DENY,   DENY,    DENY,  OK,     DENY),
    "cancel_admin_proposal":              (OK,     DENY,   DENY,    DENY,  DENY,   DENY),
    "add_subscriber":                     (OK,     DENY,   DENY,    DENY,  DENY,   DENY),
    "remove_subscriber":                  (OK,     DENY,   DENY,    DENY,  DENY,   DENY),
    "set_config":                         (OK,     DENY,   DENY,    DENY,  DENY,   DENY),
    "set_attestation_policy":             (OK,     DENY,   DENY,    DENY,  DENY,   DENY),
    "reverify_workers":                   (OK,     DENY,   DENY,    DENY,  DENY,   DENY),
    "pause":                              (OK,     DENY,   DENY,    DENY,  DENY,   DENY),
    "unpause":                            (OK,     DENY,   DENY,    DENY,  DENY,   DENY),
    "revoke_permit":                      (OK,     OK,     OK,      OK,    OK,     OK),
}

#: The same while the admin has paused the contract: the admin's messages and
#: liveliness answers still run (a pause must not make every worker stale); any
#: other message is refused with ``paused``, whoever sends it.
#:                                         admin   owner   stranger former pending worker-key
PAUSED_MATRIX: dict[str, Row] = {
    "register_worker":                    (PAUSED, PAUSED, PAUSED,  PAUSED, PAUSED, PAUSED),
    "set_worker_wallet":                  (PAUSED, PAUSED, PAUSED,  PAUSED, PAUSED, PAUSED),
    "set_worker_address":                 (PAUSED, PAUSED, PAUSED,  PAUSED, PAUSED, PAUSED),
    "set_worker_type":                    (PAUSED, PAUSED, PAUSED,  PAUSED, PAUSED, PAUSED),
    "set_worker_url":                     (PAUSED, PAUSED, PAUSED,  PAUSED, PAUSED, PAUSED),
    "remove_worker":                      (PAUSED, PAUSED, PAUSED,  PAUSED, PAUSED, PAUSED),
    "set_worker_paused":                  (PAUSED, PAUSED, PAUSED,  PAUSED, PAUSED, PAUSED),
    "set_worker_attestation":             (PAUSED, PAUSED, PAUSED,  PAUSED, PAUSED, PAUSED),
    "report_liveliness":                  (DENY,   OK,     DENY,    DENY,  DENY,   DENY),
    "report_liveliness-keyed-worker":     (NOSIG,  NOSIG,  NOSIG,   NOSIG, NOSIG,  OK),
    "report_liveliness-keyed-worker-signed": (OK,  OK,     OK,      OK,    OK,     OK),
    "report_work":                        (PAUSED, PAUSED, PAUSED,  PAUSED, PAUSED, PAUSED),
    "report_work-keyed-worker":           (PAUSED, PAUSED, PAUSED,  PAUSED, PAUSED, PAUSED),
    "report_work-keyed-worker-signed":    (PAUSED, PAUSED, PAUSED,  PAUSED, PAUSED, PAUSED),
    "propose_admin":                      (OK,     DENY,   DENY,    DENY,  DENY,   DENY),
    "accept_admin":                       (DENY,   DENY,   DENY,    DENY,  OK,     DENY),
    "cancel_admin_proposal":              (OK,     DENY,   DENY,    DENY,  DENY,   DENY),
    "add_subscriber":                     (OK,     DENY,   DENY,    DENY,  DENY,   DENY),
    "remove_subscriber":                  (OK,     DENY,   DENY,    DENY,  DENY,   DENY),
    "set_config":                         (OK,     DENY,   DENY,    DENY,  DENY,   DENY),
    "set_attestation_policy":             (OK,     DENY,   DENY,    DENY,  DENY,   DENY),
    "reverify_workers":                   (OK,     DENY,   DENY,    DENY,  DENY,   DENY),
    "pause":                              (OK,     DENY,   DENY,    DENY,  DENY,   DENY),
    "unpause":                            (OK,     DENY,   DENY,    DENY,  DENY,   DENY),
    "revoke_permit":                      (OK,     OK,     OK,      OK,    OK,     OK),
}
# fmt: on


# --- sending ---------------------------------------------------------------


def signed(node: Node, sender: PrivateKey, msg: dict[str, Any]) -> bytes:
    """A real signed TxRaw from ``sender`` at its next sequence."""
    return build_execute_tx(
        sender,
        node.identity.contract_address,
        json.dumps(msg).encode(),
        chain_id=CHAIN_ID,
        account_number=account_number_for(sender.address),
        sequence=node.get_account(sender.address).sequence,
        with_hint=True,
    )


def send(node: Node, sender: PrivateKey, msg: dict[str, Any]) -> TxOutcome:
    """Broadcast and wait for the block; an ante refusal raises AnteError."""
    return node.broadcast(signed(node, sender, msg)).future.result(timeout=30)


def broadcast(node: Node, tx: bytes) -> AnteError | TxOutcome:
    """The ante's refusal, or the tx's result in its block."""
    try:
        pending = node.broadcast(tx)
    except AnteError as err:
        return err
    return pending.future.result(timeout=30)


def query(node: Node, msg: dict[str, Any]) -> Any:
    return json.loads(node.query(json.dumps(msg).encode()))


def worker(node: Node, ip: str) -> dict[str, Any]:
    found: dict[str, Any] = query(node, {"get_worker": {"ip_address": ip}})
    return found


def config(node: Node) -> dict[str, Any]:
    found: dict[str, Any] = query(node, {"get_config": {}})
    return found


def subscribers(node: Node) -> list[str]:
    return [s["public_key"] for s in query(node, {"get_subscribers": {}})["subscribers"]]


def worker_addresses(node: Node) -> list[str]:
    found: list[str] = query(node, {"get_worker_addresses": {}})["addresses"]
    return found


# --- the messages ----------------------------------------------------------


def challenge(node: Node) -> str:
    found: str = query(node, {"get_liveliness_challenge": {}})["challenge"]
    return found


def liveliness(node: Node, ip: str, *, signed_by_worker_key: bool) -> dict[str, Any]:
    body: dict[str, Any] = {"ip_address": ip, "challenge": challenge(node), "load": 50}
    if signed_by_worker_key:
        sign_bytes = liveliness_sign_bytes(
            chain_id=CHAIN_ID,
            contract=node.identity.contract_address,
            ip_address=ip,
            challenge=body["challenge"],
            load=50,
        )
        body["signature"] = WORKER_KEY.sign(sign_bytes).hex()
    return {"report_liveliness": body}


def last_period(node: Node) -> int:
    """The period that ended last: finished, and well inside the report window."""
    period_s = config(node)["work_period_seconds"]
    return int(node.clock.now_ns() // 1_000_000_000 // period_s) - 1


USAGE = [
    {
        "subscriber": SUBSCRIBER_KEY.public_key.hex(),
        "requests": 3,
        "input_tokens": 100,
        "output_tokens": 50,
    }
]


def work(node: Node, ip: str, *, signed_by_worker_key: bool) -> dict[str, Any]:
    body: dict[str, Any] = {"ip_address": ip, "period": last_period(node), "usage": USAGE}
    if signed_by_worker_key:
        sign_bytes = work_sign_bytes(
            chain_id=CHAIN_ID,
            contract=node.identity.contract_address,
            ip_address=ip,
            period=body["period"],
            usage=list(USAGE),
        )
        body["signature"] = WORKER_KEY.sign(sign_bytes).hex()
    return {"report_work": body}


def seen(node: Node, ip: str) -> bool:
    found = worker(node, ip)
    epoch = query(node, {"get_liveliness_challenge": {}})["epoch"]
    return bool(found["last_seen_epoch"] == epoch and found["load"] == 50)


def reported(node: Node, ip: str) -> bool:
    reports = query(node, {"get_work_reports": {"ip_address": ip}})["reports"]
    return [(r["period"], r["usage"]) for r in reports] == [(last_period(node), USAGE)]


def permit_revoked(node: Node, account: str) -> bool:
    """Whether ``account``'s permit named ``matrix`` is refused as revoked (and only its)."""
    refused = set()
    for signer in SENDERS.values():
        permit = make_permit(signer, "matrix", [node.identity.contract_address], CHAIN_ID)
        try:
            query(node, {"with_permit": {"permit": permit, "query": {"get_workers": {}}}})
        except PermitRevoked:
            refused.add(signer.address)
    return refused == {account}


@dataclass(frozen=True)
class Case:
    """A row: how to build the message, and whether an accepted one made its change
    (given the node and the tx's answer)."""

    build: Callable[[Node], dict[str, Any]]
    changed: Callable[[Node, Any], bool]


CASES: dict[str, Case] = {
    "register_worker": Case(
        lambda _n: register_msg("10.0.0.9"),
        lambda n, _a: worker(n, "10.0.0.9")["payment_wallet"] == OWNER_KEY.address,
    ),
    "set_worker_wallet": Case(
        lambda _n: {"set_worker_wallet": {"ip_address": KEYED, "payment_wallet": NEW_WALLET}},
        lambda n, _a: worker(n, KEYED)["payment_wallet"] == NEW_WALLET,
    ),
    "set_worker_address": Case(
        lambda _n: {"set_worker_address": {"old_ip_address": KEYED, "new_ip_address": "10.0.0.3"}},
        lambda n, _a: worker_addresses(n) == [KEYLESS, "10.0.0.3"],
    ),
    "set_worker_type": Case(
        lambda _n: {
            "set_worker_type": {"ip_address": KEYED, "worker_type": "meta-llama/Llama-3.1-8B"}
        },
        lambda n, _a: worker(n, KEYED)["worker_type"] == "meta-llama/Llama-3.1-8B",
    ),
    "set_worker_url": Case(
        lambda _n: {"set_worker_url": {"ip_address": KEYED, "url": "https://gpu.example.com/v1"}},
        lambda n, _a: worker(n, KEYED)["url"] == "https://gpu.example.com/v1",
    ),
    "remove_worker": Case(
        lambda _n: {"remove_worker": {"ip_address": KEYED}},
        lambda n, _a: worker_addresses(n) == [KEYLESS],
    ),
    "set_worker_paused": Case(
        lambda _n: {"set_worker_paused": {"ip_address": KEYED, "paused": True}},
        lambda n, _a: worker(n, KEYED)["paused"] is True,
    ),
    "set_worker_attestation": Case(
        lambda _n: {
            "set_worker_attestation": {"ip_address": KEYED, "attestation_report": "quote:fresh"}
        },
        lambda n, _a: worker(n, KEYED)["attestation_report"] == "quote:fresh",
    ),
    "report_liveliness": Case(
        lambda n: liveliness(n, KEYLESS, signed_by_worker_key=False),
        lambda n, _a: seen(n, KEYLESS),
    ),
    "report_liveliness-keyed-worker": Case(
        lambda n: liveliness(n, KEYED, signed_by_worker_key=False),
        lambda n, _a: seen(n, KEYED),
    ),
    "report_liveliness-keyed-worker-signed": Case(
        lambda n: liveliness(n, KEYED, signed_by_worker_key=True),
        lambda n, _a: seen(n, KEYED),
    ),
    "report_work": Case(
        lambda n: work(n, KEYLESS, signed_by_worker_key=False),
        lambda n, _a: reported(n, KEYLESS),
    ),
    "report_work-keyed-worker": Case(
        lambda n: work(n, KEYED, signed_by_worker_key=False),
        lambda n, _a: reported(n, KEYED),
    ),
    "report_work-keyed-worker-signed": Case(
        lambda n: work(n, KEYED, signed_by_worker_key=True),
        lambda n, _a: reported(n, KEYED),
    ),
    "propose_admin": Case(
        lambda _n: {"propose_admin": {"new_admin": NEXT_ADMIN}},
        lambda n, _a: config(n)["pending_admin"] == NEXT_ADMIN,
    ),
    "accept_admin": Case(
        lambda _n: {"accept_admin": {}},
        lambda n, _a: (
            (config(n)["admin"], config(n)["pending_admin"]) == (NEW_ADMIN_KEY.address, None)
        ),
    ),
    "cancel_admin_proposal": Case(
        lambda _n: {"cancel_admin_proposal": {}},
        lambda n, _a: config(n)["pending_admin"] is None,
    ),
    "add_subscriber": Case(
        lambda _n: {"add_subscriber": {"public_key": SECOND_SUBSCRIBER}},
        lambda n, _a: SECOND_SUBSCRIBER in subscribers(n),
    ),
    "remove_subscriber": Case(
        lambda _n: {"remove_subscriber": {"public_key": SUBSCRIBER_KEY.public_key.hex()}},
        lambda n, _a: subscribers(n) == [],
    ),
    "set_config": Case(
        lambda _n: {"set_config": {"registration_mode": "open"}},
        lambda n, _a: config(n)["registration_mode"] == "open",
    ),
    "set_attestation_policy": Case(
        lambda _n: {"set_attestation_policy": {"policy": {"registration_mode": "mark"}}},
        lambda n, _a: (
            query(n, {"get_attestation_policy": {}})["policy"]["registration_mode"] == "mark"
        ),
    ),
    "reverify_workers": Case(
        lambda _n: {"reverify_workers": {"ip_addresses": [KEYED]}},
        lambda _n, answer: answer == {"verified": 1, "statuses": {"unchecked": 1}},
    ),
    "pause": Case(
        lambda _n: {"pause": {}},
        lambda n, answer: answer == {"paused": True} and config(n)["paused"] is True,
    ),
    "unpause": Case(
        lambda _n: {"unpause": {}},
        lambda n, answer: answer == {"paused": False} and config(n)["paused"] is False,
    ),
    "revoke_permit": Case(
        lambda _n: {"revoke_permit": {"permit_name": "matrix"}},
        lambda n, answer: permit_revoked(n, answer["account"]),
    ),
}


def message_of(label: str) -> str:
    """The execute message a row sends (``report_work-keyed-worker`` sends ``report_work``)."""
    return label.partition("-")[0]


# --- the prepared chain ----------------------------------------------------


def _prepare(path: Path, *, paused: bool) -> None:
    store = Store(f"sqlite:///{path}")
    store.migrate()
    clock = FixedClock(GENESIS_NS)
    Node.genesis(store, chain_id=CHAIN_ID, admin=ADMIN_KEY.address, clock=clock, api=API)
    node = make_node(store, clock)
    steps: list[tuple[PrivateKey, dict[str, Any]]] = [
        (
            ADMIN_KEY,
            register_msg(
                KEYED,
                payment_wallet=FORMER_OWNER_KEY.address,
                worker_public_key=WORKER_KEY.public_key.hex(),
            ),
        ),
        (ADMIN_KEY, register_msg(KEYLESS, payment_wallet=FORMER_OWNER_KEY.address)),
        *(
            (
                FORMER_OWNER_KEY,
                {"set_worker_wallet": {"ip_address": ip, "payment_wallet": OWNER_KEY.address}},
            )
            for ip in (KEYED, KEYLESS)
        ),
        (ADMIN_KEY, {"propose_admin": {"new_admin": NEW_ADMIN_KEY.address}}),
        (ADMIN_KEY, {"add_subscriber": {"public_key": SUBSCRIBER_KEY.public_key.hex()}}),
    ]
    if paused:
        steps.append((ADMIN_KEY, {"pause": {}}))
    try:
        for sender, msg in steps:
            result = send(node, sender, msg)
            assert result.ok, (msg, result.log)
    finally:
        node.close()
        store.close()


@pytest.fixture(scope="module")
def templates(tmp_path_factory: pytest.TempPathFactory) -> dict[bool, Path]:
    """The prepared chain, running and paused, built once for the module."""
    folder = tmp_path_factory.mktemp("authorization-templates")
    made = {paused: folder / f"prepared-paused-{paused}.db" for paused in (False, True)}
    for paused, path in made.items():
        _prepare(path, paused=paused)
    return made


@contextmanager
def prepared(template: Path, path: Path) -> Iterator[tuple[Node, Store]]:
    """A node on a fresh copy of ``template`` (SQLite's backup API copies it whole)."""
    source, target = sqlite3.connect(template), sqlite3.connect(path)
    try:
        source.backup(target)
    finally:
        source.close()
        target.close()
    store = Store(f"sqlite:///{path}")
    node = make_node(store, FixedClock(GENESIS_NS))
    try:
        yield node, store
    finally:
        node.close()
        store.close()


# --- the checks ------------------------------------------------------------


def _cells(table: dict[str, Row]) -> list[Any]:
    return [
        pytest.param(
            label,
            sender,
            expected,
            id=f"{label}-by-{sender}-" + ("accepted" if expected == OK else f"refused-{expected}"),
        )
        for label, row in table.items()
        for sender, expected in zip(SENDERS, row, strict=True)
    ]


def check_cell(node: Node, store: Store, label: str, sender: str, expected: str) -> None:
    signer = SENDERS[sender]
    case = CASES[label]
    msg = case.build(node)
    assert list(msg) == [message_of(label)], "the row sends another message than it names"
    before = snapshot(store)
    before_everything = snapshot(store, everything=True)
    sequence = node.get_account(signer.address).sequence
    height = node.height
    outcome = broadcast(node, signed(node, signer, msg))
    if isinstance(outcome, AnteError):
        # Only ``paused`` may be refused before the block (docs/transactions.md); the
        # contract's own refusals are included in a block, as on a chain.
        assert (outcome.error, expected) == (PAUSED, PAUSED), (
            f"refused at the ante with {outcome.error!r} ({outcome.log}); expected {expected!r}"
        )
        assert outcome.codespace == "worker-manager"
        assert snapshot(store, everything=True) == before_everything, "an ante refusal changed"
        assert node.height == height
        assert node.get_account(signer.address).sequence == sequence
        return
    result = outcome
    assert node.get_account(signer.address).sequence == sequence + 1
    assert node.height == height + 1
    if expected == OK:
        assert result.ok, f"refused with {result.error!r} ({result.log}); expected acceptance"
        answer = json.loads(result.data) if result.data else None
        assert case.changed(node, answer), f"{label} was accepted but made no change: {answer}"
        return
    assert (result.code, result.codespace, result.error) == (3, "compute", expected), (
        f"got code {result.code} {result.error!r} ({result.log}); expected {expected!r}"
    )
    assert snapshot(store) == before, "a refused message changed the contract's state"


@pytest.mark.parametrize(("label", "sender", "expected"), _cells(MATRIX))
def test_who_may_send_what(
    templates: dict[bool, Path], tmp_path: Path, label: str, sender: str, expected: str
) -> None:
    with prepared(templates[False], tmp_path / "cell.db") as (node, store):
        check_cell(node, store, label, sender, expected)


@pytest.mark.parametrize(("label", "sender", "expected"), _cells(PAUSED_MATRIX))
def test_who_may_send_what_while_paused(
    templates: dict[bool, Path], tmp_path: Path, label: str, sender: str, expected: str
) -> None:
    with prepared(templates[True], tmp_path / "cell.db") as (node, store):
        assert config(node)["paused"] is True
        check_cell(node, store, label, sender, expected)


def test_the_tables_cover_every_execute_message_and_sender() -> None:
    for table in (MATRIX, PAUSED_MATRIX):
        assert {message_of(label) for label in table} == set(EXECUTE_MESSAGES)
        assert set(table) == set(CASES)
    assert list(MATRIX) == list(PAUSED_MATRIX)


def test_what_runs_while_paused_is_what_the_contract_says() -> None:
    """The paused table is the running one where the contract lets a message run
    while paused, and all ``paused`` elsewhere: the tables restate no other rule."""
    allowed = {name for name, cls in EXECUTE_MESSAGES.items() if cls in ALLOWED_WHILE_PAUSED}
    assert "report_liveliness" in allowed  # docs/messages.md: taken even while paused
    for label, row in PAUSED_MATRIX.items():
        if message_of(label) in allowed:
            assert row == MATRIX[label], label
        else:
            assert row == (PAUSED,) * len(SENDERS), label
