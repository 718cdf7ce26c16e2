"""CSRF on portal forms and session API writes; API tokens never log in to the portal."""

import pytest
from flask import Flask, jsonify
from flask_login import current_user, login_required
from sqlalchemy import func, select

from klusbank.accounts.models import ApiToken
from klusbank.accounts.services import revoke_api_token
from klusbank.extensions import db
from tests.security.helpers import csrf_token_from, login_with_form
from tests.security.test_authorization_matrix import path_for, routes_by_method

PROBE_PATH = "/api/v1/security-probe"


@pytest.fixture
def app_config(app_config):
    app_config["WTF_CSRF_ENABLED"] = True
    return app_config


def add_api_probe(app: Flask) -> None:
    """Add a test-only write route inside a domain blueprint nested in the API.

    Domain API blueprints are nested in ``api_v1``, so the probe meets the same
    authentication and CSRF hooks as their routes.
    """
    nested = sorted(name for name in app.blueprints if name.startswith("api_v1."))
    assert nested, "no domain blueprint is nested in the API"

    @login_required
    def security_probe():
        return jsonify(user_id=current_user.id)

    app.add_url_rule(
        PROBE_PATH,
        endpoint=f"{nested[0]}.security_probe",
        view_func=security_probe,
        methods=["POST"],
    )


def write_paths(app: Flask, world, *, api: bool) -> list[tuple[str, str]]:
    """Return (method, path) of every portal or every API write route."""
    paths = []
    for method, endpoints in routes_by_method(app).items():
        if method == "GET":
            continue
        for rule in endpoints.values():
            if rule.rule.startswith("/api/") == api:
                paths.append((method, path_for(app, world, rule)))
    return sorted(paths)


def test_portal_writes_reject_missing_token(app, full_world, actors):
    world = full_world
    # English, so that the check below can find the CSRF message.
    world.users["admin"].locale = "en"
    db.session.commit()
    admin = actors.client("admin")
    rejected = []

    for method, path in write_paths(app, world, api=False):
        response = admin.open(path, method=method, data={})
        if response.status_code != 400 or b"expired" not in response.data:
            rejected.append(f"{method} {path}: {response.status_code}")

    assert not rejected, "Portal writes accepted without a CSRF token:\n  " + (
        "\n  ".join(rejected)
    )


def test_login_without_token_rejected(app, world, client):
    response = client.post(
        "/login", data={"email": world.tenant_a.email, "password": "irrelevant"}
    )

    assert response.status_code == 400
    assert client.get("/").status_code == 302


def test_portal_form_with_token_works(app, world, client):
    login_with_form(client, world.tenant_a)
    token = csrf_token_from(client, "/account")

    response = client.post(
        "/account/tokens", data={"name": "laptop", "csrf_token": token}
    )

    assert response.status_code == 200
    assert b"kb_" in response.data


def test_token_of_other_session_rejected(app, world):
    victim, attacker = app.test_client(), app.test_client()
    login_with_form(victim, world.tenant_a)
    foreign_token = csrf_token_from(attacker, "/login")

    response = victim.post(
        "/account/tokens", data={"name": "forged", "csrf_token": foreign_token}
    )

    assert response.status_code == 400


def test_api_token_rejected_on_portal(app, world, actors):
    client = app.test_client()
    headers = actors.bearer_headers("tenant_a")
    tokens_before = _token_count()

    home = client.get("/", headers=headers)
    account = client.get("/account", headers=headers)
    write = client.post("/account/tokens", headers=headers, data={"name": "sneaky"})

    assert home.status_code == 302
    assert home.location.startswith("/login")
    assert account.status_code == 302
    assert write.status_code == 400
    assert _token_count() == tokens_before


def test_api_token_rejected_on_portal_without_csrf(app_config, app, world, actors):
    app.config["WTF_CSRF_ENABLED"] = False
    client = app.test_client()
    tokens_before = _token_count()

    response = client.post(
        "/account/tokens",
        headers=actors.bearer_headers("tenant_a"),
        data={"name": "sneaky"},
    )

    assert response.status_code == 302
    assert response.location.startswith("/login")
    assert _token_count() == tokens_before


def test_api_writes_with_session_need_header(app, full_world, actors):
    world = full_world
    add_api_probe(app)
    admin = actors.client("admin")
    writes = write_paths(app, world, api=True)
    accepted = []

    for method, path in writes:
        response = admin.open(path, method=method, json={})
        if response.status_code != 400 or b"X-CSRFToken" not in response.data:
            accepted.append(f"{method} {path}: {response.status_code}")

    assert ("POST", PROBE_PATH) in writes
    assert not accepted, (
        "API writes accepted with a session and no CSRF header:\n  "
        + ("\n  ".join(accepted))
    )


def test_api_write_with_session_and_header(app, world, actors):
    add_api_probe(app)
    client = actors.client("tenant_b")
    token = csrf_token_from(client, "/account")

    response = client.post(PROBE_PATH, json={}, headers={"X-CSRFToken": token})

    assert response.status_code == 200
    assert response.json == {"user_id": world.users["tenant_b"].id}


def test_bearer_token_needs_no_csrf(app, world, actors):
    add_api_probe(app)

    response = app.test_client().post(
        PROBE_PATH, json={}, headers=actors.bearer_headers("finance_1")
    )

    assert response.status_code == 200
    assert response.json == {"user_id": world.users["finance_1"].id}


def test_bearer_token_wins_over_session(app, world, actors):
    add_api_probe(app)
    client = actors.client("admin")

    response = client.post(
        PROBE_PATH, json={}, headers=actors.bearer_headers("tenant_a")
    )

    assert response.status_code == 200
    assert response.json == {"user_id": world.tenant_a.id}


def test_invalid_bearer_ignores_session(app, world, actors):
    add_api_probe(app)
    client = actors.client("admin")

    response = client.post(
        PROBE_PATH, json={}, headers={"Authorization": "Bearer kb_not-a-token"}
    )

    assert response.status_code == 401
    assert response.is_json


def test_revoked_bearer_token_rejected(app, world):
    add_api_probe(app)
    revoke_api_token(world.tenant_a, world.spare_token_a.id)
    db.session.commit()

    response = app.test_client().post(
        PROBE_PATH, json={}, headers={"Authorization": f"Bearer {world.spare_token}"}
    )

    assert response.status_code == 401


def _token_count() -> int:
    return db.session.scalar(select(func.count()).select_from(ApiToken))
