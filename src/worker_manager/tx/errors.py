"""Why a transaction was refused, with the Cosmos SDK error code a node reports.

Codes are those of the Cosmos SDK root codespace ``sdk`` (``types/errors``); the
text after the reason is the code's Cosmos description, so ``str(error)`` reads
like a real chain's ``raw_log``: ``"wrong number of signers; expected 1, got 2:
unauthorized"``.
"""

from typing import Final

CODESPACE: Final = "sdk"

CODE_TX_DECODE: Final = 2
CODE_UNAUTHORIZED: Final = 4
CODE_INSUFFICIENT_FUNDS: Final = 5
CODE_INVALID_ADDRESS: Final = 7
CODE_INVALID_PUBKEY: Final = 8
CODE_INVALID_COINS: Final = 10
CODE_MEMO_TOO_LARGE: Final = 12
CODE_INSUFFICIENT_FEE: Final = 13
CODE_NO_SIGNATURES: Final = 15
CODE_INVALID_REQUEST: Final = 18
CODE_TX_TOO_LARGE: Final = 21
CODE_TX_TIMEOUT_HEIGHT: Final = 30
CODE_UNKNOWN_EXTENSION_OPTIONS: Final = 31
CODE_WRONG_SEQUENCE: Final = 32

#: The Cosmos description of each code, appended to the reason in ``raw_log``.
CODE_DESCRIPTIONS: Final[dict[int, str]] = {
    CODE_TX_DECODE: "tx parse error",
    CODE_UNAUTHORIZED: "unauthorized",
    CODE_INSUFFICIENT_FUNDS: "insufficient funds",
    CODE_INVALID_ADDRESS: "invalid address",
    CODE_INVALID_PUBKEY: "invalid pubkey",
    CODE_INVALID_COINS: "invalid coins",
    CODE_MEMO_TOO_LARGE: "memo too large",
    CODE_INSUFFICIENT_FEE: "insufficient fee",
    CODE_NO_SIGNATURES: "no signatures supplied",
    CODE_INVALID_REQUEST: "invalid request",
    CODE_TX_TOO_LARGE: "tx too large",
    CODE_TX_TIMEOUT_HEIGHT: "tx timeout height",
    CODE_UNKNOWN_EXTENSION_OPTIONS: "unknown extension options",
    CODE_WRONG_SEQUENCE: "incorrect account sequence",
}


_UNSAFE = str.maketrans("", "", "'\"\\")


class TxDecodeError(ValueError):
    """A transaction is malformed or uses something this node does not accept.

    ``code`` is the Cosmos SDK code (codespace :data:`CODESPACE`) a node answers
    with, ``reason`` says what is wrong in plain words, and ``raw_log`` (also
    ``str(error)``) joins the reason with the code's Cosmos description. Quotes
    and backslashes are dropped from the reason, so it can go as it is into any
    LCD error body (LCD.md section 1: secret-sdk re-parses those).
    """

    codespace: str = CODESPACE

    def __init__(self, reason: str, *, code: int = CODE_TX_DECODE) -> None:
        self.reason = reason.translate(_UNSAFE)
        self.code = code
        super().__init__(self.raw_log)

    @property
    def raw_log(self) -> str:
        """``"<reason>: <Cosmos description of the code>"``."""
        description = CODE_DESCRIPTIONS.get(self.code)
        return f"{self.reason}: {description}" if description else self.reason

    def __repr__(self) -> str:
        return f"TxDecodeError({self.reason!r}, code={self.code})"


class TxBuildError(ValueError):
    """The inputs given to a transaction builder cannot make a valid transaction."""
