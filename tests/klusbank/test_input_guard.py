"""Text that no database can store is rejected before any view reads it."""

import pytest

from klusbank.extensions import db
from tests.factories import create_corporation, login
from tests.participation.helpers import create_neighbourhood, row_counts, use_token


@pytest.mark.parametrize("bad_text", ["Trap\x00pen", "Trap\ud800pen"])
def test_api_rejects_unstorable_title(app, client, bad_text):
    place = create_neighbourhood(create_corporation())
    use_token(client, place.caretaker)
    counts = row_counts()

    response = client.post(
        "/api/v1/chores",
        json={"cluster_id": place.cluster.id, "title": bad_text, "places": 1},
    )

    body = response.get_json()
    assert response.status_code == 422
    assert list(body["errors"]) == ["title"]
    assert "stuurteken" in body["message"]
    assert row_counts() == counts


def test_portal_form_rejects_nul(app, client):
    place = create_neighbourhood(create_corporation())
    db.session.commit()
    login(client, place.caretaker)
    counts = row_counts()

    response = client.post(
        "/participation/manage/new",
        data={"cluster_id": place.cluster.id, "title": "Ramen\x00lappen"},
    )

    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Dit veld bevat een stuurteken" in page
    assert 'aria-invalid="true"' in page
    assert row_counts() == counts


@pytest.mark.parametrize("control", ["\x07", "\x1b", "\x7f"])
def test_portal_form_keeps_input_on_control_character(app, client, control):
    place = create_neighbourhood(create_corporation())
    db.session.commit()
    login(client, place.caretaker)
    counts = row_counts()

    response = client.post(
        "/participation/manage/new",
        data={
            "cluster_id": place.cluster.id,
            "title": f"Ramen{control}lappen",
            "description": "Alle ramen van de hal.",
        },
    )

    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Dit veld bevat een stuurteken" in page
    assert "Alle ramen van de hal." in page
    assert row_counts() == counts


def test_api_rejects_bell_in_title(app, client):
    place = create_neighbourhood(create_corporation())
    use_token(client, place.caretaker)

    response = client.post(
        "/api/v1/chores",
        json={"cluster_id": place.cluster.id, "title": "Trap\x07pen", "places": 1},
    )

    assert response.status_code == 422
    assert list(response.get_json()["errors"]) == ["title"]


def test_tab_and_newline_pass(app, client):
    place = create_neighbourhood(create_corporation())
    db.session.commit()
    login(client, place.caretaker)

    response = client.post(
        "/participation/manage/new",
        data={"cluster_id": place.cluster.id, "description": "Regel 1\r\n\tRegel 2"},
    )

    assert "stuurteken" not in response.get_data(as_text=True)


def test_query_string_nul_rejected(app, client):
    place = create_neighbourhood(create_corporation())
    use_token(client, place.add_tenant())

    response = client.get("/api/v1/chores?sort=points%00")

    assert response.status_code == 422
    assert list(response.get_json()["errors"]) == ["sort"]


def test_ordinary_text_passes(app, client):
    place = create_neighbourhood(create_corporation())
    use_token(client, place.add_tenant())

    response = client.get("/api/v1/chores?sort=points")

    assert response.status_code == 200


@pytest.mark.parametrize(
    "path", ["/api/v1/rewards/rules", "/api/v1/chores/1/claims", "/api/v1/me/balance"]
)
def test_deeply_nested_json_rejected(app, client, path):
    client.environ_base["HTTP_AUTHORIZATION"] = "Bearer not-a-token"

    response = client.post(
        path, data=b"[" * 5000 + b"]" * 5000, content_type="application/json"
    )

    assert 400 <= response.status_code < 500
    assert response.is_json
