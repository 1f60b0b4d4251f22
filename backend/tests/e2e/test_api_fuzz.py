"""Property-based fuzzing of the published OpenAPI spec against a real server: never a 5xx.

Schemathesis generates requests from /openapi.json (valid and invalid ones),
authenticated, a bounded and repeatable number per operation.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from .server import AUTH, free_port, server_env, start_hypercorn
from .test_executions_e2e import FAKES

EXAMPLES_PER_OPERATION = 40


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory: pytest.TempPathFactory) -> Iterator[schemathesis.BaseSchema]:
    directory: Path = tmp_path_factory.mktemp("fuzz")
    port = free_port()
    server = start_hypercorn(
        server_env(
            directory,
            PATH=f"{FAKES}{os.pathsep}{os.environ['PATH']}",
            FAKE_CLI_PYTHON=sys.executable,
            AGENTED_RATE_LIMIT_ADMIN="100000/1",
            AGENTED_RATE_LIMIT_WEBHOOKS="100000/1",
        ),
        port,
    )
    try:
        server.wait_for_output(rf"Running on http://127\.0\.0\.1:{port}\b")
        yield schemathesis.openapi.from_url(
            f"http://127.0.0.1:{port}/openapi.json", headers=AUTH, timeout=10
        )
    finally:
        server.stop()


def test_no_request_makes_the_server_fail(api_schema: schemathesis.BaseSchema) -> None:
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 15, "the spec lists the API's operations"
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def fuzz(case: schemathesis.Case) -> None:
            case.call_and_validate(headers=AUTH, timeout=10, checks=[not_a_server_error])

        fuzz()
