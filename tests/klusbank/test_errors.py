"""Error pages after a database error that the request did not handle."""

from flask_login import current_user, login_required
from sqlalchemy import func, select

from klusbank.accounts.models import User
from klusbank.extensions import db
from tests.factories import create_corporation, create_tenant, login


def _add_duplicate_user_route(app, rule: str) -> None:
    """Register a route that flushes a user whose e-mail address is taken."""

    @login_required
    def duplicate_user():
        existing = db.session.get(User, current_user.id)
        db.session.expire_all()
        db.session.add(
            User(
                corporation_id=existing.corporation_id,
                email=existing.email,
                full_name="Duplicate",
            )
        )
        db.session.flush()
        return "unreachable"

    app.add_url_rule(rule, rule.strip("/").replace("/", "_"), duplicate_user)


def _user_count() -> int:
    return db.session.scalar(select(func.count()).select_from(User))


def test_failed_flush_renders_portal_error_page(app, client):
    _add_duplicate_user_route(app, "/test/duplicate-user")
    tenant = create_tenant(create_corporation())
    db.session.commit()
    before = _user_count()
    login(client, tenant)

    response = client.get("/test/duplicate-user")

    page = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "Er ging bij ons iets mis" in page
    assert "Internal Server Error" not in page
    assert _user_count() == before


def test_failed_flush_answers_json_on_api(app, client):
    _add_duplicate_user_route(app, "/api/v1/test/duplicate-user")
    tenant = create_tenant(create_corporation())
    db.session.commit()
    login(client, tenant)

    response = client.get("/api/v1/test/duplicate-user")

    assert response.status_code == 500
    assert response.get_json()["status"] == 500
