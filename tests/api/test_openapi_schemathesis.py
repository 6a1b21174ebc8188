"""schemathesis over ``/openapi.json``: generated requests to every operation get no 5xx,
and every answer's status, content type and body are the ones the schema documents.

Bounded for CI (``WM_SCHEMATHESIS_EXAMPLES``, default 25 per operation). One check is
left out on purpose: ``positive_data_acceptance`` expects any schema-valid request to
succeed, but no schema can say what makes a tx's signature or a subscriber's proof
valid, so schema-valid requests are refused (as they must be) with 400 or 401.
"""

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import positive_data_acceptance

from tests.conftest import ADMIN, API, CHAIN_ID, GENESIS_NS, make_node, register_msg
from tests.server_thread import ServerThread
from worker_manager.api.app import create_api
from worker_manager.node import FixedClock, Node
from worker_manager.store import Store

EXAMPLES = int(os.environ.get("WM_SCHEMATHESIS_EXAMPLES", "25"))

schema = schemathesis.openapi.from_dict(create_api(None).openapi())  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def served() -> Iterator[str]:
    """One node for the module, served as ``serve`` serves it, with a worker registered."""
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(f"sqlite:///{Path(tmp) / 'st.db'}")
        store.migrate()
        clock = FixedClock(GENESIS_NS)
        Node.genesis(store, chain_id=CHAIN_ID, admin=ADMIN, clock=clock, api=API)
        node = make_node(store, clock)
        node.execute(ADMIN, register_msg("10.0.0.1"))
        try:
            with ServerThread(node) as url:
                yield url
        finally:
            node.close()
            store.close()


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_every_operation_matches_its_schema(case: schemathesis.Case, served: str) -> None:
    case.call_and_validate(base_url=served, excluded_checks=[positive_data_acceptance])


def test_the_schema_resolves_and_documents_errors() -> None:
    document = create_api(None).openapi()  # type: ignore[arg-type]
    text = str(document)
    assert "#/$defs/" not in text, "pydantic's $defs would dangle in an OpenAPI document"
    txs = document["paths"]["/v1/txs"]["post"]["responses"]
    assert {"400", "422", "429", "503"} <= set(txs)
    assert "application/problem+json" in txs["400"]["content"]
