"""Approving and rejecting work, second approval, shared pots and the ledger credit."""

from datetime import date, timedelta

from sqlalchemy import func, select

from klusbank.accounts.models import CaretakerAssignment, Role
from klusbank.db import utcnow
from klusbank.extensions import db
from klusbank.housing.models import Tenancy
from participation import services
from participation.models import (
    Claim,
    ClaimStatus,
    ParticipationSettings,
    RewardMode,
)
from rewards.ledger import queries as ledger_queries
from rewards.ledger.models import AccountKind, Journal
from tests.factories import (
    create_caretaker,
    create_corporation,
    create_finance,
    create_unit,
    create_user_with_roles,
    login,
)
from tests.liability.helpers import accept, create_briefing, publish
from tests.participation.helpers import (
    claim_state,
    create_neighbourhood,
    row_counts,
    submitted_claim,
    use_token,
)


def _points(tenant) -> int:
    balances = ledger_queries.tenant_balances(tenant.corporation_id, tenant.id)
    return balances.get(AccountKind.TENANT_POINTS, 0)


def _journal_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Journal))


def _set_threshold(corporation, points: int | None) -> None:
    db.session.add(
        ParticipationSettings(
            corporation_id=corporation.id, second_approval_above_points=points
        )
    )
    db.session.flush()


def test_approve_credits_points_at_once(app, client):
    place = create_neighbourhood(create_corporation(), points=25)
    tenant = place.add_tenant()
    claim = submitted_claim(tenant, place.chore)
    db.session.commit()
    use_token(client, place.caretaker)

    response = client.post(f"/api/v1/claims/{claim.id}/approve", json={})

    assert response.status_code == 200, response.get_json()
    assert response.get_json()["status"] == "approved"
    assert response.get_json()["points_credited"] == 25
    db.session.expire_all()
    approval = db.session.get(Claim, claim.id).approval
    journal = db.session.get(Journal, approval.journal_id)
    assert journal.idempotency_key == f"approval:{approval.id}"
    assert _points(tenant) == 25


def test_approving_twice_credits_once(app, client):
    place = create_neighbourhood(create_corporation(), points=25)
    tenant = place.add_tenant()
    claim = submitted_claim(tenant, place.chore)
    db.session.commit()
    use_token(client, place.caretaker)

    first = client.post(f"/api/v1/claims/{claim.id}/approve", json={})
    second = client.post(f"/api/v1/claims/{claim.id}/approve", json={})

    assert first.status_code == 200
    assert second.status_code == 200
    db.session.expire_all()
    assert _journal_count() == 1
    assert _points(tenant) == 25


def test_reject_shows_reason_to_tenant(app, client):
    place = create_neighbourhood(create_corporation(), places=1)
    tenant = place.add_tenant()
    claim = submitted_claim(tenant, place.chore)
    db.session.commit()
    use_token(client, place.caretaker)

    response = client.post(
        f"/api/v1/claims/{claim.id}/reject",
        json={"reason": "De bovenste trap is overgeslagen"},
    )

    assert response.status_code == 200, response.get_json()
    use_token(client, tenant)
    mine = client.get("/api/v1/claims/mine").get_json()["claims"][0]
    assert mine["status"] == "rejected"
    assert mine["rejection_reason"] == "De bovenste trap is overgeslagen"
    assert mine["events"][-1]["reason"] == "De bovenste trap is overgeslagen"
    assert mine["events"][-1]["actor"] == place.caretaker.full_name
    db.session.expire_all()
    assert db.session.get(Claim, claim.id).slot is None
    assert _journal_count() == 0


def test_reject_without_reason_is_refused(app, client):
    place = create_neighbourhood(create_corporation())
    claim = submitted_claim(place.add_tenant(), place.chore)
    db.session.commit()
    use_token(client, place.caretaker)
    before, counts = claim_state(claim.id), row_counts()

    response = client.post(f"/api/v1/claims/{claim.id}/reject", json={"reason": ""})

    assert response.status_code == 422
    assert "reason" in response.get_json()["errors"]
    assert claim_state(claim.id) == before
    assert row_counts() == counts


def test_approving_unsubmitted_claim_is_refused(app, client):
    place = create_neighbourhood(create_corporation())
    claim = services.claim_chore(place.add_tenant(), place.chore.id)
    db.session.commit()
    use_token(client, place.caretaker)
    before, counts = claim_state(claim.id), row_counts()

    response = client.post(f"/api/v1/claims/{claim.id}/approve", json={})

    assert response.status_code == 409
    assert response.get_json()["code"] == "claim_not_reviewable"
    assert claim_state(claim.id) == before
    assert row_counts() == counts


def test_caretaker_of_other_cluster_gets_404(app, client):
    corporation = create_corporation()
    place = create_neighbourhood(corporation)
    other = create_neighbourhood(corporation)
    claim = submitted_claim(place.add_tenant(), place.chore)
    db.session.commit()
    use_token(client, other.caretaker)
    counts = row_counts()

    approve = client.post(f"/api/v1/claims/{claim.id}/approve", json={})
    read = client.get(f"/api/v1/claims/{claim.id}")

    assert approve.status_code == 404
    assert read.status_code == 404
    assert row_counts() == counts


def test_above_threshold_needs_second_approver(app, client):
    corporation = create_corporation()
    place = create_neighbourhood(corporation, points=150)
    _set_threshold(corporation, 100)
    tenant = place.add_tenant()
    claim = submitted_claim(tenant, place.chore)
    finance = create_finance(corporation)
    db.session.commit()
    use_token(client, place.caretaker)

    first = client.post(f"/api/v1/claims/{claim.id}/approve", json={})
    again = client.post(f"/api/v1/claims/{claim.id}/approve", json={})

    assert first.get_json()["status"] == "awaiting_second_approval"
    assert first.get_json()["needs_second_approval"] is True
    assert again.status_code == 409
    assert again.get_json()["code"] == "second_approver_required"
    db.session.expire_all()
    assert _journal_count() == 0

    use_token(client, finance)
    second = client.post(f"/api/v1/claims/{claim.id}/approve", json={})

    assert second.status_code == 200, second.get_json()
    assert second.get_json()["status"] == "approved"
    db.session.expire_all()
    approval = db.session.get(Claim, claim.id).approval
    assert approval.second_approver_id == finance.id
    assert _points(tenant) == 150


def test_finance_cannot_give_first_approval(app, client):
    corporation = create_corporation()
    place = create_neighbourhood(corporation)
    claim = submitted_claim(place.add_tenant(), place.chore)
    finance = create_finance(corporation)
    db.session.commit()
    use_token(client, finance)
    before, counts = claim_state(claim.id), row_counts()

    response = client.post(f"/api/v1/claims/{claim.id}/approve", json={})

    assert response.status_code == 409
    assert response.get_json()["code"] == "caretaker_required"
    assert claim_state(claim.id) == before
    assert row_counts() == counts


def test_second_caretaker_can_give_second_approval(app):
    corporation = create_corporation()
    place = create_neighbourhood(corporation, points=150)
    _set_threshold(corporation, 100)
    colleague = create_caretaker(corporation, place.cluster)
    tenant = place.add_tenant()
    claim = submitted_claim(tenant, place.chore)

    services.approve_claim(place.caretaker, claim.id)
    services.approve_claim(colleague, claim.id)

    assert claim.status is ClaimStatus.APPROVED
    assert _points(tenant) == 150


def test_shared_pot_splits_when_every_place_is_approved(app):
    place = create_neighbourhood(
        create_corporation(), points=10, places=3, mode=RewardMode.SHARED
    )
    tenants = [place.add_tenant() for _ in range(3)]
    claims = [submitted_claim(tenant, place.chore) for tenant in tenants]

    services.approve_claim(place.caretaker, claims[0].id)
    services.approve_claim(place.caretaker, claims[1].id)
    credited_early = [_points(tenant) for tenant in tenants]
    services.approve_claim(place.caretaker, claims[2].id)

    assert credited_early == [0, 0, 0]
    shares = [_points(tenant) for tenant in tenants]
    assert sum(shares) == 10
    assert sorted(shares) == [3, 3, 4]
    assert place.chore.pot_shared_at is not None


def test_shared_pot_splits_among_approved_after_window(app):
    now = utcnow()
    place = create_neighbourhood(
        create_corporation(),
        points=7,
        places=3,
        mode=RewardMode.SHARED,
        opens_at=now - timedelta(days=2),
        closes_at=now + timedelta(hours=1),
        deadline_at=now + timedelta(days=3),
        now=now - timedelta(days=3),
    )
    tenants = [place.add_tenant() for _ in range(3)]
    claims = [submitted_claim(tenant, place.chore) for tenant in tenants]
    services.approve_claim(place.caretaker, claims[0].id)
    services.approve_claim(place.caretaker, claims[1].id)
    services.reject_claim(place.caretaker, claims[2].id, "Niet gedaan")
    waiting = [_points(tenant) for tenant in tenants]

    shared = services.share_due_pots(now=now + timedelta(hours=2))

    assert waiting == [0, 0, 0]
    assert shared == 1
    shares = [_points(tenant) for tenant in tenants]
    assert sum(shares) == 7
    assert shares[2] == 0
    assert sorted(shares[:2]) == [3, 4]


def test_cancelling_chore_cancels_claims_with_reason(app, client):
    place = create_neighbourhood(create_corporation(), places=2)
    tenant = place.add_tenant()
    claim = services.claim_chore(tenant, place.chore.id)
    db.session.commit()
    login(client, place.caretaker)

    response = client.post(
        f"/participation/manage/chores/{place.chore.id}/cancel",
        data={"reason": "De lift wordt vervangen"},
    )

    assert response.status_code == 302
    use_token(client, tenant)
    mine = client.get(f"/api/v1/claims/{claim.id}").get_json()
    assert mine["status"] == "cancelled"
    assert mine["cancel_reason"] == "De lift wordt vervangen"
    assert mine["events"][-1]["reason"] == "De lift wordt vervangen"


def test_staff_see_acceptance_evidence(app, client):
    corporation = create_corporation()
    briefing = create_briefing(corporation)
    version = publish(briefing, title="Veilig werken in de tuin")
    place = create_neighbourhood(corporation, briefing=briefing)
    tenant = place.add_tenant()
    accept(tenant, version)
    claim = submitted_claim(tenant, place.chore)
    db.session.commit()
    login(client, place.caretaker)

    page = client.get(f"/participation/review/claims/{claim.id}")
    staff_json = client.get(f"/api/v1/claims/{claim.id}").get_json()
    tenant_client = app.test_client()
    use_token(tenant_client, tenant)
    tenant_json = tenant_client.get(f"/api/v1/claims/{claim.id}").get_json()

    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Veilig werken in de tuin" in html
    assert version.text_sha256 in html
    assert staff_json["briefing_acceptance"]["text_sha256"] == version.text_sha256
    assert staff_json["briefing_acceptance"]["version_number"] == 1
    assert tenant_json["briefing_acceptance"] is None


def test_review_queue_lists_submitted_work(app, client):
    place = create_neighbourhood(create_corporation())
    claim = submitted_claim(place.add_tenant(), place.chore)
    db.session.commit()
    login(client, place.caretaker)

    queue = client.get("/api/v1/claims/review-queue").get_json()["claims"]
    page = client.get("/participation/review")

    assert [entry["id"] for entry in queue] == [claim.id]
    assert page.status_code == 200
    assert place.chore.title in page.get_data(as_text=True)


def test_caretaker_cannot_approve_own_claim(app, client):
    corporation = create_corporation()
    place = create_neighbourhood(corporation)
    neighbour_caretaker = create_user_with_roles(
        corporation, Role.TENANT, Role.CARETAKER
    )
    unit = create_unit(corporation, place.cluster)
    db.session.add(
        Tenancy(
            user_id=neighbour_caretaker.id,
            unit_id=unit.id,
            reference="HC-own",
            starts_on=date.today() - timedelta(days=30),
        )
    )
    db.session.add(
        CaretakerAssignment(user_id=neighbour_caretaker.id, cluster_id=place.cluster.id)
    )
    claim = submitted_claim(neighbour_caretaker, place.chore)
    db.session.commit()
    use_token(client, neighbour_caretaker)
    before, counts = claim_state(claim.id), row_counts()

    response = client.post(f"/api/v1/claims/{claim.id}/approve", json={})

    assert response.status_code == 409
    assert response.get_json()["code"] == "own_claim"
    assert claim_state(claim.id) == before
    assert row_counts() == counts
