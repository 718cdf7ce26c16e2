"""API tokens stop working when the password, the roles or the account change."""

import re

import pytest
from sqlalchemy import select

from klusbank.accounts.models import ApiToken, AuditEvent, Role, TokenRevocation
from klusbank.accounts.services import create_api_token
from klusbank.extensions import db
from tests.factories import (
    PASSWORD,
    create_admin,
    create_corporation,
    create_tenant,
    login,
)

BALANCE = "/api/v1/me/balance"
NEW_PASSWORD = "a much longer secret"
INVITATION_LINK = re.compile(r"/invitation/[A-Za-z0-9_.\-]+")


@pytest.fixture
def people(app):
    """A tenant with two API tokens, and an administrator of the same corporation."""
    corporation = create_corporation()
    tenant = create_tenant(corporation)
    admin = create_admin(corporation)
    _token, first = create_api_token(tenant, "spreadsheet")
    _token, second = create_api_token(tenant, "phone")
    db.session.commit()
    return {"tenant": tenant, "admin": admin, "tokens": [first, second]}


def balance_status(app, token: str) -> int:
    """Call the JSON API with a bearer token from a fresh client."""
    response = app.test_client().get(
        BALANCE, headers={"Authorization": f"Bearer {token}"}
    )
    return response.status_code


def revoked_reasons(user_id: int) -> list[str | None]:
    db.session.expire_all()
    query = select(ApiToken.revoked_reason).where(ApiToken.user_id == user_id)
    return sorted(db.session.scalars(query), key=str)


def admin_client(app, admin):
    client = app.test_client()
    login(client, admin)
    return client


def test_tokens_work_before_any_change(app, people):
    for token in people["tokens"]:
        assert balance_status(app, token) == 200


def test_password_change_revokes_tokens(app, people):
    client = app.test_client()
    login(client, people["tenant"])

    response = client.post(
        "/account/password",
        data={
            "current_password": PASSWORD,
            "new_password": NEW_PASSWORD,
            "confirm": NEW_PASSWORD,
        },
        follow_redirects=True,
    )

    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "2 API-tokens zijn ingetrokken" in page
    assert "(omdat het wachtwoord is gewijzigd)" in page
    for token in people["tokens"]:
        assert balance_status(app, token) == 401
    assert revoked_reasons(people["tenant"].id) == [
        TokenRevocation.PASSWORD_CHANGED,
        TokenRevocation.PASSWORD_CHANGED,
    ]


def test_rejected_password_change_keeps_tokens(app, people):
    client = app.test_client()
    login(client, people["tenant"])

    response = client.post(
        "/account/password",
        data={
            "current_password": "not the password",
            "new_password": NEW_PASSWORD,
            "confirm": NEW_PASSWORD,
        },
    )

    assert response.status_code == 422
    for token in people["tokens"]:
        assert balance_status(app, token) == 200
    assert revoked_reasons(people["tenant"].id) == [None, None]


def test_password_reset_revokes_tokens(app, people):
    client = admin_client(app, people["admin"])
    tenant_id = people["tenant"].id

    response = client.post(
        f"/admin/users/{tenant_id}/reset-password",
        data={"reset-confirm": "y"},
        follow_redirects=True,
    )

    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "2 API-tokens van de gebruiker zijn ingetrokken" in page
    for token in people["tokens"]:
        assert balance_status(app, token) == 401
    assert revoked_reasons(tenant_id) == [TokenRevocation.PASSWORD_RESET] * 2
    link = INVITATION_LINK.search(page)
    assert link is not None
    accepted = app.test_client().post(
        link.group(0), data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    )
    assert accepted.status_code == 302


def test_password_reset_ends_sessions(app, people):
    tenant_client = app.test_client()
    login(tenant_client, people["tenant"])

    admin_client(app, people["admin"]).post(
        f"/admin/users/{people['tenant'].id}/reset-password",
        data={"reset-confirm": "y"},
    )

    assert tenant_client.get("/").status_code == 302
    assert login_status(app, people["tenant"].email, PASSWORD) == 401


def login_status(app, email: str, password: str) -> int:
    response = app.test_client().post(
        "/login", data={"email": email, "password": password}
    )
    return response.status_code


def test_role_removal_revokes_tokens(app, people):
    tenant = people["tenant"]
    client = admin_client(app, people["admin"])
    client.post(
        f"/admin/users/{tenant.id}/roles",
        data={"roles": [Role.TENANT.value, Role.CARETAKER.value]},
    )
    # Adding a role leaves the tokens alone.
    for token in people["tokens"]:
        assert balance_status(app, token) == 200

    response = client.post(
        f"/admin/users/{tenant.id}/roles",
        data={"roles": [Role.TENANT.value]},
        follow_redirects=True,
    )

    assert response.status_code == 200
    assert "2 API-tokens van de gebruiker zijn ingetrokken" in response.get_data(
        as_text=True
    )
    for token in people["tokens"]:
        assert balance_status(app, token) == 401
    assert revoked_reasons(tenant.id) == [TokenRevocation.ROLE_REMOVED] * 2


def test_deactivation_revokes_tokens(app, people):
    tenant = people["tenant"]
    client = admin_client(app, people["admin"])

    response = client.post(
        f"/admin/users/{tenant.id}/deactivate",
        data={"deactivate-confirm": "y"},
        follow_redirects=True,
    )

    assert response.status_code == 200
    for token in people["tokens"]:
        assert balance_status(app, token) == 401
    assert revoked_reasons(tenant.id) == [TokenRevocation.DEACTIVATED] * 2
    # Tokens stay revoked even if the account is switched on again.
    db.session.refresh(tenant)
    tenant.is_active_account = True
    db.session.commit()
    for token in people["tokens"]:
        assert balance_status(app, token) == 401


def test_revocation_is_audited(app, people):
    client = app.test_client()
    login(client, people["tenant"])

    client.post(
        "/account/password",
        data={
            "current_password": PASSWORD,
            "new_password": NEW_PASSWORD,
            "confirm": NEW_PASSWORD,
        },
    )

    event = db.session.scalar(
        select(AuditEvent).where(AuditEvent.action == "api_token.revoked_all")
    )
    assert event is not None
    assert event.subject == f"user:{people['tenant'].id}"
    assert event.details["reason"] == TokenRevocation.PASSWORD_CHANGED.value
    assert len(event.details["tokens"]) == 2


def test_last_admin_cannot_be_deactivated(app, people):
    admin = people["admin"]
    other = create_admin(admin.corporation)
    db.session.commit()
    client = admin_client(app, admin)

    own = client.post(
        f"/admin/users/{admin.id}/deactivate", data={"deactivate-confirm": "y"}
    )
    other_response = client.post(
        f"/admin/users/{other.id}/deactivate", data={"deactivate-confirm": "y"}
    )
    db.session.refresh(other)

    assert own.status_code == 422
    assert "eigen account" in own.get_data(as_text=True)
    assert other_response.status_code == 302
    assert other.is_active_account is False
