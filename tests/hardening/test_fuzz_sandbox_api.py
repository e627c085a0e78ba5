"""Every HTTP endpoint of the SDB sandbox, fuzzed by schemathesis from the OpenAPI
description the sandbox publishes (``/openapi.json``), against a real SandboxServer on a
free port: no answer is a server error, every answer matches the description, and no
request writes outside the sandbox's storage.

(schemathesis' pytest plugin is not used: its ``from_fixture`` breaks on this pytest; the
operations are taken from the loaded schema and each is fuzzed with its own strategy.)
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from sandbox.sdb import SandboxServer
from tests.hardening._fuzz import EXAMPLES, FUZZ

pytestmark = pytest.mark.service


@pytest.fixture
def sandbox(tmp_path):
    try:
        server = SandboxServer(tmp_path / "sdb").start()
    except OSError as exc:
        from tests.conftest import service_unavailable

        service_unavailable(f"the SDB sandbox cannot start: {exc}")
    yield server
    server.close()


def test_every_endpoint_answers_as_described_and_never_fails(sandbox, tmp_path):
    schema = schemathesis.openapi.from_url(f"{sandbox.url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 7
    storage = (tmp_path / "sdb").resolve()

    for operation in operations:

        @settings(FUZZ, max_examples=max(10, EXAMPLES // 2))
        @given(case=operation.as_strategy())
        def check(case):
            response = case.call(timeout=10)
            assert response.status_code < 500, (case.path, response.text)
            # A file the schema calls binary may still be refused (400) for its content: the
            # description cannot say "a valid product card"; every other check applies.
            case.validate_response(response, excluded_checks=[positive_data_acceptance])

        check()
    written = [p.resolve() for p in tmp_path.rglob("*") if p.is_file()]
    assert all(storage in p.parents for p in written), written
