import re
from datetime import timedelta

import pytest
import time_machine

from klusbank.accounts.models import AuditEvent, Role, User
from klusbank.accounts.services import make_invitation_token
from klusbank.db import utcnow
from klusbank.extensions import db
from tests.factories import PASSWORD, create_corporation, create_user_with_roles, login


def _without_tokens(body: bytes, email: str) -> str:
    # CSRF tokens and the typed e-mail address legitimately differ between pages.
    text = body.decode().replace(email, "")
    return re.sub(r'name="csrf_token" value="[^"]*"', "", text)


def test_login_with_password_reaches_home(app, client):
    user = create_user_with_roles(create_corporation(), Role.FINANCE, name="Fien")
    db.session.commit()

    login(client, user)
    response = client.get("/")

    assert response.status_code == 200
    assert "Fien" in response.get_data(as_text=True)


def test_failed_login_hides_whether_account_exists(app, client):
    user = create_user_with_roles(create_corporation(), Role.TENANT)
    db.session.commit()

    wrong_password = client.post(
        "/login", data={"email": user.email, "password": "nope"}
    )
    unknown_email = client.post(
        "/login", data={"email": "nobody@example.test", "password": "nope"}
    )

    assert wrong_password.status_code == unknown_email.status_code == 401
    assert (
        b"E-mail address or password is wrong" in wrong_password.data
        or b"wachtwoord" in wrong_password.data
    )
    assert _without_tokens(wrong_password.data, user.email) == _without_tokens(
        unknown_email.data, "nobody@example.test"
    )
    assert db.session.query(AuditEvent).filter_by(action="login.failed").count() == 2


def test_logout_ends_other_sessions(app):
    user = create_user_with_roles(create_corporation(), Role.TENANT)
    db.session.commit()
    first, second = app.test_client(), app.test_client()
    login(first, user)
    login(second, user)

    first.post("/logout")

    assert second.get("/").status_code == 302


def test_password_change_ends_other_sessions(app):
    user = create_user_with_roles(create_corporation(), Role.TENANT)
    db.session.commit()
    first, second = app.test_client(), app.test_client()
    login(first, user)
    login(second, user)

    response = first.post(
        "/account/password",
        data={
            "current_password": PASSWORD,
            "new_password": "a much longer secret",
            "confirm": "a much longer secret",
        },
    )

    assert response.status_code == 302
    assert first.get("/").status_code == 200
    assert second.get("/").status_code == 302


def test_invitation_sets_password_once(app, client):
    admin = create_user_with_roles(create_corporation(), Role.ADMIN)
    from klusbank.accounts.services import create_user

    invited = create_user(
        admin.corporation,
        email="new@example.test",
        full_name="New Person",
        roles=[Role.TENANT],
    )
    db.session.commit()
    token = make_invitation_token(invited)

    first = client.post(
        f"/invitation/{token}",
        data={"password": "a long new password", "confirm": "a long new password"},
    )
    client.post("/logout")
    second = client.post(
        f"/invitation/{token}",
        data={"password": "another long password", "confirm": "another long password"},
    )

    assert first.status_code == 302
    assert second.status_code == 410


def test_invitation_expires(app, client):
    admin = create_user_with_roles(create_corporation(), Role.ADMIN)
    from klusbank.accounts.services import create_user

    invited = create_user(
        admin.corporation,
        email="late@example.test",
        full_name="Late",
        roles=[Role.TENANT],
    )
    db.session.commit()
    token = make_invitation_token(invited)

    with time_machine.travel(utcnow() + timedelta(days=8)):
        response = client.post(
            f"/invitation/{token}",
            data={"password": "a long new password", "confirm": "a long new password"},
        )

    assert response.status_code == 410
    db.session.refresh(invited)
    assert invited.password_hash is None


@pytest.mark.parametrize(
    "weak",
    ["aaaaaaaaaaaa", "123456789012", "wachtwoord123", "qwertyuiopas", "{email}"],
)
def test_easy_password_rejected(app, client, weak):
    user = create_user_with_roles(create_corporation(), Role.TENANT)
    db.session.commit()
    login(client, user)
    before = db.session.get(User, user.id).password_hash
    weak = weak.format(email=user.email)

    response = client.post(
        "/account/password",
        data={"current_password": PASSWORD, "new_password": weak, "confirm": weak},
    )

    assert response.status_code == 422
    assert "makkelijk te raden" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, user.id).password_hash == before
