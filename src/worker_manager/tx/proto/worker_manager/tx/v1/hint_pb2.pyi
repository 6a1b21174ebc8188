from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class SignerHint(_message.Message):
    __slots__ = ("chain_id", "account_number")
    CHAIN_ID_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_NUMBER_FIELD_NUMBER: _ClassVar[int]
    chain_id: str
    account_number: int
    def __init__(self, chain_id: _Optional[str] = ..., account_number: _Optional[int] = ...) -> None: ...
