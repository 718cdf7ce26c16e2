"""Schemathesis sends generated requests to every operation of /api/v1/openapi.json.

Each operation gets a bounded number of examples as a tenant and a caretaker, in
valid and in invalid form. No response may be a 5xx, and every response must
match the document: a documented status, content type and body schema.
"""

import contextvars

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.security.helpers import add_participation

OPENAPI_PATH = "/api/v1/openapi.json"
FUZZ_ACTORS = ("tenant_a", "caretaker_x")
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# Derandomized so that CI runs the same examples every time; no deadline,
# because timing on a shared machine is no finding.
FUZZ_SETTINGS = settings(
    max_examples=5,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)


@pytest.fixture
def api_schema(app, world):
    """The API's OpenAPI document, skipped only while the API does not serve it."""
    response = app.test_client().get(OPENAPI_PATH)
    if response.status_code == 404:
        pytest.skip(f"{OPENAPI_PATH} is not served yet; nothing to fuzz")
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    add_participation(world)
    return schemathesis.openapi.from_wsgi(OPENAPI_PATH, app)


def call_isolated(case, headers):
    # Flask reuses an app context that is already pushed; a fresh context per
    # request keeps the test's database session out of the request.
    return contextvars.Context().run(case.call, headers=headers)


def fuzz_operation(operation, headers: dict[str, str], mode: GenerationMode) -> None:
    """Send the operation's generated cases and check each response."""

    @FUZZ_SETTINGS
    @given(case=operation.as_strategy(generation_mode=mode))
    def check(case):
        response = call_isolated(case, headers)
        case.validate_response(response, checks=CHECKS)

    check()


@pytest.mark.slow
def test_api_survives_fuzzing(api_schema, actors):
    operations = [result.ok() for result in api_schema.get_all_operations()]
    failures = []

    for operation in operations:
        for actor in FUZZ_ACTORS:
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                try:
                    fuzz_operation(operation, actors.bearer_headers(actor), mode)
                except FailureGroup as error:
                    failures.append(
                        f"{operation.label} as {actor}, {mode.value}: {error}"
                    )

    assert operations
    assert not failures, "Schemathesis found problems:\n\n" + "\n\n".join(failures)
