"""Session and remember cookies: flags, binding to the client, ending, idle expiry."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from flask.testing import FlaskClient

from klusbank.extensions import db
from tests.factories import PASSWORD
from tests.security.helpers import login_with_form

SERVER = "klusbank.test"
HTTPS_BASE = f"https://{SERVER}"
HOME_ADDRESS = {"REMOTE_ADDR": "192.0.2.10", "HTTP_USER_AGENT": "Firefox/128"}
START = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)


def copy_cookie(source: FlaskClient, target: FlaskClient, name: str) -> None:
    """Give ``target`` the value of one of ``source``'s cookies, as a thief would."""
    cookie = source.get_cookie(name, domain=SERVER)
    assert cookie is not None, f"{name} cookie missing"
    target.set_cookie(name, cookie.value, domain=SERVER)


def client_at(app, environ: dict[str, str]) -> FlaskClient:
    client = app.test_client()
    client.environ_base.update(environ)
    return client


def set_cookie_headers(response, name: str) -> list[str]:
    return [
        header
        for header in response.headers.getlist("Set-Cookie")
        if header.startswith(f"{name}=")
    ]


class TestCookieFlags:
    @pytest.fixture
    def app_config(self, app_config):
        app_config.update(ENV="production", SECRET_KEY="s" * 64)
        return app_config

    def test_production_cookies_secure(self, app, world):
        response = login_with_form(
            app.test_client(), world.tenant_a, remember=True, base_url=HTTPS_BASE
        )
        session_cookie = set_cookie_headers(response, "session")
        remember_cookie = set_cookie_headers(response, "remember_token")

        assert len(session_cookie) == 1
        assert "Secure" in session_cookie[0]
        assert "HttpOnly" in session_cookie[0]
        assert "SameSite=Lax" in session_cookie[0]
        assert len(remember_cookie) == 1
        assert "Secure" in remember_cookie[0]
        assert "HttpOnly" in remember_cookie[0]
        assert "SameSite=Lax" in remember_cookie[0]

    def test_production_redirects_plain_http(self, app, world):
        response = app.test_client().get("/login")

        assert response.status_code == 302
        assert response.location.startswith("https://")


def test_development_cookies_http_only(app, world, client):
    response = login_with_form(client, world.tenant_a, remember=True)
    session_cookie = set_cookie_headers(response, "session")[0]
    remember_cookie = set_cookie_headers(response, "remember_token")[0]

    assert "Secure" not in session_cookie
    assert "HttpOnly" in session_cookie
    assert "SameSite=Lax" in session_cookie
    assert "HttpOnly" in remember_cookie
    assert "SameSite=Lax" in remember_cookie


def test_session_works_from_same_client(app, world):
    owner, same_place = client_at(app, HOME_ADDRESS), client_at(app, HOME_ADDRESS)
    login_with_form(owner, world.tenant_a)
    copy_cookie(owner, same_place, "session")

    assert same_place.get("/").status_code == 200


def test_stolen_session_from_other_address(app, world):
    owner = client_at(app, HOME_ADDRESS)
    thief = client_at(app, {**HOME_ADDRESS, "REMOTE_ADDR": "198.51.100.7"})
    login_with_form(owner, world.tenant_a)
    copy_cookie(owner, thief, "session")

    response = thief.get("/")

    assert response.status_code == 302
    assert owner.get("/").status_code == 200


def test_stolen_session_from_other_browser(app, world):
    owner = client_at(app, HOME_ADDRESS)
    thief = client_at(app, {**HOME_ADDRESS, "HTTP_USER_AGENT": "curl/8"})
    login_with_form(owner, world.tenant_a)
    copy_cookie(owner, thief, "session")

    assert thief.get("/").status_code == 302


def test_stolen_session_with_forged_forwarded_for(app, world):
    owner = client_at(app, HOME_ADDRESS)
    thief = client_at(
        app,
        {
            **HOME_ADDRESS,
            "REMOTE_ADDR": "198.51.100.7",
            "HTTP_X_FORWARDED_FOR": HOME_ADDRESS["REMOTE_ADDR"],
        },
    )
    login_with_form(owner, world.tenant_a)
    copy_cookie(owner, thief, "session")

    assert thief.get("/").status_code == 302


class TestBehindProxy:
    PROXY = {"REMOTE_ADDR": "10.0.0.2", "HTTP_USER_AGENT": "Firefox/128"}

    @pytest.fixture
    def app_config(self, app_config):
        app_config["TRUSTED_PROXY_COUNT"] = 1
        return app_config

    def test_session_follows_forwarded_address(self, app, world):
        owner = client_at(app, {**self.PROXY, "HTTP_X_FORWARDED_FOR": "192.0.2.10"})
        same_place = client_at(
            app, {**self.PROXY, "HTTP_X_FORWARDED_FOR": "192.0.2.10"}
        )
        login_with_form(owner, world.tenant_a)
        copy_cookie(owner, same_place, "session")

        assert same_place.get("/").status_code == 200

    def test_forged_first_forwarded_address(self, app, world):
        owner = client_at(app, {**self.PROXY, "HTTP_X_FORWARDED_FOR": "192.0.2.10"})
        # The proxy appends the thief's real address to the forged header.
        thief = client_at(
            app, {**self.PROXY, "HTTP_X_FORWARDED_FOR": "192.0.2.10, 198.51.100.7"}
        )
        login_with_form(owner, world.tenant_a)
        copy_cookie(owner, thief, "session")

        assert thief.get("/").status_code == 302


def test_remember_cookie_restores_session(app, world):
    owner, later = client_at(app, HOME_ADDRESS), client_at(app, HOME_ADDRESS)
    login_with_form(owner, world.tenant_a, remember=True)
    copy_cookie(owner, later, "remember_token")

    assert later.get("/").status_code == 200


def test_logout_ends_remember_cookies(app, world):
    owner, other_device = client_at(app, HOME_ADDRESS), client_at(app, HOME_ADDRESS)
    login_with_form(owner, world.tenant_a, remember=True)
    login_with_form(other_device, world.tenant_a, remember=True)
    stolen = client_at(app, HOME_ADDRESS)
    copy_cookie(owner, stolen, "remember_token")

    response = owner.post("/logout")

    assert response.status_code == 302
    assert any(
        "Expires=Thu, 01 Jan 1970" in header
        for header in set_cookie_headers(response, "remember_token")
    )
    assert owner.get("/").status_code == 302
    assert other_device.get("/").status_code == 302
    assert stolen.get("/").status_code == 302


def test_password_change_ends_other_sessions(app, world):
    owner, other_device = client_at(app, HOME_ADDRESS), client_at(app, HOME_ADDRESS)
    login_with_form(owner, world.tenant_a, remember=True)
    login_with_form(other_device, world.tenant_a)
    stolen = client_at(app, HOME_ADDRESS)
    copy_cookie(owner, stolen, "remember_token")
    new_password = "another long passphrase"

    response = owner.post(
        "/account/password",
        data={
            "current_password": PASSWORD,
            "new_password": new_password,
            "confirm": new_password,
        },
    )

    assert response.status_code == 302
    assert owner.get("/").status_code == 200
    assert other_device.get("/").status_code == 302
    assert stolen.get("/").status_code == 302


def test_role_change_ends_sessions(app, world, actors):
    tenant = actors.client("tenant_a")
    admin = actors.client("admin")

    response = admin.post(
        f"/admin/users/{world.tenant_a.id}/roles",
        data={"roles": ["tenant", "caretaker"]},
    )

    assert response.status_code == 302
    assert tenant.get("/").status_code == 302


def test_deactivated_user_loses_session(app, world, actors):
    tenant = actors.client("tenant_a")
    world.tenant_a.is_active_account = False
    db.session.commit()

    assert tenant.get("/").status_code == 302


def test_session_expires_after_idle_time(app, world):
    with time_machine.travel(START, tick=False) as traveller:
        client = client_at(app, HOME_ADDRESS)
        login_with_form(client, world.tenant_a)
        traveller.shift(timedelta(minutes=29))
        active = client.get("/")
        traveller.shift(timedelta(minutes=29))
        still_active = client.get("/")
        session_cookie = client.get_cookie("session", domain=SERVER).value
        traveller.shift(timedelta(minutes=31))
        idle = client.get("/")
        replayed = client_at(app, HOME_ADDRESS)
        replayed.set_cookie("session", session_cookie, domain=SERVER)
        replay = replayed.get("/")

    assert active.status_code == 200
    assert still_active.status_code == 200
    assert idle.status_code == 302
    assert idle.location.startswith("/login")
    assert replay.status_code == 302


def test_idle_lifetime_is_configurable(app_config, app, world):
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(minutes=5)
    with time_machine.travel(START, tick=False) as traveller:
        client = client_at(app, HOME_ADDRESS)
        login_with_form(client, world.tenant_a)
        traveller.shift(timedelta(minutes=6))
        idle = client.get("/")

    assert idle.status_code == 302
