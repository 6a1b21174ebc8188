"""LCD error bodies: grpc-gateway's ``{"code": int, "message": str, "details": []}``.

secret-sdk parses an error body, turns it back into a Python ``repr``, swaps
single quotes for double quotes and parses that as JSON again (LCD.md section
1). That only works when ``message`` holds no quote characters, no backslashes
and nothing ``repr`` escapes, so :func:`clean_message` removes them from every
message we send.
"""

import json
from enum import IntEnum
from http import HTTPStatus

from starlette.responses import Response

JSON = "application/json"


class GrpcCode(IntEnum):
    """The gRPC status codes an LCD answers with, and the HTTP status each maps to."""

    UNKNOWN = 2
    INVALID_ARGUMENT = 3
    NOT_FOUND = 5
    RESOURCE_EXHAUSTED = 8
    UNIMPLEMENTED = 12

    @property
    def http_status(self) -> int:
        return _HTTP_STATUS[self]


_HTTP_STATUS = {
    GrpcCode.UNKNOWN: HTTPStatus.INTERNAL_SERVER_ERROR,
    GrpcCode.INVALID_ARGUMENT: HTTPStatus.BAD_REQUEST,
    GrpcCode.NOT_FOUND: HTTPStatus.NOT_FOUND,
    GrpcCode.RESOURCE_EXHAUSTED: HTTPStatus.TOO_MANY_REQUESTS,
    GrpcCode.UNIMPLEMENTED: HTTPStatus.NOT_IMPLEMENTED,
}

_REMOVED = str.maketrans("", "", "'\"\\")


def clean_message(text: str) -> str:
    """``text`` without quotes or backslashes, and with anything unprintable as a space."""
    cleaned = text.translate(_REMOVED)
    return "".join(c if c.isprintable() else " " for c in cleaned)


class LcdError(Exception):
    """A refusal to answer with a grpc-gateway error body (routes raise, then render it)."""

    def __init__(self, code: GrpcCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = clean_message(message)

    def body(self) -> dict[str, object]:
        return error_body(self.code, self.message)

    def response(self) -> Response:
        return json_response(self.body(), self.code.http_status)


def error_body(code: int, message: str) -> dict[str, object]:
    """``{"code": code, "message": <cleaned message>, "details": []}``."""
    return {"code": int(code), "message": clean_message(message), "details": []}


def json_response(
    body: object, status: int = HTTPStatus.OK, headers: dict[str, str] | None = None
) -> Response:
    """``body`` as compact JSON (ASCII, so any text the node holds encodes)."""
    return Response(
        json.dumps(body, separators=(",", ":")),
        status_code=status,
        media_type=JSON,
        headers=headers,
    )


ERROR_SCHEMA: dict[str, object] = {
    "type": "object",
    "required": ["code", "message", "details"],
    "properties": {
        "code": {"type": "integer", "description": "gRPC status code"},
        "message": {"type": "string"},
        "details": {"type": "array", "items": {}},
    },
}


def lcd_errors(*statuses: int) -> dict[int | str, dict[str, object]]:
    """``responses=`` entries for an LCD route's error statuses (grpc-gateway bodies)."""
    return {
        status: {
            "description": f"{HTTPStatus(status).phrase} (grpc-gateway error body)",
            "content": {JSON: {"schema": ERROR_SCHEMA}},
        }
        for status in statuses
    }
