"""Logins, failed logins, password and role changes are audited and shown to admins."""

from datetime import UTC, datetime

import pytest
import time_machine
from sqlalchemy import func, select

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


# Every export and statement that staff can download, with who downloads it.
STAFF_EXPORTS = [
    ("finance_1", "/rewards/finance/exports/{period}/ledger.csv"),
    ("finance_1", "/rewards/finance/exports/{period}/rent-credit.csv"),
    ("finance_1", "/rewards/finance/exports/payees-{year}.csv"),
    ("finance_1", "/rewards/finance/batches/{batch_id}/sepa.xml"),
    ("finance_1", "/rewards/finance/statements/{period}/{tenant_id}.pdf"),
    ("finance_1", "/rewards/finance/statements/{period}.zip"),
    ("caretaker_x", "/liability/manage/{briefing_id}/export.csv"),
]
# Documents with a tenant's signature or acceptance evidence.
STAFF_EVIDENCE_DOWNLOADS = [
    ("caretaker_x", "/liability/manage/acceptances/{acceptance_id}/scan"),
    ("caretaker_x", "/liability/acceptances/{acceptance_id}/receipt.pdf"),
]


def test_staff_exports_recorded(app, full_world):
    unrecorded = unrecorded_downloads(app, full_world, STAFF_EXPORTS)

    assert not unrecorded, "Staff downloads without an audit event:\n  " + (
        "\n  ".join(unrecorded)
    )
    admin_page = _audit_page(app, full_world.users["admin"])
    assert "export.ledger" in admin_page
    assert "statement.downloaded" in admin_page
    assert "briefing.history_exported" in admin_page


def test_staff_evidence_downloads_recorded(app, full_world):
    unrecorded = unrecorded_downloads(app, full_world, STAFF_EVIDENCE_DOWNLOADS)

    assert not unrecorded, "Staff downloads without an audit event:\n  " + (
        "\n  ".join(unrecorded)
    )


def unrecorded_downloads(app, world, downloads) -> list[str]:
    """Download each file as its actor; return those without a matching audit event."""
    values = {
        "period": world.rewards.period,
        "year": world.rewards.year,
        "batch_id": world.rewards.batch.id,
        "tenant_id": world.tenant_a.id,
        "briefing_id": world.liability.briefing.id,
        "acceptance_id": world.liability.acceptance.id,
    }
    unrecorded = []
    for actor, template in downloads:
        user = world.users[actor]
        client = app.test_client()
        client.environ_base.update(REMOTE_ADDR=ADDRESS, HTTP_USER_AGENT=BROWSER)
        with time_machine.travel(AT, tick=False):
            login_with_form(client, user)
            before = _last_event_id()
            response = client.get(template.format(**values))
            response.close()
        db.session.expire_all()
        new_events = db.session.scalars(
            select(AuditEvent).where(
                AuditEvent.id > before, AuditEvent.actor_id == user.id
            )
        ).all()
        recorded = [
            event
            for event in new_events
            if event.ip_address == ADDRESS and event.at == AT and event.user_agent
        ]
        if response.status_code != 200 or not recorded:
            unrecorded.append(f"{template} ({response.status_code})")
    return unrecorded


def _last_event_id() -> int:
    return db.session.scalar(select(func.max(AuditEvent.id))) or 0


def test_audit_page_names_actions_and_subjects(app, world, client):
    with time_machine.travel(AT, tick=False):
        client.post("/login", data={"email": world.tenant_a.email, "password": "no"})
    login_with_form(client, world.users["admin"])

    page = client.get("/admin/audit").get_data(as_text=True)

    assert "Inloggen mislukt" in page
    assert '<code class="muted">login.failed</code>' in page
    assert f"gebruiker {world.tenant_a.id}" in page
