import pytest
from sqlalchemy import select

from klusbank.accounts.services import create_api_token
from klusbank.extensions import db
from liability.models import Acceptance
from tests.factories import create_corporation, create_tenant, login
from tests.liability.helpers import create_briefing, publish


@pytest.fixture
def world(app):
    corporation = create_corporation()
    tenant = create_tenant(corporation, name="Kees Jansen")
    briefing = create_briefing(corporation)
    version = publish(briefing)
    _token, plain = create_api_token(tenant, "phone app")
    world = {
        "tenant": tenant,
        "headers": {"Authorization": f"Bearer {plain}"},
        "briefing_id": briefing.id,
        "version_id": version.id,
        "html_sha256": version.html_sha256,
    }
    db.session.commit()
    return world


def test_briefing_shows_standing_and_text(world, client):
    login(client, world["tenant"])

    response = client.get(f"/api/v1/briefings/{world['briefing_id']}")

    body = response.get_json()
    assert response.status_code == 200
    assert body["standing"] == "not_accepted"
    assert body["version"]["id"] == world["version_id"]
    assert body["version"]["html_sha256"] == world["html_sha256"]


def test_accept_through_api(world, client):
    response = client.post(
        f"/api/v1/briefings/{world['briefing_id']}/acceptances",
        headers=world["headers"],
        json={
            "version_id": world["version_id"],
            "shown_html_sha256": world["html_sha256"],
            "confirm_read": True,
            "full_name": "kees jansen",
        },
    )

    body = response.get_json()
    assert response.status_code == 201, body
    assert body["version_number"] == 1
    assert body["channel"] == "portal"
    assert body["receipt_url"].endswith("/receipt.pdf")
    acceptance = db.session.get(Acceptance, body["acceptance_id"])
    assert acceptance.login_method == "api_token"
    assert acceptance.session_sha256 is None
    standing = client.get(
        f"/api/v1/briefings/{world['briefing_id']}", headers=world["headers"]
    ).get_json()
    assert standing["standing"] == "covered"


def test_accept_rejects_string_boolean(world, client):
    response = client.post(
        f"/api/v1/briefings/{world['briefing_id']}/acceptances",
        headers=world["headers"],
        json={
            "version_id": world["version_id"],
            "shown_html_sha256": world["html_sha256"],
            "confirm_read": "yes",
            "full_name": "Kees Jansen",
        },
    )

    assert response.status_code == 422
    assert "confirm_read" in response.get_json()["errors"]
    assert db.session.scalar(select(Acceptance)) is None


def test_withdraw_without_acceptance_conflicts(world, client):
    response = client.post(
        f"/api/v1/briefings/{world['briefing_id']}/withdrawal",
        headers=world["headers"],
    )

    assert response.status_code == 409
    assert response.get_json()["code"] == "nothing_to_withdraw"


def test_foreign_acceptance_not_found(world, client):
    stranger = create_tenant(create_corporation())
    db.session.commit()
    login(client, stranger)

    response = client.get("/api/v1/briefing-acceptances/1")

    assert response.status_code == 404
