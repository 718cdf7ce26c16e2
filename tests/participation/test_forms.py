"""Portal forms with bad input re-render with the message at the field and the input kept."""

import io
from datetime import timedelta

import pytest

from klusbank.db import utcnow
from klusbank.extensions import db
from participation import services
from participation.forms import utc_to_amsterdam
from participation.models import ProofKind
from tests.factories import create_corporation, login
from tests.participation.helpers import (
    claim_state,
    create_neighbourhood,
    row_counts,
    submitted_claim,
)


def _local(moment) -> str:
    return utc_to_amsterdam(moment).strftime("%Y-%m-%dT%H:%M")


def _chore_form(place, **changes) -> dict:
    now = utcnow()
    return {
        "cluster_id": place.cluster.id,
        "category_id": place.category.id,
        "title": "Containers buitenzetten",
        "description": "Elke dinsdagavond.",
        "reward_points": 5,
        "reward_mode": "each",
        "places": 1,
        "proof": "none",
        "claim_opens_at": _local(now - timedelta(days=3)),
        "claim_closes_at": _local(now + timedelta(days=2)),
        "deadline_at": _local(now + timedelta(days=3)),
        **changes,
    }


def _assert_field_error(html: str, field: str, message: str) -> None:
    assert f'id="{field}-error"' in html
    assert message in html
    assert "<form" in html


@pytest.mark.parametrize("page", ["post", "edit"])
def test_chore_form_shows_service_errors(app, client, page):
    place = create_neighbourhood(create_corporation())
    place.caretaker.locale = "en"
    db.session.commit()
    login(client, place.caretaker)
    path = (
        "/participation/manage/new"
        if page == "post"
        else f"/participation/manage/chores/{place.chore.id}/edit"
    )
    counts = row_counts()
    past = _local(utcnow() - timedelta(days=1))

    response = client.post(
        path, data=_chore_form(place, claim_closes_at=past, deadline_at=past)
    )

    html = response.get_data(as_text=True)
    assert response.status_code == 422
    _assert_field_error(html, "claim_closes_at", "must close in the future")
    assert 'value="Containers buitenzetten"' in html
    assert "Elke dinsdagavond." in html
    assert row_counts() == counts


def test_cancel_form_keeps_short_reason(app, client):
    place = create_neighbourhood(create_corporation())
    place.caretaker.locale = "en"
    db.session.commit()
    login(client, place.caretaker)
    counts = row_counts()

    response = client.post(
        f"/participation/manage/chores/{place.chore.id}/cancel", data={"reason": "Re"}
    )

    html = response.get_data(as_text=True)
    assert response.status_code == 422
    _assert_field_error(html, "reason", "Field must be between")
    assert "Re</textarea>" in html
    assert place.chore.title in html
    assert row_counts() == counts


@pytest.mark.parametrize(
    ("proof", "data", "field", "message", "kept"),
    [
        (
            ProofKind.NOTE,
            {"note": "", "hours_spent": "1.5"},
            "note",
            "Describe what you did",
            'value="1.5"',
        ),
        (
            ProofKind.PHOTO,
            {"note": "Alles geveegd", "photo": b"<svg/>"},
            "photo",
            "JPEG or PNG",
            "Alles geveegd</textarea>",
        ),
        (
            ProofKind.NONE,
            {"note": "Alles geveegd", "hours_spent": "30"},
            "hours_spent",
            "Enter the hours as a number from 0.01 to 24",
            "Alles geveegd</textarea>",
        ),
    ],
    ids=["missing_note", "not_an_image", "too_many_hours"],
)
def test_submit_form_shows_errors(app, client, proof, data, field, message, kept):
    place = create_neighbourhood(create_corporation(), proof=proof)
    tenant = place.add_tenant(locale="en")
    claim = services.claim_chore(tenant, place.chore.id)
    db.session.commit()
    login(client, tenant)
    before, counts = claim_state(claim.id), row_counts()

    if "photo" in data:
        data = data | {"photo": (io.BytesIO(data["photo"]), "work.png")}
    response = client.post(
        f"/participation/claims/{claim.id}/submit",
        data=data,
        content_type="multipart/form-data",
    )

    html = response.get_data(as_text=True)
    assert response.status_code == 422
    _assert_field_error(html, field, message)
    assert kept in html
    assert claim_state(claim.id) == before
    assert row_counts() == counts


def test_reject_form_keeps_short_reason(app, client):
    place = create_neighbourhood(create_corporation())
    place.caretaker.locale = "en"
    claim = submitted_claim(place.add_tenant(), place.chore)
    db.session.commit()
    login(client, place.caretaker)
    before, counts = claim_state(claim.id), row_counts()

    response = client.post(
        f"/participation/review/claims/{claim.id}/reject",
        data={"reason": "Ne", "expected_status": "submitted"},
    )

    html = response.get_data(as_text=True)
    assert response.status_code == 422
    _assert_field_error(html, "reason", "Field must be between")
    assert "Ne</textarea>" in html
    assert 'data-testid="approve"' in html
    assert claim_state(claim.id) == before
    assert row_counts() == counts
