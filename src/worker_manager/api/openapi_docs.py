"""What the native routes take and answer, for the OpenAPI document.

Every refusal is an RFC 9457 problem (``application/problem+json``) with our
stable ``code``; the schema below is that shape. Routes list the statuses they
can give, so ``/openapi.json`` says what a client will meet (schemathesis checks
it in the test suite).
"""

from http import HTTPStatus
from typing import Any

from worker_manager.api.errors import PROBLEM_JSON

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "title", "status", "code", "detail"],
    "properties": {
        "type": {"type": "string", "example": "urn:worker-manager:error:worker_not_found"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "code": {"type": "string", "description": "Stable; see docs/errors.md"},
        "detail": {"type": "string"},
    },
}


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` entries for these error statuses, each a problem document."""
    return {
        status: {
            "description": f"{HTTPStatus(status).phrase} (problem+json; see docs/errors.md)",
            "content": {PROBLEM_JSON: {"schema": PROBLEM_SCHEMA}},
        }
        for status in statuses
    }


#: Statuses a contract query can answer with (see ``STATUS_BY_CODE``), and the
#: front door's too-large body.
QUERY_PROBLEMS = problems(400, 401, 403, 404, 413, 422, 503)


def inline_defs(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` with pydantic's ``#/$defs/...`` references replaced by the definitions
    (an OpenAPI document has no ``$defs`` beside a request body, so they would dangle)."""
    defs = schema.get("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return resolve(defs[ref.removeprefix("#/$defs/")])
            return {k: resolve(v) for k, v in node.items() if k != "$defs"}
        if isinstance(node, list):
            return [resolve(v) for v in node]
        return node

    resolved: dict[str, Any] = resolve(schema)
    return resolved
