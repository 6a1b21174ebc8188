"""The ante checks: what a signed tx must pass before it may wait for a block.

Each refusal is an :class:`AnteError` with a stable ``error`` name, the Cosmos
``code``/``codespace`` a chain would answer with, and a ``log`` that says what
to fix. A refused tx changes nothing: no sequence moves, nothing is queued.
Signatures are checked here, outside any database transaction.
"""

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from worker_manager.contract import Coin, ContractError
from worker_manager.contract.json_text import load_json
from worker_manager.contract.msg import parse_loaded_execute, runs_while_paused
from worker_manager.node.deliver import account_number_for
from worker_manager.node.identity import ChainIdentity
from worker_manager.node.pending import ContractCall, PendingTx
from worker_manager.secret.encryption import EnvelopeError
from worker_manager.tx import DecodedTx, TxDecodeError, decode_tx, verify_tx_signature

#: Cosmos SDK codes (codespace ``sdk``) used for ante refusals.
CODE_UNAUTHORIZED = 4
CODE_UNKNOWN_REQUEST = 6
CODE_INVALID_ADDRESS = 7
CODE_MEMPOOL_FULL = 20
CODE_INVALID_CHAIN_ID = 28
CODE_TX_TIMEOUT_HEIGHT = 30
CODE_WRONG_SEQUENCE = 32
#: Our own codespace, for refusals a Cosmos chain has no code for.
OWN_CODESPACE = "worker-manager"
CODE_PAUSED = 2
CODE_WRONG_ACCOUNT_NUMBER = 3

#: Stable names for Cosmos decode codes.
_DECODE_ERRORS = {
    2: "tx_decode",
    4: "unauthorized",
    7: "invalid_address",
    8: "invalid_pubkey",
    10: "invalid_coins",
    12: "memo_too_large",
    15: "no_signatures",
    18: "invalid_request",
    21: "tx_too_large",
    31: "unknown_extension_options",
}


#: Every ``error`` an ante refusal can carry (docs/errors.md lists each).
ANTE_ERRORS = (
    *_DECODE_ERRORS.values(),
    "invalid_message",
    "invalid_unicode",
    "unknown_message",
    "unknown_contract",
    "tx_timeout",
    "wrong_sequence",
    "bad_signature",
    "wrong_chain_id",
    "wrong_account_number",
    "paused",
    "mempool_full",
)


class AnteError(Exception):
    """A signed tx was refused before it reached a block."""

    def __init__(self, error: str, code: int, log: str, codespace: str = "sdk") -> None:
        super().__init__(log)
        self.error = error
        self.code = code
        self.codespace = codespace
        self.log = log


class CheckState:
    """Each account's next sequence as the ante checks see it.

    It moves as soon as a tx is accepted, before its block commits, so a client's
    next tx can follow at once. Every stored account is loaded at start, so a tx
    never waits on the database here: an address not in the map is a new account
    (sequence 0). When a claimed sequence disagrees, :meth:`refresh` reads the
    store once before refusing (another node sharing the database may have moved
    it); deliver checks the stored sequence again in any case.
    """

    def __init__(self, load: Callable[[str], int], preload: dict[str, int]) -> None:
        self._load = load
        self._next: dict[str, int] = dict(preload)
        self._stale: set[str] = set()
        self._lock = threading.Lock()

    def next_sequence(self, address: str) -> int:
        with self._lock:
            if address in self._stale:
                self._stale.discard(address)
                self._next[address] = self._load(address)
            return self._next.get(address, 0)

    def refresh(self, address: str) -> int:
        """Re-read ``address``'s sequence from the store (max with what is in flight)."""
        stored = self._load(address)
        with self._lock:
            current = (
                max(stored, self._next.get(address, 0)) if address not in self._stale else stored
            )
            self._stale.discard(address)
            self._next[address] = current
            return current

    def reserve(self, address: str, sequence: int) -> bool:
        """Take ``sequence`` for ``address`` if it is the next one (atomically).

        An account marked stale since its tx was checked (a block another node wrote,
        heard in between) is read again here, not refused: the tx may be the very
        next one, and deliver checks the stored sequence once more in any case."""
        with self._lock:
            if address in self._stale:
                self._stale.discard(address)
                self._next[address] = self._load(address)
            if self._next.get(address, 0) != sequence:
                return False
            self._next[address] = sequence + 1
            return True

    def forget(self, addresses: list[str]) -> None:
        """Reload these accounts from the store next time (after a failed block)."""
        with self._lock:
            self._stale.update(addresses)


Decrypt = Callable[[bytes], tuple[bytes, Any]]


@dataclass(frozen=True)
class AnteContext:
    """What the ante checks need of the node, fixed when the node is built."""

    identity: ChainIdentity
    check_state: CheckState
    is_paused: Callable[[], bool]
    current_height: Callable[[], int]
    max_tx_bytes: int
    decrypt: Decrypt | None = None
    #: Other addresses clients may use for this node's contract (see
    #: :data:`worker_manager.secret.aliases.CONTRACT_ALIASES`); executes sent to them
    #: run on the one contract.
    contract_aliases: frozenset[str] = frozenset()

    def is_our_contract(self, address: str) -> bool:
        """Whether ``address`` names this node's contract (its own address or an alias)."""
        return address == self.identity.contract_address or address in self.contract_aliases


def _refusal(index: int, err: ContractError) -> AnteError:
    """An ante refusal for a contract message the contract would not even parse."""
    name = err.code if err.code in ("invalid_unicode", "unknown_message") else "invalid_message"
    return AnteError(name, CODE_UNKNOWN_REQUEST, f"message {index}: {err.message}: unknown request")


def _message_json(ctx: AnteContext, index: int, raw: bytes) -> Any:
    """The message's JSON, checked (:func:`load_json`): plaintext as our own clients
    send it, or (with the LCD's decryptor) the encrypted envelope Secret's clients send."""
    try:
        return load_json(raw)
    except ContractError as plain_error:
        if ctx.decrypt is None:
            raise _refusal(index, plain_error) from plain_error
        first_error = plain_error
    try:
        plaintext, _key = ctx.decrypt(raw)
    except EnvelopeError as exc:
        if raw.lstrip()[:1] == b"{":  # meant as plaintext JSON: say what is wrong with it
            raise _refusal(index, first_error) from first_error
        raise AnteError(
            "invalid_message",
            CODE_UNKNOWN_REQUEST,
            f"cannot open the encrypted contract message ({exc.kind}): {exc}: unknown request",
        ) from exc
    try:
        return load_json(plaintext)
    except ContractError as exc:
        raise _refusal(index, exc) from exc


def _calls(ctx: AnteContext, decoded: DecodedTx) -> tuple[ContractCall, ...]:
    calls = []
    for index, message in enumerate(decoded.messages):
        if not ctx.is_our_contract(message.contract):
            raise AnteError(
                "unknown_contract",
                CODE_INVALID_ADDRESS,
                f"message {index} is for contract {message.contract}; this node runs "
                f"{ctx.identity.contract_address}: invalid address",
            )
        msg_json = _message_json(ctx, index, message.msg)
        try:
            parsed = parse_loaded_execute(msg_json)
        except ContractError as exc:
            raise _refusal(index, exc) from exc
        funds = tuple(Coin(denom=c.denom, amount=str(c.amount)) for c in message.sent_funds)
        calls.append(ContractCall(msg=parsed, msg_json=msg_json, funds=funds))
    return tuple(calls)


def _signature_error(ctx: AnteContext, decoded: DecodedTx, account_number: int) -> AnteError:
    hint = decoded.signer_hint
    if hint is not None:
        if hint.chain_id != ctx.identity.chain_id:
            return AnteError(
                "wrong_chain_id",
                CODE_INVALID_CHAIN_ID,
                f"tx was signed for chain {hint.chain_id}, this node runs "
                f"{ctx.identity.chain_id}: invalid chain-id",
            )
        if hint.account_number != account_number:
            return AnteError(
                "wrong_account_number",
                CODE_WRONG_ACCOUNT_NUMBER,
                f"tx was signed for account number {hint.account_number}, the account of "
                f"{decoded.sender} is {account_number}",
                OWN_CODESPACE,
            )
    return AnteError(
        "bad_signature",
        CODE_UNAUTHORIZED,
        f"signature verification failed; please verify account number ({account_number}) "
        f"and chain-id ({ctx.identity.chain_id}): unauthorized",
    )


def reserve_sequence(check_state: CheckState, tx: PendingTx) -> None:
    """Take ``tx``'s sequence for its signer, or refuse it (another tx took it meanwhile).

    The last ante check, made at the moment the tx joins the queue for a block, so
    a signer's txs queue in sequence order."""
    if tx.kind != "signed" or tx.sequence is None:
        return
    if not check_state.reserve(tx.sender, tx.sequence):
        raise AnteError(
            "wrong_sequence",
            CODE_WRONG_SEQUENCE,
            f"account sequence mismatch, expected {check_state.next_sequence(tx.sender)}, "
            f"got {tx.sequence}: incorrect account sequence",
        )


def check_tx(ctx: AnteContext, tx_bytes: bytes) -> PendingTx:
    """Run every ante check on ``tx_bytes`` but the sequence reservation
    (:func:`reserve_sequence`, made when the tx queues); return it for a block."""
    try:
        decoded = decode_tx(tx_bytes, max_tx_bytes=ctx.max_tx_bytes)
    except TxDecodeError as exc:
        raise AnteError(_DECODE_ERRORS.get(exc.code, "tx_decode"), exc.code, exc.raw_log) from exc
    if decoded.timeout_height and decoded.timeout_height <= ctx.current_height():
        raise AnteError(
            "tx_timeout",
            CODE_TX_TIMEOUT_HEIGHT,
            f"block height {ctx.current_height() + 1} is past the tx's timeout height "
            f"{decoded.timeout_height}: tx timeout height",
        )
    calls = _calls(ctx, decoded)
    sender = decoded.sender
    account_number = account_number_for(sender)
    expected = ctx.check_state.next_sequence(sender)
    if decoded.sequence != expected:
        expected = ctx.check_state.refresh(sender)
    if decoded.sequence != expected:
        raise AnteError(
            "wrong_sequence",
            CODE_WRONG_SEQUENCE,
            f"account sequence mismatch, expected {expected}, got {decoded.sequence}: "
            "incorrect account sequence",
        )
    if not verify_tx_signature(decoded, ctx.identity.chain_id, account_number):
        raise _signature_error(ctx, decoded, account_number)
    if ctx.is_paused() and not all(runs_while_paused(c.msg) for c in calls):
        raise AnteError(
            "paused",
            CODE_PAUSED,
            "the contract is paused by its admin; only admin messages and liveliness "
            "answers are accepted",
            OWN_CODESPACE,
        )
    return PendingTx(
        hash=decoded.tx_hash,
        kind="signed",
        sender=sender,
        calls=calls,
        sequence=decoded.sequence,
        public_key=decoded.signer.public_key,
        tx_bytes=bytes(tx_bytes),
        gas_wanted=decoded.fee.gas_limit,
        fee={
            "amount": [{"denom": c.denom, "amount": str(c.amount)} for c in decoded.fee.amount],
            "gas_limit": str(decoded.fee.gas_limit),
        },
        memo=decoded.memo,
    )
