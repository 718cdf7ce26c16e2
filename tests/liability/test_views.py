import io
import re
from datetime import timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from klusbank.accounts.access import today
from klusbank.extensions import db
from klusbank.housing.models import Tenancy
from liability.models import Acceptance, BriefingVersion, Withdrawal
from tests.factories import (
    create_admin,
    create_caretaker,
    create_cluster,
    create_corporation,
    create_finance,
    create_tenant,
    create_unit,
    login,
)
from tests.liability.helpers import accept, create_briefing, publish


@pytest.fixture
def world(app):
    corporation = create_corporation()
    cluster = create_cluster(corporation)
    other_cluster = create_cluster(corporation)
    tenant = create_tenant(
        corporation, create_unit(corporation, cluster), name="Fatima el Amrani"
    )
    briefing = create_briefing(corporation)
    version = publish(briefing)
    world = {
        "corporation": corporation,
        "cluster": cluster,
        "tenant": tenant,
        "neighbour": create_tenant(corporation, create_unit(corporation, cluster)),
        "caretaker": create_caretaker(corporation, cluster),
        "other_caretaker": create_caretaker(corporation, other_cluster),
        "admin": create_admin(corporation),
        "finance": create_finance(corporation),
        "briefing_id": briefing.id,
        "version_id": version.id,
        "html_sha256": version.html_sha256,
    }
    db.session.commit()
    return world


def _accept_form(world, **overrides):
    data = {
        "version_id": str(world["version_id"]),
        "shown_sha256": world["html_sha256"],
        "next": "/chores/3",
        "confirm_read": "y",
        "full_name": "FATIMA  el amrani",
    }
    data.update(overrides)
    return data


def test_briefing_page_shows_text_and_form(world, client):
    login(client, world["tenant"])

    response = client.get(f"/liability/briefings/{world['briefing_id']}?next=/chores/3")

    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Do not climb ladders higher than 1.5 metres." in page
    assert world["html_sha256"] in page
    assert 'value="/chores/3"' in page


def test_accept_in_portal_records_evidence(world, client):
    # Strong session protection ends a session whose browser changes, so the
    # login and the acceptance send the same User-Agent.
    client.environ_base["HTTP_USER_AGENT"] = "Mozilla/5.0 test"
    login(client, world["tenant"])

    response = client.post(
        f"/liability/briefings/{world['briefing_id']}/accept",
        data=_accept_form(world),
    )

    assert response.status_code == 302
    assert response.headers["Location"] == "/chores/3"
    acceptance = db.session.scalar(select(Acceptance))
    assert acceptance.tenant_id == world["tenant"].id
    assert acceptance.user_agent == "Mozilla/5.0 test"
    assert acceptance.ip_address == "127.0.0.1"
    assert acceptance.login_method == "password"
    assert re.fullmatch(r"[0-9a-f]{64}", acceptance.session_sha256)
    assert acceptance.rendered_sha256 == world["html_sha256"]


def test_accept_with_wrong_name_shows_error(world, client):
    login(client, world["tenant"])

    response = client.post(
        f"/liability/briefings/{world['briefing_id']}/accept",
        data=_accept_form(world, full_name="Jan de Vries"),
    )

    assert response.status_code == 422
    assert "komt niet overeen met de naam van uw account" in response.get_data(
        as_text=True
    )
    assert db.session.scalar(select(Acceptance)) is None


def test_accept_ignores_offsite_next(world, client):
    login(client, world["tenant"])

    response = client.post(
        f"/liability/briefings/{world['briefing_id']}/accept",
        data=_accept_form(world, next="https://evil.example/"),
    )

    assert response.status_code == 302
    assert response.headers["Location"].endswith(
        f"/liability/briefings/{world['briefing_id']}"
    )


def test_withdraw_in_portal(world, client):
    login(client, world["tenant"])
    client.post(
        f"/liability/briefings/{world['briefing_id']}/accept", data=_accept_form(world)
    )

    response = client.post(
        f"/liability/briefings/{world['briefing_id']}/withdraw",
        data={"reason": "Knee injury"},
    )

    assert response.status_code == 302
    withdrawal = db.session.scalar(select(Withdrawal))
    assert withdrawal.reason == "Knee injury"
    assert withdrawal.recorded_by_id == world["tenant"].id


def test_other_corporation_briefing_not_found(world, client):
    outsider = create_tenant(create_corporation())
    db.session.commit()
    login(client, outsider)

    response = client.get(f"/liability/briefings/{world['briefing_id']}")

    assert response.status_code == 404


def _version(world):
    return db.session.get(BriefingVersion, world["version_id"])


def test_receipt_contains_text_and_hash(world, client):
    acceptance = accept(world["tenant"], _version(world))
    acceptance_id, text_hash = acceptance.id, acceptance.text_sha256
    db.session.commit()
    login(client, world["tenant"])

    response = client.get(f"/liability/acceptances/{acceptance_id}/receipt.pdf")

    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    reader = PdfReader(io.BytesIO(response.data))
    text = " ".join(" ".join(page.extract_text() for page in reader.pages).split())
    assert "Wear gloves when you pick up litter." in text
    assert "Do not climb ladders higher than 1.5 metres." in text
    assert "Call the caretaker on 010 123 4567 when something is unsafe." in text
    assert text_hash in text
    assert str(acceptance_id) in text


@pytest.mark.parametrize(
    "viewer, status",
    [
        ("tenant", 200),
        ("caretaker", 200),
        ("admin", 200),
        ("neighbour", 404),
        ("other_caretaker", 404),
        ("finance", 404),
    ],
)
def test_receipt_access(world, app, viewer, status):
    acceptance_id = accept(world["tenant"], _version(world)).id
    db.session.commit()
    client = app.test_client()
    login(client, world[viewer])

    response = client.get(f"/liability/acceptances/{acceptance_id}/receipt.pdf")

    assert response.status_code == status


def test_receipt_visible_to_caretaker_of_new_home(world, app):
    acceptance_id = accept(world["tenant"], _version(world)).id
    corporation = world["corporation"]
    new_cluster = create_cluster(corporation)
    old_tenancy = world["tenant"].tenancies[0]
    old_tenancy.ends_on = today() - timedelta(days=1)
    db.session.add(
        Tenancy(
            user_id=world["tenant"].id,
            unit_id=create_unit(corporation, new_cluster).id,
            reference="HC-moved",
            starts_on=today(),
        )
    )
    new_caretaker = create_caretaker(corporation, new_cluster)
    db.session.commit()
    client = app.test_client()
    login(client, new_caretaker)

    response = client.get(f"/liability/acceptances/{acceptance_id}/receipt.pdf")

    assert response.status_code == 200
