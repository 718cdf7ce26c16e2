"""The participation JSON API: strict input, authentication and the OpenAPI document."""

from datetime import timedelta

import pytest
from schemathesis.specs.openapi.definitions import OPENAPI_30_VALIDATOR

from klusbank.accounts.services import revoke_api_token
from klusbank.db import utcnow
from klusbank.extensions import db
from participation import services
from tests.factories import create_corporation, login
from tests.participation.helpers import (
    claim_state,
    create_neighbourhood,
    row_counts,
    submitted_claim,
    use_token,
)


def _chore_payload(place, **overrides) -> dict:
    now = utcnow()
    payload = {
        "cluster_id": place.cluster.id,
        "category_id": place.category.id,
        "title": "Bladeren harken",
        "reward_points": 15,
        "places": 2,
        "proof": "note",
        "claim_opens_at": now.isoformat(),
        "claim_closes_at": (now + timedelta(days=3)).isoformat(),
        "deadline_at": (now + timedelta(days=5)).isoformat(),
    }
    payload.update(overrides)
    return payload


def test_caretaker_posts_weekly_chores(app, client):
    place = create_neighbourhood(create_corporation())
    use_token(client, place.caretaker)

    response = client.post(
        "/api/v1/chores",
        json=_chore_payload(place, repeat={"every": "weekly", "occurrences": 3}),
    )

    assert response.status_code == 201, response.get_json()
    chores = response.get_json()["chores"]
    assert len(chores) == 3
    assert chores[1]["title"] == "Bladeren harken"
    assert chores[0]["places_left"] == 2


def test_chore_without_points_takes_category_defaults(app, client):
    place = create_neighbourhood(create_corporation())
    place.category.default_points = 33
    place.category.default_places = 4
    use_token(client, place.caretaker)
    payload = _chore_payload(place)
    del payload["reward_points"]
    del payload["places"]

    response = client.post("/api/v1/chores", json=payload)

    assert response.status_code == 201, response.get_json()
    chore = response.get_json()["chores"][0]
    assert chore["reward_points"] == 33
    assert chore["places"] == 4


BAD_CHORES = [
    ("unknown field", {"colour": "red"}, "colour"),
    (
        "unknown nested field",
        {"repeat": {"every": "weekly", "occurrences": 2, "x": 1}},
        "repeat",
    ),
    (
        "nested wrong type",
        {"repeat": {"every": "weekly", "occurrences": "2"}},
        "repeat",
    ),
    ("string for integer", {"reward_points": "15"}, "reward_points"),
    ("float for integer", {"reward_points": 15.0}, "reward_points"),
    ("boolean for integer", {"places": True}, "places"),
    ("integer too large", {"reward_points": 10**12}, "reward_points"),
    ("zero places", {"places": 0}, "places"),
    ("title too long", {"title": "x" * 121}, "title"),
    ("title not a string", {"title": ["a", "b", "c"]}, "title"),
    ("naive datetime", {"claim_opens_at": "2026-12-05T10:00:00"}, "claim_opens_at"),
    ("not a datetime", {"deadline_at": "next week"}, "deadline_at"),
    ("unknown enum value", {"proof": "video"}, "proof"),
    (
        "too many repeats",
        {"repeat": {"every": "monthly", "occurrences": 13}},
        "occurrences",
    ),
    (
        "window closes first",
        {"claim_closes_at": "2000-01-01T00:00:00+00:00"},
        "claim_closes_at",
    ),
]


@pytest.mark.parametrize(
    ("payload", "field"),
    [(payload, field) for _name, payload, field in BAD_CHORES],
    ids=[name for name, _payload, _field in BAD_CHORES],
)
def test_bad_chore_input_is_refused(app, client, payload, field):
    place = create_neighbourhood(create_corporation())
    use_token(client, place.caretaker)
    counts = row_counts()

    response = client.post("/api/v1/chores", json=_chore_payload(place, **payload))

    assert response.status_code == 422, response.get_json()
    assert field in response.get_json()["errors"]
    assert row_counts() == counts


BAD_BODIES = [
    ("nan", b'{"hours_spent": NaN}', "hours_spent"),
    ("infinity", b'{"hours_spent": Infinity}', "hours_spent"),
    ("minus-infinity", b'{"hours_spent": -Infinity}', "hours_spent"),
    ("nan-for-string", b'{"note": NaN}', "note"),
    ("overflow", b'{"hours_spent": 1e400}', "hours_spent"),
    ("string-number", b'{"hours_spent": "1.5"}', "hours_spent"),
    ("boolean-number", b'{"hours_spent": true}', "hours_spent"),
    ("number-string", b'{"note": 5}', "note"),
    ("unknown-field", b'{"note": "ok", "extra": 1}', "extra"),
    ("duplicate-key", b'{"note": "ok", "note": "again"}', "note"),
    ("truncated", b'{"note": "a"', None),
    ("not-an-object", b'["a list"]', None),
    ("nan-body", b"NaN", None),
    ("invalid-utf8", b'{"note": "\xff\xfe"}', None),
    ("deep-nesting", b"[" * 100_000, None),
]


@pytest.mark.parametrize(
    ("body", "field"),
    [(body, field) for _name, body, field in BAD_BODIES],
    ids=[name for name, _body, _field in BAD_BODIES],
)
def test_bad_json_body_is_refused(app, client, body, field):
    place = create_neighbourhood(create_corporation())
    tenant = place.add_tenant()
    claim = services.claim_chore(tenant, place.chore.id)
    db.session.commit()
    use_token(client, tenant)
    before = claim_state(claim.id)

    response = client.post(
        f"/api/v1/claims/{claim.id}/submit",
        data=body,
        content_type="application/json",
    )

    assert response.status_code == 422, response.get_data(as_text=True)[:300]
    assert response.get_json()["message"]
    if field is not None:
        assert field in response.get_json()["errors"]
    assert claim_state(claim.id) == before


def test_query_string_is_checked(app, client):
    place = create_neighbourhood(create_corporation())
    use_token(client, place.add_tenant())

    unknown = client.get("/api/v1/chores?colour=red")
    bad_sort = client.get("/api/v1/chores?sort=random")
    repeated = client.get("/api/v1/chores?sort=points&sort=newest")
    fine = client.get("/api/v1/chores?sort=points&available_only=true")

    assert unknown.status_code == 422
    assert "colour" in unknown.get_json()["errors"]
    assert bad_sort.status_code == 422
    assert repeated.status_code == 422
    assert fine.status_code == 200
    assert [chore["id"] for chore in fine.get_json()["chores"]] == [place.chore.id]


def test_anonymous_request_gets_401(app, client):
    response = client.get("/api/v1/claims/mine")

    assert response.status_code == 401
    assert response.get_json()["message"]


def test_revoked_token_gets_401(app, client):
    place = create_neighbourhood(create_corporation())
    tenant = place.add_tenant()
    token = use_token(client, tenant)
    revoke_api_token(tenant, token.id)
    db.session.commit()

    response = client.get("/api/v1/claims/mine")

    assert response.status_code == 401


def test_token_is_limited_to_roles(app, client):
    place = create_neighbourhood(create_corporation())
    claim = submitted_claim(place.add_tenant(), place.chore)
    tenant = place.add_tenant()
    db.session.commit()
    use_token(client, tenant)
    counts = row_counts()

    response = client.post(f"/api/v1/claims/{claim.id}/approve", json={})

    assert response.status_code == 404
    assert row_counts() == counts


def test_session_write_needs_csrf_header(app, client):
    place = create_neighbourhood(create_corporation())
    tenant = place.add_tenant()
    db.session.commit()
    login(client, tenant)
    counts = row_counts()

    response = client.post(f"/api/v1/chores/{place.chore.id}/claims", json={})

    assert response.status_code == 400
    assert "CSRF" in response.get_json()["message"]
    assert row_counts() == counts


def test_openapi_document_is_valid(app, client):
    response = client.get("/api/v1/openapi.json")
    document = response.get_json()

    errors = [error.message for error in OPENAPI_30_VALIDATOR.iter_errors(document)]

    assert response.status_code == 200
    assert errors == []
    assert document["openapi"].startswith("3.")
    assert "/api/v1/chores/{chore_id}/claims" in document["paths"]
    assert "/api/v1/claims/{claim_id}/approve" in document["paths"]
    submit = document["paths"]["/api/v1/claims/{claim_id}/submit"]["post"]
    assert set(submit["requestBody"]["content"]) == {
        "application/json",
        "multipart/form-data",
    }
    assert (
        document["components"]["schemas"]["ChoreCreate"]["additionalProperties"]
        is False
    )
    operation_ids = [
        operation["operationId"]
        for path in document["paths"].values()
        for operation in path.values()
        if isinstance(operation, dict) and "operationId" in operation
    ]
    assert len(operation_ids) == len(set(operation_ids))
