"""Hostile input to the JSON API gets a 4xx JSON error naming the field, and changes nothing.

The bad inputs are generated from the OpenAPI document. For every documented
write operation, each property of its JSON body gets values of the wrong type,
NaN and Infinity, huge numbers, naive datetimes and over-long strings. The
body and each nested object also get an unknown field. How to cover a new write
route: add a WriteCase to WRITE_CASES with the actor and a body that succeeds.
"""

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask, jsonify
from sqlalchemy import func, select, text

from klusbank.db import utcnow
from klusbank.extensions import db
from tests.security.helpers import SecurityWorld, add_liability, add_participation

API = "/api/v1"
UNKNOWN_FIELD = "unexpected_field"
SECRET_MESSAGE = "kb-internal-detail-4711"


@dataclass(frozen=True)
class WriteCase:
    """Who may call a write operation, where, with a body that succeeds."""

    actor: str
    params: Callable[[SecurityWorld], dict[str, int]]
    body: Callable[[SecurityWorld], dict[str, Any]]
    success: int


def _chore_body(world: SecurityWorld) -> dict:
    now = utcnow()
    return {
        "cluster_id": world.cluster_x.id,
        "category_id": world.participation.category.id,
        "title": "Bladeren harken",
        "description": "Achter het gebouw.",
        "reward_points": 15,
        "reward_mode": "each",
        "places": 2,
        "proof": "note",
        "claim_opens_at": now.isoformat(),
        "claim_closes_at": (now + timedelta(days=3)).isoformat(),
        "deadline_at": (now + timedelta(days=5)).isoformat(),
        "repeat": {"every": "weekly", "occurrences": 2},
    }


def _acceptance_body(world: SecurityWorld) -> dict:
    version = world.liability.version
    return {
        "version_id": version.id,
        "shown_html_sha256": version.html_sha256,
        "full_name": world.users["tenant_b"].full_name,
        "confirm_read": True,
    }


def _no_params(world: SecurityWorld) -> dict:
    return {}


def _empty_body(world: SecurityWorld) -> dict:
    return {}


# Every field of a rule version, in a month far after the world's closes.
RULE_VERSION_BODY = {
    "effective_from": "2031-01-01",
    "rent_credit_rate_cents": 12,
    "rent_credit_rate_points": 1,
    "payout_rate_cents": 25,
    "payout_rate_points": 3,
    "weekend_multiplier_permille": 1200,
    "category_multipliers": {"tuin": 1500},
    "rent_credit_cap_month_cents": 5000,
    "rent_credit_cap_year_cents": 50000,
    "payout_cap_month_cents": 5000,
    "payout_cap_year_cents": 50000,
    "minimum_payout_cents": 500,
    "expiry_months": 12,
    "is_volunteer_allowance": False,
    "note": "Regels van 2031.",
}

# Keyed by "METHOD path" as in the OpenAPI document.
WRITE_CASES: dict[str, WriteCase] = {
    "POST /api/v1/chores": WriteCase("caretaker_x", _no_params, _chore_body, 201),
    "POST /api/v1/chores/{chore_id}/claims": WriteCase(
        "tenant_a",
        lambda world: {"chore_id": world.participation.spare_chore.id},
        _empty_body,
        201,
    ),
    "POST /api/v1/claims/{claim_id}/withdraw": WriteCase(
        "tenant_a",
        lambda world: {"claim_id": world.participation.spare_open_claim.id},
        _empty_body,
        200,
    ),
    "POST /api/v1/claims/{claim_id}/submit": WriteCase(
        "tenant_a",
        lambda world: {"claim_id": world.participation.open_claim.id},
        lambda world: {"note": "Alles geveegd.", "hours_spent": 1.5},
        200,
    ),
    "POST /api/v1/claims/{claim_id}/approve": WriteCase(
        "caretaker_x",
        lambda world: {"claim_id": world.participation.submitted_claim.id},
        _empty_body,
        200,
    ),
    "POST /api/v1/claims/{claim_id}/reject": WriteCase(
        "caretaker_x",
        lambda world: {"claim_id": world.participation.spare_submitted_claim.id},
        lambda world: {"reason": "De trap is nog vies."},
        200,
    ),
    "POST /api/v1/briefings/{briefing_id}/acceptances": WriteCase(
        "tenant_b",
        lambda world: {"briefing_id": world.liability.briefing.id},
        _acceptance_body,
        201,
    ),
    "POST /api/v1/rewards/rules": WriteCase(
        "finance_1", _no_params, lambda world: dict(RULE_VERSION_BODY), 201
    ),
    "POST /api/v1/briefings/{briefing_id}/withdrawal": WriteCase(
        "tenant_a",
        lambda world: {"briefing_id": world.liability.briefing.id},
        lambda world: {"reason": "Ik doe niet meer mee."},
        201,
    ),
}


class RawJson:
    """A JSON literal that ``json.dumps`` cannot write, such as NaN."""

    def __init__(self, literal: str):
        self.literal = literal

    def __repr__(self) -> str:
        return self.literal


def encode(body: Any) -> str:
    """Write ``body`` as JSON text, with RawJson values written as they are."""
    raws: list[RawJson] = []

    def placeholder(value):
        if isinstance(value, RawJson):
            raws.append(value)
            return f"__raw_{len(raws) - 1}__"
        raise TypeError(value)

    encoded = json.dumps(body, default=placeholder)
    for index, raw in enumerate(raws):
        encoded = encoded.replace(f'"__raw_{index}__"', raw.literal)
    return encoded


def resolve(document: dict, schema: dict) -> dict:
    """Follow $ref and the anyOf that apispec writes for nullable nested schemas."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return resolve(document, document["components"]["schemas"][name])
    for option in schema.get("anyOf", ()):
        if "$ref" in option:
            return resolve(document, option)
    return schema


def bad_values(schema: dict) -> list[tuple[str, Any]]:
    """Return (description, value) pairs that a property with ``schema`` must reject."""
    kind, values = schema.get("type"), []
    if "enum" in schema:
        values += [("unknown choice", "not-a-choice"), ("number for choice", 7)]
    if kind == "integer":
        values += [
            ("string for integer", "12"),
            ("fraction for integer", 1.5),
            ("boolean for integer", True),
            ("huge integer", 10**40),
            ("huge negative integer", -(10**40)),
            ("NaN", RawJson("NaN")),
            ("Infinity", RawJson("Infinity")),
        ]
    if kind == "number":
        values += [
            ("string for number", "1.5"),
            ("boolean for number", True),
            ("huge number", RawJson("1e400")),
            ("NaN", RawJson("NaN")),
            ("Infinity", RawJson("Infinity")),
            ("-Infinity", RawJson("-Infinity")),
        ]
    if kind == "string" and schema.get("format") == "date-time":
        values += [
            ("naive datetime", "2026-12-10T10:00:00"),
            ("not a datetime", "tomorrow"),
        ]
    if kind == "string":
        length = schema.get("maxLength", 10_000) + 1
        values += [
            ("number for string", 12),
            ("list for string", ["a", "b", "c"]),
            ("object for string", {"a": "b"}),
            ("over-long string", "x" * length),
        ]
    if kind == "boolean":
        values += [("string for boolean", "true"), ("number for boolean", 1)]
    return values


def mutations(document: dict, schema: dict, body: dict, path=()):
    """Yield (field path, description, body) for every bad variant of ``body``."""
    yield (*path, UNKNOWN_FIELD), "unknown field", {**body, UNKNOWN_FIELD: 1}
    for name, property_schema in schema.get("properties", {}).items():
        resolved = resolve(document, property_schema)
        for description, value in bad_values(resolved):
            yield (*path, name), description, {**body, name: value}
        if resolved.get("type") == "object" or "properties" in resolved:
            nested = body.get(name) if isinstance(body.get(name), dict) else {}
            for nested_path, description, nested_body in mutations(
                document, resolved, nested, (*path, name)
            ):
                yield nested_path, f"nested {description}", {**body, name: nested_body}
            yield (*path, name), "string for object", {**body, name: "x"}


def names_field(errors: Any, path: tuple[str, ...]) -> bool:
    """Tell whether a marshmallow error tree has messages at ``path``."""
    for name in path:
        if not isinstance(errors, dict) or name not in errors:
            return False
        errors = errors[name]
    return bool(errors)


def row_counts() -> dict[str, int]:
    """Count the rows of every table; a rejected request must leave them all."""
    return {
        table.name: db.session.scalar(select(func.count()).select_from(table))
        for table in db.metadata.sorted_tables
    }


def json_write_operations(document: dict) -> dict[str, dict]:
    """Return {"METHOD path": JSON body schema} of every documented write."""
    operations = {}
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            content = operation.get("requestBody", {}).get("content", {})
            if "application/json" in content:
                schema = resolve(document, content["application/json"]["schema"])
                operations[f"{method.upper()} {path}"] = schema
    return operations


@pytest.fixture
def world(world):
    """The world with chores, claims and a briefing for the writes to act on."""
    add_participation(world)
    add_liability(world)
    return world


def openapi_document(app: Flask) -> dict:
    response = app.test_client().get(f"{API}/openapi.json")
    assert response.status_code == 200
    return response.get_json()


@pytest.fixture
def document(app):
    return openapi_document(app)


def send(app, actors, case: WriteCase, operation: str, world, data):
    method, template = operation.split(" ", 1)
    path = template.format(**case.params(world))
    return app.test_client().open(
        path,
        method=method,
        data=data,
        content_type="application/json",
        headers=actors.bearer_headers(case.actor),
    )


def test_every_write_operation_has_case(bare_app):
    operations = json_write_operations(openapi_document(bare_app))
    missing = sorted(set(operations) - set(WRITE_CASES))

    assert not missing, (
        "API write operations without a WriteCase in tests/security/"
        f"test_api_input.py: {', '.join(missing)}"
    )


def test_bad_fields_rejected_by_name(app, world, actors, document):
    failures = []

    for operation, schema in json_write_operations(document).items():
        case = WRITE_CASES[operation]
        body = case.body(world)
        # Counting every table around each request would make this test slow,
        # so the counts are compared once per operation.
        before = row_counts()
        for field_path, description, bad_body in mutations(document, schema, body):
            response = send(app, actors, case, operation, world, encode(bad_body))
            where = f"{operation} {'.'.join(field_path)} ({description})"
            errors = (response.get_json(silent=True) or {}).get("errors")
            if not 400 <= response.status_code < 500 or not response.is_json:
                failures.append(f"{where}: {response.status_code}")
            elif not names_field(errors, field_path):
                failures.append(f"{where}: errors do not name it: {errors}")
        if row_counts() != before:
            failures.append(f"{operation}: some bad input changed the database")

    assert not failures, "Bad input not rejected cleanly:\n  " + "\n  ".join(failures)


def test_valid_bodies_succeed(app, world, actors, document):
    # Control: each base body works, so the rejections above come from the
    # one bad field in them.
    statuses = {}
    for operation in json_write_operations(document):
        case = WRITE_CASES[operation]
        body = encode(case.body(world))
        statuses[operation] = send(app, actors, case, operation, world, body)

    for operation, response in statuses.items():
        assert response.status_code == WRITE_CASES[operation].success, (
            operation,
            response.get_json(),
        )


BROKEN_BODIES = [
    ("malformed JSON", '{"title": "x",'),
    ("JSON array", "[1, 2, 3]"),
    ("JSON string", '"text"'),
    ("deeply nested", "[" * 100_000 + "]" * 100_000),
    ("NaN body", "NaN"),
    ("duplicate keys", '{"reason": "a", "reason": 5}'),
    ("invalid UTF-8", b'{"reason": "\xff\xfe"}'),
    ("oversized body", '{"reason": "' + "x" * (128 * 1024) + '"}'),
]


def test_broken_bodies_rejected(app, world, actors):
    operation = "POST /api/v1/claims/{claim_id}/reject"
    case = WRITE_CASES[operation]
    before = row_counts()
    failures = []

    for description, data in BROKEN_BODIES:
        response = send(app, actors, case, operation, world, data)
        if not 400 <= response.status_code < 500 or not response.is_json:
            failures.append(f"{description}: {response.status_code}")

    assert not failures, "Broken bodies not rejected:\n  " + "\n  ".join(failures)
    assert row_counts() == before


def test_body_over_request_limit_rejected(app, world, actors):
    operation = "POST /api/v1/chores"
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024
    before = row_counts()
    data = encode({**_chore_body(world), "description": "x" * 70_000})

    response = send(app, actors, WRITE_CASES[operation], operation, world, data)

    assert response.status_code == 413
    assert response.is_json
    assert row_counts() == before


def test_wrong_content_type_rejected(app, world, actors):
    operation = "POST /api/v1/claims/{claim_id}/reject"
    case = WRITE_CASES[operation]

    response = app.test_client().post(
        f"{API}/claims/{world.participation.spare_submitted_claim.id}/reject",
        data=encode(case.body(world)),
        content_type="text/plain",
        headers=actors.bearer_headers(case.actor),
    )

    assert 400 <= response.status_code < 500
    assert response.is_json


def add_failing_routes(app: Flask) -> None:
    """Add test-only routes that fail unexpectedly, in the API and in the portal."""

    def fail_in_python():
        raise RuntimeError(f"{SECRET_MESSAGE} at /srv/klusbank/secret.py")

    def fail_in_database():
        db.session.execute(text(f"SELECT * FROM no_such_table_{SECRET_MESSAGE[:2]}"))
        return jsonify(ok=True)

    nested = sorted(name for name in app.blueprints if name.startswith("api_v1."))[0]
    app.add_url_rule(f"{API}/test-failure", f"{nested}.test_failure", fail_in_python)
    app.add_url_rule(
        f"{API}/test-db-failure", f"{nested}.test_db_failure", fail_in_database
    )
    app.add_url_rule("/test-failure", "core.test_failure", fail_in_python)


LEAK_MARKERS = (SECRET_MESSAGE, "Traceback", "RuntimeError", "/srv/", "no_such_table")


@pytest.mark.parametrize("testing", [True, False], ids=["testing", "production-like"])
def test_unexpected_errors_stay_generic(app, world, actors, testing, caplog):
    app.config["TESTING"] = testing
    add_failing_routes(app)
    client = app.test_client()
    headers = actors.bearer_headers("tenant_a")

    api_error = client.get(f"{API}/test-failure", headers=headers)
    database_error = client.get(f"{API}/test-db-failure", headers=headers)
    page_error = actors.client("tenant_a").get("/test-failure")

    for response in (api_error, database_error, page_error):
        body = response.get_data(as_text=True)
        assert response.status_code == 500
        assert [marker for marker in LEAK_MARKERS if marker in body] == []
    assert api_error.is_json
    assert api_error.get_json()["errors"] == {}
    assert database_error.is_json
    assert page_error.mimetype == "text/html"
    assert SECRET_MESSAGE in caplog.text
