"""Portal pages: tenants claim and submit, caretakers post and review, admins configure."""

import io
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from klusbank.db import utcnow
from klusbank.extensions import db
from participation import services
from participation.forms import utc_to_amsterdam
from participation.models import Chore, ChoreCategory, Claim, ClaimStatus, ProofKind
from tests.factories import create_admin, create_corporation, create_finance, login
from tests.liability.helpers import accept, create_briefing, publish
from tests.participation.helpers import (
    claim_state,
    create_neighbourhood,
    png_bytes,
    row_counts,
    submitted_claim,
)


def _local(moment) -> str:
    return utc_to_amsterdam(moment).strftime("%Y-%m-%dT%H:%M")


def test_tenant_lists_and_claims_chore(app, client):
    place = create_neighbourhood(create_corporation(), title="Ramen lappen")
    tenant = place.add_tenant()
    db.session.commit()
    login(client, tenant)

    listing = client.get("/participation/chores?sort=points&available_only=y")
    detail = client.get(f"/participation/chores/{place.chore.id}")
    claimed = client.post(f"/participation/chores/{place.chore.id}/claim")

    assert listing.status_code == 200
    assert "Ramen lappen" in listing.get_data(as_text=True)
    assert detail.status_code == 200
    assert claimed.status_code == 302
    page = client.get(claimed.headers["Location"])
    assert page.status_code == 200
    assert "Ramen lappen" in page.get_data(as_text=True)


def test_tenant_submits_photo_in_portal(app, client):
    place = create_neighbourhood(create_corporation(), proof=ProofKind.PHOTO)
    tenant = place.add_tenant()
    claim = services.claim_chore(tenant, place.chore.id)
    db.session.commit()
    login(client, tenant)

    response = client.post(
        f"/participation/claims/{claim.id}/submit",
        data={"note": "Klaar", "photo": (io.BytesIO(png_bytes()), "werk.png")},
        content_type="multipart/form-data",
    )
    photo = client.get(f"/participation/claims/{claim.id}/photo")
    photo.close()

    assert response.status_code == 302
    assert photo.status_code == 200
    assert photo.headers["Cache-Control"] == "private, no-store"
    assert claim_state(claim.id)[0] is ClaimStatus.SUBMITTED


def test_tenant_withdraws_in_portal(app, client):
    place = create_neighbourhood(create_corporation())
    tenant = place.add_tenant()
    claim = services.claim_chore(tenant, place.chore.id)
    db.session.commit()
    login(client, tenant)

    response = client.post(f"/participation/claims/{claim.id}/withdraw")
    overview = client.get("/participation/claims")

    assert response.status_code == 302
    assert claim_state(claim.id)[0] is ClaimStatus.WITHDRAWN
    assert overview.status_code == 200


def test_photo_hidden_from_neighbours_elsewhere(app, client):
    place = create_neighbourhood(create_corporation(), proof=ProofKind.PHOTO)
    tenant = place.add_tenant()
    claim = services.claim_chore(tenant, place.chore.id)
    services.submit_claim(tenant, claim.id, note="Klaar", photo=png_bytes())
    same_cluster_neighbour = place.add_tenant()
    other = create_neighbourhood(create_corporation())
    outsider = other.add_tenant()
    db.session.commit()

    for viewer in (same_cluster_neighbour, outsider, other.caretaker):
        viewer_client = app.test_client()
        login(viewer_client, viewer)
        photo = viewer_client.get(f"/participation/claims/{claim.id}/photo")
        photo.close()
        assert photo.status_code == 404, viewer
    login(client, place.caretaker)
    staff_view = client.get(f"/participation/claims/{claim.id}/photo")
    staff_view.close()
    assert staff_view.status_code == 200


def test_tenant_elsewhere_cannot_see_chore_or_claim(app, client):
    place = create_neighbourhood(create_corporation(), title="Fietsenstalling vegen")
    claim = submitted_claim(place.add_tenant(), place.chore)
    outsider = create_neighbourhood(create_corporation()).add_tenant()
    db.session.commit()
    login(client, outsider)
    counts = row_counts()

    listing = client.get("/participation/chores")
    pages = [
        client.get(f"/participation/chores/{place.chore.id}"),
        client.get(f"/participation/claims/{claim.id}"),
        client.post(f"/participation/chores/{place.chore.id}/claim"),
        client.post(f"/participation/claims/{claim.id}/withdraw"),
        client.post(f"/participation/claims/{claim.id}/submit", data={"note": "x"}),
        client.get(f"/participation/review/claims/{claim.id}"),
        client.get(f"/participation/claims/{claim.id}/photo"),
        client.get(f"/api/v1/chores/{place.chore.id}"),
        client.get(f"/api/v1/claims/{claim.id}"),
        client.get(f"/api/v1/claims/{claim.id}/photo"),
    ]

    assert place.chore.title not in listing.get_data(as_text=True)
    assert [page.status_code for page in pages] == [404] * len(pages)
    assert row_counts() == counts


def test_refused_claim_page_names_reason(app, client):
    place = create_neighbourhood(create_corporation(), places=1)
    first, second = place.add_tenant(), place.add_tenant(locale="en")
    services.claim_chore(first, place.chore.id)
    db.session.commit()
    login(client, second)
    counts = row_counts()

    response = client.post(f"/participation/chores/{place.chore.id}/claim")

    assert response.status_code == 409
    assert "All places on this chore are taken" in response.get_data(as_text=True)
    assert row_counts() == counts


def test_missing_briefing_page_links_to_it(app, client):
    corporation = create_corporation()
    briefing = create_briefing(corporation)
    publish(briefing)
    place = create_neighbourhood(corporation, briefing=briefing)
    tenant = place.add_tenant(locale="en")
    db.session.commit()
    login(client, tenant)
    counts = row_counts()

    response = client.post(f"/participation/chores/{place.chore.id}/claim")

    html = response.get_data(as_text=True)
    assert response.status_code == 409
    assert f"/liability/briefings/{briefing.id}" in html
    assert "Read and accept the safety briefing" in html
    assert row_counts() == counts


def test_caretaker_posts_monthly_chore(app, client):
    place = create_neighbourhood(create_corporation())
    db.session.commit()
    login(client, place.caretaker)
    now = utcnow()
    before = db.session.scalar(select(func.count()).select_from(Chore))

    form = client.get("/participation/manage/new")
    response = client.post(
        "/participation/manage/new",
        data={
            "cluster_id": place.cluster.id,
            "category_id": place.category.id,
            "title": "Containers buitenzetten",
            "description": "",
            "reward_points": 5,
            "reward_mode": "each",
            "places": 1,
            "proof": "none",
            "claim_opens_at": _local(now),
            "claim_closes_at": _local(now + timedelta(days=2)),
            "deadline_at": _local(now + timedelta(days=3)),
            "recurrence": "monthly",
            "occurrences": 3,
        },
    )

    assert form.status_code == 200
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    assert db.session.scalar(select(func.count()).select_from(Chore)) == before + 3


def test_caretaker_form_errors_rerender(app, client):
    place = create_neighbourhood(create_corporation())
    db.session.commit()
    login(client, place.caretaker)
    counts = row_counts()

    response = client.post(
        "/participation/manage/new",
        data={"cluster_id": place.cluster.id, "title": "x", "reward_points": 0},
    )

    assert response.status_code == 422
    assert 'aria-invalid="true"' in response.get_data(as_text=True)
    assert row_counts() == counts


def test_edit_after_claim_is_refused(app, client):
    place = create_neighbourhood(create_corporation(), places=2)
    services.claim_chore(place.add_tenant(), place.chore.id)
    db.session.commit()
    login(client, place.caretaker)
    now = utcnow()

    response = client.post(
        f"/participation/manage/chores/{place.chore.id}/edit",
        data={
            "cluster_id": place.cluster.id,
            "category_id": place.category.id,
            "title": "Andere titel",
            "reward_points": 50,
            "reward_mode": "each",
            "places": 2,
            "proof": "none",
            "claim_opens_at": _local(now),
            "claim_closes_at": _local(now + timedelta(days=2)),
            "deadline_at": _local(now + timedelta(days=3)),
        },
    )

    assert response.status_code == 409
    db.session.expire_all()
    chore = db.session.get(Chore, place.chore.id)
    assert chore.title == "Trappenhuis vegen"
    assert chore.reward_points == 10


def test_caretaker_edits_unclaimed_chore(app, client):
    place = create_neighbourhood(create_corporation())
    db.session.commit()
    login(client, place.caretaker)
    now = utcnow()

    form = client.get(f"/participation/manage/chores/{place.chore.id}/edit")
    response = client.post(
        f"/participation/manage/chores/{place.chore.id}/edit",
        data={
            "cluster_id": place.cluster.id,
            "category_id": place.category.id,
            "title": "Trappenhuis dweilen",
            "reward_points": 12,
            "reward_mode": "each",
            "places": 1,
            "proof": "note",
            "claim_opens_at": _local(now),
            "claim_closes_at": _local(now + timedelta(days=2)),
            "deadline_at": _local(now + timedelta(days=3)),
        },
    )

    assert form.status_code == 200
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Chore, place.chore.id).title == "Trappenhuis dweilen"


def test_caretaker_approves_in_portal(app, client):
    place = create_neighbourhood(create_corporation(), points=30)
    claim = submitted_claim(place.add_tenant(), place.chore)
    db.session.commit()
    login(client, place.caretaker)

    page = client.get(f"/participation/review/claims/{claim.id}")
    response = client.post(f"/participation/review/claims/{claim.id}/approve")

    assert page.status_code == 200
    assert response.status_code == 302
    assert claim_state(claim.id)[0] is ClaimStatus.APPROVED


def test_admin_manages_categories(app, client):
    corporation = create_corporation()
    admin = create_admin(corporation)
    briefing = create_briefing(corporation, "ladder")
    db.session.commit()
    login(client, admin)

    created = client.post(
        "/participation/categories/new",
        data={
            "name_nl": "Ramen",
            "name_en": "Windows",
            "description": "Ramen van gemeenschappelijke ruimtes",
            "briefing_id": briefing.id,
            "default_points": 20,
            "default_places": 2,
            "is_active": "y",
        },
    )
    listing = client.get("/participation/categories")

    assert created.status_code == 302
    category = db.session.scalar(
        select(ChoreCategory).where(ChoreCategory.name_nl == "Ramen")
    )
    assert category.briefing_id == briefing.id
    assert category.default_places == 2
    assert "ladder" in listing.get_data(as_text=True)


def test_category_with_foreign_briefing_is_refused(app, client):
    corporation = create_corporation()
    admin = create_admin(corporation)
    foreign = create_briefing(create_corporation(), "ladder")
    db.session.commit()
    login(client, admin)

    response = client.post(
        "/participation/categories/new",
        data={
            "name_nl": "Ramen",
            "name_en": "Windows",
            "briefing_id": foreign.id,
            "default_points": 20,
            "default_places": 1,
        },
    )

    assert response.status_code == 422
    count = db.session.scalar(select(func.count()).select_from(ChoreCategory))
    assert count == 0


def test_finance_sets_threshold(app, client):
    corporation = create_corporation()
    finance = create_finance(corporation)
    db.session.commit()
    login(client, finance)

    response = client.post(
        "/participation/settings", data={"second_approval_above_points": "250"}
    )
    page = client.get("/participation/settings")

    assert response.status_code == 302
    assert 'value="250"' in page.get_data(as_text=True)


def test_menu_shows_participation_entries(app, client):
    place = create_neighbourhood(create_corporation())
    tenant = place.add_tenant()
    db.session.commit()

    login(client, tenant)
    tenant_home = client.get("/").get_data(as_text=True)
    caretaker_client = app.test_client()
    login(caretaker_client, place.caretaker)
    caretaker_home = caretaker_client.get("/").get_data(as_text=True)

    assert "/participation/chores" in tenant_home
    assert "/participation/claims" in tenant_home
    assert "/participation/manage" in caretaker_home
    assert "/participation/review" in caretaker_home
    assert "/participation/chores" not in caretaker_home


@pytest.mark.parametrize(("typed", "minutes"), [("1,5", 90), ("2.25", 135)])
def test_hours_with_decimal_comma_accepted(app, client, typed, minutes):
    place = create_neighbourhood(create_corporation())
    tenant = place.add_tenant()
    claim = services.claim_chore(tenant, place.chore.id)
    db.session.commit()
    login(client, tenant)

    response = client.post(
        f"/participation/claims/{claim.id}/submit",
        data={"note": "Klaar", "hours_spent": typed},
    )

    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    db.session.expire_all()
    assert db.session.get(Claim, claim.id).minutes_spent == minutes


@pytest.mark.parametrize("typed", ["abc", "-5", "25", "1e400", "NaN"])
def test_bad_hours_named_in_dutch(app, client, typed):
    place = create_neighbourhood(create_corporation())
    tenant = place.add_tenant()
    claim = services.claim_chore(tenant, place.chore.id)
    db.session.commit()
    login(client, tenant)
    before = claim_state(claim.id)

    response = client.post(
        f"/participation/claims/{claim.id}/submit",
        data={"note": "Klaar met de trap", "hours_spent": typed},
    )

    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "bijvoorbeeld 1,5" in page
    assert "Klaar met de trap" in page
    assert claim_state(claim.id) == before


def test_too_large_upload_names_limit(app, client):
    place = create_neighbourhood(create_corporation())
    tenant = place.add_tenant()
    claim = services.claim_chore(tenant, place.chore.id)
    db.session.commit()
    login(client, tenant)
    # A small request limit replaces a 12 MB photo, so the test client does
    # not spool the body to a temporary file.
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024

    response = client.post(
        f"/participation/claims/{claim.id}/submit", data={"note": "x" * 70_000}
    )

    assert response.status_code == 413
    assert "hoogstens 10 MB" in response.get_data(as_text=True)


def test_review_page_words_briefing_channel(app, client):
    corporation = create_corporation()
    briefing = create_briefing(corporation)
    version = publish(briefing)
    place = create_neighbourhood(corporation, briefing=briefing)
    tenant = place.add_tenant()
    accept(tenant, version)
    claim = submitted_claim(tenant, place.chore)
    db.session.commit()
    login(client, place.caretaker)

    page = client.get(f"/participation/review/claims/{claim.id}").get_data(as_text=True)

    evidence = page.split('data-testid="evidence"')[1].split("</dl>")[0]
    assert "<dd>portaal</dd>" in evidence
    assert "Titel" in evidence
