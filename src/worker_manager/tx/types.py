"""Typed, immutable views of a transaction and its parts.

These are what the rest of the project handles: the node gets a
:class:`DecodedTx` from :func:`~worker_manager.tx.decode.decode_tx`, the client
describes what it wants signed with :class:`ExecuteContractMsg`, :class:`TxCoin`
and :class:`Fee`. Protobuf classes never leave :mod:`worker_manager.tx`.
"""

import re
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal
from typing import ClassVar, Final

EXECUTE_CONTRACT_TYPE_URL: Final = "/secret.compute.v1beta1.MsgExecuteContract"
EXECUTE_CONTRACT_RESPONSE_TYPE_URL: Final = "/secret.compute.v1beta1.MsgExecuteContractResponse"
SECP256K1_PUBKEY_TYPE_URL: Final = "/cosmos.crypto.secp256k1.PubKey"
TX_TYPE_URL: Final = "/cosmos.tx.v1beta1.Tx"
SIGNER_HINT_TYPE_URL: Final = "/worker_manager.tx.v1.SignerHint"

#: Secret's native denomination (1 SCRT = 1,000,000 uscrt).
DEFAULT_DENOM: Final = "uscrt"
#: What secret-sdk's ``execute_tx`` asks for: gas 200000 at 0.25 uscrt.
DEFAULT_GAS_LIMIT: Final = 200_000
DEFAULT_GAS_PRICE: Final = Decimal("0.25")

_DENOM = re.compile(r"[a-zA-Z][a-zA-Z0-9/:._-]{2,127}")
_COIN_TEXT = re.compile(r"([0-9]+)\s*([a-zA-Z][a-zA-Z0-9/:._-]{2,127})")
#: Cosmos ``sdk.Int`` holds at most 256 bits.
MAX_AMOUNT: Final = 2**256 - 1


class CoinError(ValueError):
    """A coin or list of coins is malformed; the message says why."""


@dataclass(frozen=True, slots=True)
class TxCoin:
    """An amount of one denomination as a tx carries it (a whole number), e.g.
    ``TxCoin("uscrt", 10000)``. The contract sees it as its own ``Coin`` (the amount as
    text, as CosmWasm's ``Uint128``)."""

    denom: str
    amount: int

    def __post_init__(self) -> None:
        if not isinstance(self.denom, str) or not _DENOM.fullmatch(self.denom):
            raise CoinError(f"invalid denom {self.denom!r}")
        if isinstance(self.amount, bool) or not isinstance(self.amount, int):
            raise CoinError(f"coin amount must be an integer, got {self.amount!r}")
        if not 0 <= self.amount <= MAX_AMOUNT:
            raise CoinError(f"coin amount out of range: {self.amount}")

    @classmethod
    def parse(cls, text: str) -> "TxCoin":
        """Parse Cosmos coin text such as ``"10000uscrt"``."""
        match = _COIN_TEXT.fullmatch(text.strip())
        if match is None:
            raise CoinError(f"not a coin: {text!r} (expected e.g. 10000uscrt)")
        return cls(match.group(2), int(match.group(1)))

    def __str__(self) -> str:
        return f"{self.amount}{self.denom}"


def validate_coins(coins: tuple[TxCoin, ...], what: str) -> None:
    """Cosmos ``Coins.Validate``: positive amounts, denominations sorted and unique."""
    previous = ""
    for coin in coins:
        if coin.amount <= 0:
            raise CoinError(f"{what}: coin {coin} amount is not positive")
        if previous and coin.denom <= previous:
            raise CoinError(f"{what}: denominations must be sorted and unique, got {coin.denom}")
        previous = coin.denom


@dataclass(frozen=True, slots=True)
class Fee:
    """What the signer pays for gas; ``payer``/``granter`` stay empty here."""

    amount: tuple[TxCoin, ...]
    gas_limit: int
    payer: str = ""
    granter: str = ""


def fee_for_gas(
    gas_limit: int = DEFAULT_GAS_LIMIT,
    gas_price: Decimal = DEFAULT_GAS_PRICE,
    denom: str = DEFAULT_DENOM,
) -> Fee:
    """The fee for ``gas_limit`` at ``gas_price``, rounded up as secret-sdk does."""
    if gas_limit < 0:
        raise ValueError(f"gas limit must not be negative, got {gas_limit}")
    amount = int((Decimal(gas_limit) * gas_price).to_integral_value(rounding=ROUND_CEILING))
    return Fee(amount=(TxCoin(denom, amount),) if amount else (), gas_limit=gas_limit)


#: secret-sdk's ``execute_tx`` default: 50000uscrt for 200000 gas.
DEFAULT_FEE: Final = fee_for_gas()


@dataclass(frozen=True, slots=True)
class ExecuteContractMsg:
    """``secret.compute.v1beta1.MsgExecuteContract`` with bech32 addresses.

    ``msg`` is the encrypted envelope (see :mod:`worker_manager.secret.encryption`),
    kept as the exact bytes the sender signed.
    """

    type_url: ClassVar[str] = EXECUTE_CONTRACT_TYPE_URL

    sender: str
    contract: str
    msg: bytes
    sent_funds: tuple[TxCoin, ...] = ()
    callback_code_hash: str = ""
    callback_sig: bytes = b""


@dataclass(frozen=True, slots=True)
class SignerInfo:
    """The one signer of a transaction: its key, address, sequence and sign mode."""

    public_key: bytes
    address: str
    sequence: int
    sign_mode: int
    public_key_type_url: str = SECP256K1_PUBKEY_TYPE_URL


@dataclass(frozen=True, slots=True)
class SignerHint:
    """What the signer says it signed for (a non-critical body extension of ours).

    Diagnostic only: it lets a node tell "wrong chain id" and "wrong account
    number" apart from a bad signature. Signatures are always checked against
    the node's own values.
    """

    type_url: ClassVar[str] = SIGNER_HINT_TYPE_URL

    chain_id: str
    account_number: int


@dataclass(frozen=True, slots=True)
class DecodedTx:
    """A well-formed single-signer transaction, with the raw bytes it was signed over.

    Decoding checks the shape (see :func:`~worker_manager.tx.decode.decode_tx`);
    the signature is checked separately, because that needs the account number
    and chain id (:func:`~worker_manager.tx.decode.verify_tx_signature`).
    """

    tx_hash: str
    body_bytes: bytes
    auth_info_bytes: bytes
    signature: bytes
    messages: tuple[ExecuteContractMsg, ...]
    signer: SignerInfo
    fee: Fee
    memo: str
    timeout_height: int
    signer_hint: SignerHint | None = None

    @property
    def sender(self) -> str:
        """The signer's ``secret1…`` address (every message's sender equals it)."""
        return self.signer.address

    @property
    def sequence(self) -> int:
        """The account sequence the signer claims."""
        return self.signer.sequence
