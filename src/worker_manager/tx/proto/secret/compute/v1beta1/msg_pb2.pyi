from worker_manager.tx.proto.cosmos.base.v1beta1 import coin_pb2 as _coin_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class MsgExecuteContract(_message.Message):
    __slots__ = ("sender", "contract", "msg", "callback_code_hash", "sent_funds", "callback_sig")
    SENDER_FIELD_NUMBER: _ClassVar[int]
    CONTRACT_FIELD_NUMBER: _ClassVar[int]
    MSG_FIELD_NUMBER: _ClassVar[int]
    CALLBACK_CODE_HASH_FIELD_NUMBER: _ClassVar[int]
    SENT_FUNDS_FIELD_NUMBER: _ClassVar[int]
    CALLBACK_SIG_FIELD_NUMBER: _ClassVar[int]
    sender: bytes
    contract: bytes
    msg: bytes
    callback_code_hash: str
    sent_funds: _containers.RepeatedCompositeFieldContainer[_coin_pb2.Coin]
    callback_sig: bytes
    def __init__(self, sender: _Optional[bytes] = ..., contract: _Optional[bytes] = ..., msg: _Optional[bytes] = ..., callback_code_hash: _Optional[str] = ..., sent_funds: _Optional[_Iterable[_Union[_coin_pb2.Coin, _Mapping]]] = ..., callback_sig: _Optional[bytes] = ...) -> None: ...

class MsgExecuteContractResponse(_message.Message):
    __slots__ = ("data",)
    DATA_FIELD_NUMBER: _ClassVar[int]
    data: bytes
    def __init__(self, data: _Optional[bytes] = ...) -> None: ...
