"""Claiming, withdrawing, submitting and expiring, through the JSON API and services."""

import io
from datetime import date, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError

from klusbank.db import utcnow
from klusbank.extensions import db
from participation import services
from participation.models import Claim, ClaimEvent, ClaimStatus, ProofKind
from tests.factories import create_corporation, create_tenant, create_unit
from tests.liability.helpers import accept, create_briefing, publish
from tests.participation.helpers import (
    claim_state,
    create_neighbourhood,
    png_bytes,
    row_counts,
    use_token,
)


def _claim_url(chore_id: int) -> str:
    return f"/api/v1/chores/{chore_id}/claims"


def test_claim_takes_lowest_free_slot(app, client):
    place = create_neighbourhood(create_corporation(), places=2)
    tenant = place.add_tenant()
    db.session.commit()
    use_token(client, tenant)

    response = client.post(_claim_url(place.chore.id), json={})

    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["status"] == "claimed"
    claim = db.session.get(Claim, body["id"])
    assert claim.slot == 1
    assert claim.chore_places == 2
    assert [event.to_status for event in claim.events] == [ClaimStatus.CLAIMED]
    assert claim.events[0].actor_id == tenant.id


def _refused_claim(client, chore_id: int, status: int, code: str | None):
    """Post a claim that must be refused; return the JSON body."""
    before = row_counts()
    response = client.post(_claim_url(chore_id), json={})
    body = response.get_json()
    db.session.expire_all()

    assert response.status_code == status, body
    if code:
        assert body["code"] == code
    assert body["message"]
    assert row_counts() == before
    return body


def test_claim_before_window_opens_is_refused(app, client):
    now = utcnow()
    place = create_neighbourhood(
        create_corporation(),
        opens_at=now + timedelta(days=1),
        closes_at=now + timedelta(days=3),
    )
    tenant = place.add_tenant(locale="en")
    db.session.commit()
    use_token(client, tenant)

    body = _refused_claim(client, place.chore.id, 409, "claim_window_not_open")

    assert "This chore can be claimed from" in body["message"]


def test_claim_after_window_closes_is_refused(app, client):
    now = utcnow()
    place = create_neighbourhood(
        create_corporation(),
        opens_at=now - timedelta(days=5),
        closes_at=now - timedelta(hours=1),
        deadline_at=now + timedelta(days=1),
        now=now - timedelta(days=6),
    )
    tenant = place.add_tenant()
    db.session.commit()
    use_token(client, tenant)

    _refused_claim(client, place.chore.id, 409, "claim_window_closed")


def test_claim_of_cancelled_chore_is_refused(app, client):
    place = create_neighbourhood(create_corporation())
    tenant = place.add_tenant()
    services.cancel_chore(place.caretaker, place.chore.id, "Regen voorspeld")
    db.session.commit()
    use_token(client, tenant)

    body = _refused_claim(client, place.chore.id, 409, "chore_cancelled")

    assert "Regen voorspeld" in body["message"]


def test_claim_after_tenancy_ended_is_refused(app, client):
    place = create_neighbourhood(create_corporation())
    unit = create_unit(place.corporation, place.cluster)
    former = create_tenant(
        place.corporation,
        unit,
        starts_on=date.today() - timedelta(days=400),
        ends_on=date.today() - timedelta(days=2),
    )
    db.session.commit()
    use_token(client, former)

    _refused_claim(client, place.chore.id, 409, "tenancy_ended")


def test_second_claim_by_same_tenant_is_refused(app, client):
    place = create_neighbourhood(create_corporation(), places=3)
    tenant = place.add_tenant()
    services.claim_chore(tenant, place.chore.id)
    db.session.commit()
    use_token(client, tenant)

    _refused_claim(client, place.chore.id, 409, "already_claimed")


def test_claim_when_places_are_taken_is_refused(app, client):
    place = create_neighbourhood(create_corporation(), places=1)
    first, second = place.add_tenant(), place.add_tenant()
    services.claim_chore(first, place.chore.id)
    db.session.commit()
    use_token(client, second)

    body = _refused_claim(client, place.chore.id, 409, "no_places_left")

    assert body["message"]


def test_claim_without_briefing_links_to_it(app, client):
    corporation = create_corporation()
    briefing = create_briefing(corporation)
    publish(briefing)
    place = create_neighbourhood(corporation, briefing=briefing)
    tenant = place.add_tenant()
    db.session.commit()
    use_token(client, tenant)

    body = _refused_claim(client, place.chore.id, 409, "briefing_required")

    assert f"/briefings/{briefing.id}" in body["link"]
    assert f"chores/{place.chore.id}" in body["link"]


def test_claim_with_briefing_stores_acceptance(app, client):
    corporation = create_corporation()
    briefing = create_briefing(corporation)
    version = publish(briefing)
    place = create_neighbourhood(corporation, briefing=briefing)
    tenant = place.add_tenant()
    acceptance = accept(tenant, version)
    db.session.commit()
    use_token(client, tenant)

    response = client.post(_claim_url(place.chore.id), json={})

    assert response.status_code == 201, response.get_json()
    claim = db.session.get(Claim, response.get_json()["id"])
    assert claim.acceptance_id == acceptance.id


def test_tenant_of_other_cluster_gets_404(app, client):
    place = create_neighbourhood(create_corporation())
    elsewhere = create_neighbourhood(create_corporation())
    outsider = elsewhere.add_tenant()
    db.session.commit()
    use_token(client, outsider)

    _refused_claim(client, place.chore.id, 404, None)


def test_withdraw_frees_the_place(app, client):
    place = create_neighbourhood(create_corporation(), places=1)
    tenant, other = place.add_tenant(), place.add_tenant()
    claim = services.claim_chore(tenant, place.chore.id)
    db.session.commit()
    use_token(client, tenant)

    response = client.post(f"/api/v1/claims/{claim.id}/withdraw", json={})

    assert response.status_code == 200, response.get_json()
    assert response.get_json()["status"] == "withdrawn"
    db.session.expire_all()
    assert db.session.get(Claim, claim.id).slot is None
    assert services.claim_chore(other, place.chore.id).slot == 1


def test_withdraw_after_submit_is_refused(app, client):
    place = create_neighbourhood(create_corporation())
    tenant = place.add_tenant()
    claim = services.claim_chore(tenant, place.chore.id)
    services.submit_claim(tenant, claim.id, note="Klaar")
    db.session.commit()
    use_token(client, tenant)
    before = claim_state(claim.id)

    response = client.post(f"/api/v1/claims/{claim.id}/withdraw", json={})

    assert response.status_code == 409
    assert response.get_json()["code"] == "claim_not_withdrawable"
    assert claim_state(claim.id) == before


def test_submit_records_note_and_hours(app, client):
    place = create_neighbourhood(create_corporation(), proof=ProofKind.NOTE)
    tenant = place.add_tenant()
    claim = services.claim_chore(tenant, place.chore.id)
    db.session.commit()
    use_token(client, tenant)

    response = client.post(
        f"/api/v1/claims/{claim.id}/submit",
        json={"note": "Alle trappen geveegd", "hours_spent": 1.5},
    )

    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["status"] == "submitted"
    assert body["hours_spent"] == 1.5
    assert body["note"] == "Alle trappen geveegd"
    assert [event["to_status"] for event in body["events"]] == ["claimed", "submitted"]


@pytest.mark.parametrize(
    ("proof", "payload", "field"),
    [
        (ProofKind.NOTE, {"note": "  "}, "note"),
        (ProofKind.PHOTO, {"note": "Klaar"}, "photo"),
        (ProofKind.NONE, {"hours_spent": 30}, "hours_spent"),
        (ProofKind.NONE, {"hours_spent": 0}, "hours_spent"),
    ],
)
def test_submit_without_required_proof_is_refused(app, client, proof, payload, field):
    place = create_neighbourhood(create_corporation(), proof=proof)
    tenant = place.add_tenant()
    claim = services.claim_chore(tenant, place.chore.id)
    db.session.commit()
    use_token(client, tenant)
    before = claim_state(claim.id)

    response = client.post(f"/api/v1/claims/{claim.id}/submit", json=payload)

    assert response.status_code == 422, response.get_json()
    assert field in response.get_json()["errors"]
    assert claim_state(claim.id) == before


def test_submit_photo_as_multipart(app, client):
    place = create_neighbourhood(create_corporation(), proof=ProofKind.PHOTO)
    tenant = place.add_tenant()
    claim = services.claim_chore(tenant, place.chore.id)
    db.session.commit()
    use_token(client, tenant)

    response = client.post(
        f"/api/v1/claims/{claim.id}/submit",
        data={"note": "Foto erbij", "hours_spent": "0,75", "photo": (_file(), "a.png")},
        content_type="multipart/form-data",
    )

    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["hours_spent"] == 0.75
    photo = client.get(body["photo_url"])
    photo.close()
    assert photo.status_code == 200
    assert photo.mimetype == "image/png"


def test_submit_file_that_is_no_image_is_refused(app, client):
    place = create_neighbourhood(create_corporation(), proof=ProofKind.PHOTO)
    tenant = place.add_tenant()
    claim = services.claim_chore(tenant, place.chore.id)
    db.session.commit()
    use_token(client, tenant)
    before = claim_state(claim.id)

    response = client.post(
        f"/api/v1/claims/{claim.id}/submit",
        data={"photo": (_file(b"<svg xmlns='http://www.w3.org/2000/svg'/>"), "a.png")},
        content_type="multipart/form-data",
    )

    assert response.status_code == 422
    assert "photo" in response.get_json()["errors"]
    assert claim_state(claim.id) == before


def test_submit_after_deadline_is_refused(app, client):
    now = utcnow()
    place = create_neighbourhood(
        create_corporation(),
        opens_at=now - timedelta(days=3),
        closes_at=now - timedelta(days=2),
        deadline_at=now - timedelta(hours=1),
        now=now - timedelta(days=4),
    )
    tenant = place.add_tenant()
    claim = services.claim_chore(
        tenant, place.chore.id, now=now - timedelta(days=2, hours=12)
    )
    db.session.commit()
    use_token(client, tenant)
    before = claim_state(claim.id)

    response = client.post(f"/api/v1/claims/{claim.id}/submit", json={"note": "Laat"})

    assert response.status_code == 409
    assert response.get_json()["code"] == "deadline_passed"
    assert claim_state(claim.id) == before


def test_expiry_frees_places_of_overdue_claims(app):
    now = utcnow()
    place = create_neighbourhood(
        create_corporation(),
        places=2,
        opens_at=now - timedelta(days=3),
        closes_at=now + timedelta(days=1),
        deadline_at=now + timedelta(days=2),
        now=now - timedelta(days=4),
    )
    late, done = place.add_tenant(), place.add_tenant()
    overdue = services.claim_chore(late, place.chore.id)
    submitted = services.claim_chore(done, place.chore.id)
    services.submit_claim(done, submitted.id, note="Klaar")
    db.session.commit()

    expired = services.expire_overdue_claims(now=now + timedelta(days=3))
    db.session.commit()

    assert expired == 1
    db.session.expire_all()
    assert db.session.get(Claim, overdue.id).status is ClaimStatus.EXPIRED
    assert db.session.get(Claim, overdue.id).slot is None
    assert db.session.get(Claim, submitted.id).status is ClaimStatus.SUBMITTED
    event = db.session.scalars(
        select(ClaimEvent)
        .where(ClaimEvent.claim_id == overdue.id)
        .order_by(ClaimEvent.id)
    ).all()[-1]
    assert event.actor_id is None
    assert event.from_status is ClaimStatus.CLAIMED


def test_expiry_runs_from_the_cli(app, runner):
    now = utcnow()
    place = create_neighbourhood(
        create_corporation(),
        opens_at=now - timedelta(days=3),
        closes_at=now - timedelta(days=2),
        deadline_at=now - timedelta(days=1),
        now=now - timedelta(days=4),
    )
    tenant = place.add_tenant()
    services.claim_chore(tenant, place.chore.id, now=now - timedelta(days=2, hours=6))
    db.session.commit()

    result = runner.invoke(args=["participation", "expire-claims"])

    assert result.exit_code == 0, result.output
    assert "expired 1 claims" in result.output


def test_claim_events_are_append_only(app):
    place = create_neighbourhood(create_corporation())
    tenant = place.add_tenant()
    claim = services.claim_chore(tenant, place.chore.id)
    db.session.commit()
    event = claim.events[0]

    with pytest.raises(DBAPIError, match="append-only"):
        db.session.execute(
            ClaimEvent.__table__.update()
            .where(ClaimEvent.id == event.id)
            .values(reason="changed")
        )
    db.session.rollback()
    with pytest.raises(DBAPIError, match="append-only"):
        db.session.execute(
            ClaimEvent.__table__.delete().where(ClaimEvent.id == event.id)
        )
    db.session.rollback()


def _file(content: bytes | None = None):
    return io.BytesIO(content if content is not None else png_bytes())


def test_claim_with_shown_terms_succeeds(app, client):
    place = create_neighbourhood(create_corporation())
    tenant = place.add_tenant()
    db.session.commit()
    use_token(client, tenant)
    shown = client.get(f"/api/v1/chores/{place.chore.id}").get_json()

    response = client.post(
        _claim_url(place.chore.id), json={"terms_digest": shown["terms_digest"]}
    )

    assert response.status_code == 201, response.get_json()
    assert len(shown["terms_digest"]) == 16
