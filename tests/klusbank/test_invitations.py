"""Invitation links: a used, expired or invalid link shows why instead of the form."""

from datetime import timedelta

import pytest
import time_machine

from klusbank.accounts.models import Role
from klusbank.accounts.services import create_user, make_invitation_token
from klusbank.db import utcnow
from klusbank.extensions import db
from tests.factories import create_corporation

NEW_PASSWORD = "a long new password"
ENGLISH = {"Accept-Language": "en"}


@pytest.fixture
def invited(app):
    user = create_user(
        create_corporation(),
        email="invited@example.test",
        full_name="Invited Person",
        roles=[Role.TENANT],
    )
    db.session.commit()
    return user


def set_password(client, token: str, password: str = NEW_PASSWORD):
    return client.post(
        f"/invitation/{token}", data={"password": password, "confirm": password}
    )


def test_fresh_invitation_shows_form(app, client, invited):
    response = client.get(f"/invitation/{make_invitation_token(invited)}")

    assert response.status_code == 200
    assert 'name="password"' in response.get_data(as_text=True)


def test_used_invitation_explains(app, invited):
    token = make_invitation_token(invited)
    assert set_password(app.test_client(), token).status_code == 302

    dutch = app.test_client().get(f"/invitation/{token}")
    english = app.test_client().get(f"/invitation/{token}", headers=ENGLISH)
    again = set_password(app.test_client(), token, "another long password")

    assert dutch.status_code == 410
    assert "Deze uitnodiging is al gebruikt" in dutch.get_data(as_text=True)
    assert 'name="password"' not in dutch.get_data(as_text=True)
    assert english.status_code == 410
    assert "This invitation was already used" in english.get_data(as_text=True)
    assert "ask your administrator" in english.get_data(as_text=True)
    assert 'href="/login"' in english.get_data(as_text=True)
    assert again.status_code == 410


def test_used_invitation_keeps_password(app, invited):
    token = make_invitation_token(invited)
    set_password(app.test_client(), token)
    db.session.refresh(invited)
    first_hash = invited.password_hash

    set_password(app.test_client(), token, "another long password")
    db.session.refresh(invited)

    assert invited.password_hash == first_hash


def test_expired_invitation_explains(app, invited):
    token = make_invitation_token(invited)

    with time_machine.travel(utcnow() + timedelta(days=8)):
        dutch = app.test_client().get(f"/invitation/{token}")
        english = app.test_client().get(f"/invitation/{token}", headers=ENGLISH)
        posted = set_password(app.test_client(), token)

    assert dutch.status_code == 410
    assert "Deze uitnodiging is verlopen" in dutch.get_data(as_text=True)
    assert english.status_code == 410
    assert "This invitation has expired" in english.get_data(as_text=True)
    assert posted.status_code == 410
    db.session.refresh(invited)
    assert invited.password_hash is None


def test_invalid_invitation_not_found(app, client, invited):
    token = make_invitation_token(invited)[:-4] + "AAAA"

    response = client.get(f"/invitation/{token}", headers=ENGLISH)

    assert response.status_code == 404
    assert "This invitation link is invalid" in response.get_data(as_text=True)


def test_deactivated_user_invitation_not_found(app, client, invited):
    token = make_invitation_token(invited)
    invited.is_active_account = False
    db.session.commit()

    response = client.get(f"/invitation/{token}")

    assert response.status_code == 404
