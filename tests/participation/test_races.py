"""Two requests on one chore or claim at the same moment, on SQLite and PostgreSQL.

Each pair runs in a fixed interleaving (``tests/participation/races.py``): the
first request is held just before its first write while the second one runs
up to its lock. Exactly one of two conflicting changes may win. The other gets
the response a retry would get when it requested the same outcome, or a 409
naming what happened.
"""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from klusbank.db import utcnow
from klusbank.errors import RuleViolation
from klusbank.extensions import db
from participation import services
from participation.forms import utc_to_amsterdam
from participation.models import (
    Chore,
    Claim,
    ClaimEvent,
    ClaimStatus,
    ParticipationSettings,
)
from participation.services.common import change_status
from rewards.ledger import queries as ledger_queries
from rewards.ledger.models import AccountKind, Journal
from tests.factories import create_caretaker, create_corporation, create_finance, login
from tests.participation.helpers import (
    create_neighbourhood,
    hidden_inputs,
    submitted_claim,
    use_token,
)
from tests.participation.races import run_interleaved


@pytest.fixture
def app_config(app_config):
    """Give each racing thread its own pooled connection."""
    app_config["SQLALCHEMY_ENGINE_OPTIONS"] = {"pool_size": 6}
    return app_config


def _local(moment) -> str:
    return utc_to_amsterdam(moment).strftime("%Y-%m-%dT%H:%M")


def _portal(app, user):
    client = app.test_client()
    login(client, user)
    return client


def _api(app, user):
    client = app.test_client()
    use_token(client, user)
    return client


def _events_to(claim_id: int, status: ClaimStatus) -> int:
    return db.session.scalar(
        select(func.count())
        .select_from(ClaimEvent)
        .where(ClaimEvent.claim_id == claim_id, ClaimEvent.to_status == status)
    )


def _journals() -> int:
    return db.session.scalar(select(func.count()).select_from(Journal))


def _points(tenant) -> int:
    balances = ledger_queries.tenant_balances(tenant.corporation_id, tenant.id)
    return balances.get(AccountKind.TENANT_POINTS, 0)


def _set_threshold(corporation, points: int | None) -> None:
    db.session.add(
        ParticipationSettings(
            corporation_id=corporation.id, second_approval_above_points=points
        )
    )
    db.session.flush()


# --- A chore's terms against a claim ---------------------------------------


def _edit_request(place, points: int):
    """Return a request that opens the edit form and saves it with new points."""
    chore_id, cluster_id = place.chore.id, place.cluster.id
    category_id = place.category.id

    def edit(client):
        page = client.get(f"/participation/manage/chores/{chore_id}/edit")
        now = utcnow()
        data = hidden_inputs(page.get_data(as_text=True)) | {
            "cluster_id": cluster_id,
            "category_id": category_id,
            "title": "Trappenhuis vegen",
            "reward_points": points,
            "reward_mode": "each",
            "places": 1,
            "proof": "none",
            "claim_opens_at": _local(now - timedelta(hours=1)),
            "claim_closes_at": _local(now + timedelta(days=2)),
            "deadline_at": _local(now + timedelta(days=3)),
        }
        return client.post(f"/participation/manage/chores/{chore_id}/edit", data=data)

    return edit


def _claim_request(chore_id: int, shown: dict[str, str]):
    def claim(client):
        return client.post(f"/participation/chores/{chore_id}/claim", data=shown)

    return claim


def _chore_page_inputs(client, chore_id: int) -> dict[str, str]:
    page = client.get(f"/participation/chores/{chore_id}")
    assert page.status_code == 200
    return hidden_inputs(page.get_data(as_text=True))


def test_edit_before_claim_refuses_claim(app):
    place = create_neighbourhood(create_corporation(), points=10)
    tenant = place.add_tenant(locale="en")
    db.session.commit()
    tenant_client = _portal(app, tenant)
    shown = _chore_page_inputs(tenant_client, place.chore.id)

    edit, claim = run_interleaved(
        app,
        (_portal(app, place.caretaker), _edit_request(place, 99)),
        (tenant_client, _claim_request(place.chore.id, shown)),
    )

    assert edit.status == 302, edit.body[:2000]
    assert claim.status == 409, claim.body[:2000]
    assert "The terms of this chore changed" in claim.body
    assert db.session.get(Chore, place.chore.id).reward_points == 99
    assert db.session.scalar(select(func.count()).select_from(Claim)) == 0


def test_claim_before_edit_refuses_edit(app):
    place = create_neighbourhood(create_corporation(), points=10)
    tenant = place.add_tenant()
    caretaker = place.caretaker
    caretaker.locale = "en"
    db.session.commit()
    tenant_client = _portal(app, tenant)
    shown = _chore_page_inputs(tenant_client, place.chore.id)

    claim, edit = run_interleaved(
        app,
        (tenant_client, _claim_request(place.chore.id, shown)),
        (_portal(app, caretaker), _edit_request(place, 99)),
    )

    assert claim.status == 302, claim.body[:2000]
    assert edit.status == 409, edit.body[:2000]
    assert "A tenant has claimed this chore" in edit.body
    assert db.session.get(Chore, place.chore.id).reward_points == 10
    claims = db.session.scalars(select(Claim)).all()
    assert [claim.slot for claim in claims] == [1]


def test_claim_with_changed_terms_is_refused(app, client):
    place = create_neighbourhood(create_corporation(), points=10)
    tenant = place.add_tenant(locale="en")
    db.session.commit()
    login(client, tenant)
    shown = _chore_page_inputs(client, place.chore.id)
    _edit_request(place, 20)(_portal(app, place.caretaker))

    response = client.post(f"/participation/chores/{place.chore.id}/claim", data=shown)

    html = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "The terms of this chore changed" in html
    assert "20 points" in html
    assert db.session.scalar(select(func.count()).select_from(Claim)) == 0


# --- Reviews racing each other ---------------------------------------------


def _review_inputs(client, claim_id: int) -> dict[str, str]:
    page = client.get(f"/participation/review/claims/{claim_id}")
    assert page.status_code == 200
    return hidden_inputs(page.get_data(as_text=True))


def _review_request(channel: str, action: str, claim_id: int, shown: dict[str, str]):
    """Return a portal or API request that approves or rejects what the reviewer saw."""
    data = dict(shown)
    if action == "reject":
        data["reason"] = "Het trappenhuis is niet geveegd."

    def review(client):
        if channel == "portal":
            return client.post(
                f"/participation/review/claims/{claim_id}/{action}", data=data
            )
        return client.post(f"/api/v1/claims/{claim_id}/{action}", json=data)

    return review


def _reviewer(app, channel: str, user, claim_id: int):
    """Return the reviewer's client and what their review page showed them."""
    if channel == "portal":
        client = _portal(app, user)
        return client, _review_inputs(client, claim_id)
    client = _api(app, user)
    shown = client.get(f"/api/v1/claims/{claim_id}").get_json()
    return client, {"expected_status": shown["status"]}


def _race_reviews(app, channel: str, claim_id: int, first, second):
    """Race two (reviewer, action) pairs on a claim, each acting on what it was shown."""
    requests = []
    for user, action in (first, second):
        client, shown = _reviewer(app, channel, user, claim_id)
        requests.append((client, _review_request(channel, action, claim_id, shown)))
    return run_interleaved(app, *requests)


def _succeeded(channel: str, outcome) -> bool:
    return outcome.status == (302 if channel == "portal" else 200)


@pytest.mark.parametrize("channel", ["portal", "api"])
def test_approvals_at_once_credit_once(app, channel):
    corporation = create_corporation()
    place = create_neighbourhood(corporation, points=40)
    colleague = create_caretaker(corporation, place.cluster)
    tenant = place.add_tenant()
    claim = submitted_claim(tenant, place.chore)
    db.session.commit()
    first, second = _race_reviews(
        app, channel, claim.id, (place.caretaker, "approve"), (colleague, "approve")
    )

    assert _succeeded(channel, first), first.body[:2000]
    assert _succeeded(channel, second), second.body[:2000]
    if channel == "api":
        assert second.json["status"] == "approved"
    assert _events_to(claim.id, ClaimStatus.APPROVED) == 1
    assert db.session.get(Claim, claim.id).approval.approved_by_id == (
        place.caretaker.id
    )
    assert _journals() == 1
    assert _points(tenant) == 40


@pytest.mark.parametrize("channel", ["portal", "api"])
def test_first_approvals_at_once_record_one(app, channel):
    corporation = create_corporation()
    place = create_neighbourhood(corporation, points=150)
    _set_threshold(corporation, 100)
    colleague = create_caretaker(corporation, place.cluster)
    claim = submitted_claim(place.add_tenant(), place.chore)
    db.session.commit()
    first, second = _race_reviews(
        app, channel, claim.id, (place.caretaker, "approve"), (colleague, "approve")
    )

    assert _succeeded(channel, first), first.body[:2000]
    assert _succeeded(channel, second), second.body[:2000]
    if channel == "api":
        assert second.json["status"] == "awaiting_second_approval"
    stored = db.session.get(Claim, claim.id)
    assert stored.status is ClaimStatus.AWAITING_SECOND_APPROVAL
    assert stored.approval.approved_by_id == place.caretaker.id
    assert stored.approval.second_approver_id is None
    assert _events_to(claim.id, ClaimStatus.AWAITING_SECOND_APPROVAL) == 1
    assert _journals() == 0


@pytest.mark.parametrize("channel", ["portal", "api"])
def test_second_approvals_at_once_record_one(app, channel):
    corporation = create_corporation()
    place = create_neighbourhood(corporation, points=150)
    _set_threshold(corporation, 100)
    tenant = place.add_tenant()
    claim = submitted_claim(tenant, place.chore)
    services.approve_claim(place.caretaker, claim.id)
    finance, colleague = create_finance(corporation), create_finance(corporation)
    db.session.commit()
    first, second = _race_reviews(
        app, channel, claim.id, (finance, "approve"), (colleague, "approve")
    )

    assert _succeeded(channel, first), first.body[:2000]
    assert _succeeded(channel, second), second.body[:2000]
    if channel == "api":
        assert second.json["status"] == "approved"
    assert _events_to(claim.id, ClaimStatus.APPROVED) == 1
    assert db.session.get(Claim, claim.id).approval.second_approver_id == finance.id
    assert _journals() == 1
    assert _points(tenant) == 150


@pytest.mark.parametrize(
    ("winner", "loser", "final", "message"),
    [
        ("approve", "reject", ClaimStatus.APPROVED, "already approved"),
        ("reject", "approve", ClaimStatus.REJECTED, "already rejected"),
    ],
)
@pytest.mark.parametrize("channel", ["portal", "api"])
def test_reject_racing_approve_has_one_winner(
    app, channel, winner, loser, final, message
):
    corporation = create_corporation()
    place = create_neighbourhood(corporation, points=40)
    colleague = create_caretaker(corporation, place.cluster)
    colleague.locale = "en"
    claim = submitted_claim(place.add_tenant(), place.chore)
    db.session.commit()
    first, second = _race_reviews(
        app, channel, claim.id, (place.caretaker, winner), (colleague, loser)
    )

    assert _succeeded(channel, first), first.body[:2000]
    assert second.status == 409, second.body[:2000]
    assert message in second.body
    assert db.session.get(Claim, claim.id).status is final
    assert _events_to(claim.id, final) == 1
    changes = db.session.scalar(
        select(func.count())
        .select_from(ClaimEvent)
        .where(ClaimEvent.claim_id == claim.id, ClaimEvent.actor_id == colleague.id)
    )
    assert changes == 0
    assert _journals() == (1 if final is ClaimStatus.APPROVED else 0)


@pytest.mark.parametrize("channel", ["portal", "api"])
def test_rejections_at_once_record_one(app, channel):
    corporation = create_corporation()
    place = create_neighbourhood(corporation)
    colleague = create_caretaker(corporation, place.cluster)
    claim = submitted_claim(place.add_tenant(), place.chore)
    db.session.commit()
    first, second = _race_reviews(
        app, channel, claim.id, (place.caretaker, "reject"), (colleague, "reject")
    )

    assert _succeeded(channel, first), first.body[:2000]
    assert _succeeded(channel, second), second.body[:2000]
    assert _events_to(claim.id, ClaimStatus.REJECTED) == 1
    assert db.session.get(Claim, claim.id).status is ClaimStatus.REJECTED


# --- The conditional transition on its own ---------------------------------


def test_stale_transition_is_refused(app):
    place = create_neighbourhood(create_corporation())
    claim = submitted_claim(place.add_tenant(), place.chore)
    db.session.commit()
    db.session.expire_all()
    stale = db.session.get(Claim, claim.id)
    assert stale.status is ClaimStatus.SUBMITTED

    with app.app_context():
        services.approve_claim(place.caretaker, claim.id)
        db.session.commit()
    with pytest.raises(RuleViolation) as refused:
        change_status(stale, ClaimStatus.REJECTED, actor=place.caretaker, at=utcnow())

    assert refused.value.code == "claim_changed"
    db.session.rollback()
    assert db.session.get(Claim, claim.id).status is ClaimStatus.APPROVED
    assert _events_to(claim.id, ClaimStatus.REJECTED) == 0
