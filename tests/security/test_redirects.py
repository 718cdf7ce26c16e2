"""The ``next`` parameter only ever leads to a path on this site."""

import pytest

from klusbank.security import is_safe_redirect
from tests.factories import PASSWORD

# Targets that browsers would follow to another host, or that run script.
OFFSITE_TARGETS = [
    "//evil.example",
    "////evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "/\t/evil.example",
    "/%09/evil.example",
    "/%0a/evil.example",
    "/%5Cevil.example",
    "%2F%2Fevil.example",
    "/%2F/evil.example",
    "http://evil.example",
    "https://evil.example/account",
    "HTTPS://evil.example",
    "https:evil.example",
    "http:/evil.example",
    "javascript:alert(1)",
    "JavaScript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "evil.example",
    " //evil.example",
    "/\u3000/evil.example",
    "/\x00/evil.example",
    "",
    None,
]
# Query strings as a browser sends them, decoded once by the app.
ENCODED_QUERIES = [
    "next=/%09/evil.example",
    "next=%2F%2Fevil.example",
    "next=/%5Cevil.example",
    "next=%2F%5Cevil.example",
    "next=/%E3%80%80/evil.example",
]
LOCAL_TARGETS = ["/", "/account", "/account?tab=tokens", "/housing/clusters/1#units"]


@pytest.mark.parametrize("target", OFFSITE_TARGETS)
def test_offsite_target_rejected(target):
    assert not is_safe_redirect(target)


@pytest.mark.parametrize("target", LOCAL_TARGETS)
def test_local_path_accepted(target):
    assert is_safe_redirect(target)


def login_with_next(client, user, next_value=None, raw_query=None):
    data = {"email": user.email, "password": PASSWORD}
    if raw_query is not None:
        return client.post(f"/login?{raw_query}", data=data)
    return client.post("/login", data=data, query_string={"next": next_value})


def test_login_ignores_offsite_next(app, world):
    followed = []

    for target in filter(None, OFFSITE_TARGETS):
        response = login_with_next(app.test_client(), world.tenant_a, target)
        # A target with a NUL character is rejected as invalid input (422)
        # before the login runs, which follows nothing either.
        if "\x00" in target and response.status_code == 422:
            continue
        if response.status_code != 302 or response.headers["Location"] != "/":
            followed.append(f"{target!r}: {response.headers.get('Location')}")

    assert not followed, "Login followed offsite targets:\n  " + "\n  ".join(followed)


def test_login_ignores_encoded_next(app, world):
    followed = []

    for raw_query in ENCODED_QUERIES:
        response = login_with_next(
            app.test_client(), world.tenant_a, raw_query=raw_query
        )
        if response.status_code != 302 or response.headers["Location"] != "/":
            followed.append(f"{raw_query}: {response.headers.get('Location')}")

    assert not followed, "Login followed offsite targets:\n  " + "\n  ".join(followed)


def test_login_follows_local_next(app, world, client):
    response = login_with_next(client, world.tenant_a, "/account?tab=tokens")

    assert response.status_code == 302
    assert response.headers["Location"] == "/account?tab=tokens"


def test_login_redirect_keeps_requested_page(app, world, client):
    asked = client.get("/account")
    response = client.post(
        asked.location, data={"email": world.tenant_a.email, "password": PASSWORD}
    )

    assert asked.status_code == 302
    assert response.headers["Location"] == "/account"


def test_language_switch_ignores_offsite_next(app, client):
    response = client.post("/language", data={"locale": "en", "next": "//evil.example"})

    assert response.status_code == 302
    assert response.headers["Location"] == "/"
