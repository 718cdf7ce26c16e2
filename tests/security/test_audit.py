"""Logins, failed logins, password and role changes are audited and shown to admins."""

from datetime import UTC, datetime

import pytest
import time_machine
from sqlalchemy import select

from klusbank.accounts.models import AuditEvent
from klusbank.extensions import db
from tests.factories import PASSWORD, create_admin
from tests.security.helpers import login_with_form

AT = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
ADDRESS = "192.0.2.44"
BROWSER = "Firefox/128"


@pytest.fixture
def client(app):
    client = app.test_client()
    client.environ_base.update(REMOTE_ADDR=ADDRESS, HTTP_USER_AGENT=BROWSER)
    return client


def events(action: str) -> list[AuditEvent]:
    query = (
        select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
    )
    return list(db.session.scalars(query))


def assert_recorded(event: AuditEvent, actor_id: int | None) -> None:
    assert event.actor_id == actor_id
    assert event.ip_address == ADDRESS
    assert event.user_agent == BROWSER
    assert event.at == AT


def test_login_recorded(app, world, client):
    with time_machine.travel(AT, tick=False):
        login_with_form(client, world.tenant_a)

    [event] = events("login.succeeded")
    assert_recorded(event, world.tenant_a.id)
    assert event.corporation_id == world.corporation_1.id


def test_failed_login_recorded_for_account(app, world, client):
    with time_machine.travel(AT, tick=False):
        client.post("/login", data={"email": world.tenant_a.email, "password": "no"})

    [event] = events("login.failed")
    assert_recorded(event, None)
    assert event.corporation_id == world.corporation_1.id
    assert event.subject == f"user:{world.tenant_a.id}"


def test_failed_login_hides_typed_address(app, world, client):
    typed = "Someone.Else@example.test"
    with time_machine.travel(AT, tick=False):
        client.post("/login", data={"email": typed, "password": "no"})

    [event] = events("login.failed")
    assert_recorded(event, None)
    assert event.corporation_id is None
    assert event.subject.startswith("email-sha256:")
    assert (
        "example.test"
        not in repr((event.subject, event.details, event.user_agent)).lower()
    )


def test_password_change_recorded(app, world, client):
    new_password = "another long passphrase"
    with time_machine.travel(AT, tick=False):
        login_with_form(client, world.tenant_a)
        client.post(
            "/account/password",
            data={
                "current_password": PASSWORD,
                "new_password": new_password,
                "confirm": new_password,
            },
        )

    [event] = events("user.password_changed")
    assert_recorded(event, world.tenant_a.id)
    assert event.subject == f"user:{world.tenant_a.id}"


def test_role_change_recorded(app, world, client):
    with time_machine.travel(AT, tick=False):
        login_with_form(client, world.users["admin"])
        client.post(
            f"/admin/users/{world.tenant_a.id}/roles",
            data={"roles": ["tenant", "caretaker"]},
        )

    [event] = events("user.roles_changed")
    assert_recorded(event, world.users["admin"].id)
    assert event.subject == f"user:{world.tenant_a.id}"
    assert event.details == {"before": ["tenant"], "after": ["caretaker", "tenant"]}


def test_logout_recorded(app, world, client):
    with time_machine.travel(AT, tick=False):
        login_with_form(client, world.tenant_a)
        client.post("/logout")

    [event] = events("logout")
    assert_recorded(event, world.tenant_a.id)


def test_admin_sees_own_corporation_events(app, world, client):
    admin_2 = create_admin(world.corporation_2)
    db.session.commit()
    client.post("/login", data={"email": world.tenant_a.email, "password": "no"})
    login_with_form(client, world.tenant_a)
    client.post("/logout")

    admin_page = _audit_page(app, world.users["admin"])
    other_page = _audit_page(app, admin_2)

    assert "login.failed" in admin_page
    assert "login.succeeded" in admin_page
    assert ADDRESS in admin_page
    assert world.tenant_a.full_name in admin_page
    assert "login.failed" not in other_page
    assert ADDRESS not in other_page


def _audit_page(app, admin) -> str:
    client = app.test_client()
    login_with_form(client, admin)
    response = client.get("/admin/audit")
    assert response.status_code == 200
    return response.get_data(as_text=True)
