"""Every participation rule, broken once: a 4xx naming the reason, and no change.

Each row builds its situation, then sends one request as an English-speaking
user through the JSON API or the portal. The response must have the row's
status, name the reason in its message, and leave every participation row and
the ledger as they were.
"""

import io
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

import pytest
from sqlalchemy import select
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from klusbank.accounts.models import CaretakerAssignment, Role, User
from klusbank.db import utcnow
from klusbank.extensions import db
from klusbank.housing.models import Tenancy
from participation import services
from participation.forms import utc_to_amsterdam
from participation.models import (
    Chore,
    Claim,
    ClaimApproval,
    ParticipationSettings,
    ProofKind,
)
from tests.factories import (
    create_caretaker,
    create_corporation,
    create_finance,
    create_tenant,
    create_unit,
    create_user_with_roles,
    login,
)
from tests.liability.helpers import create_briefing, publish
from tests.participation.helpers import (
    Neighbourhood,
    create_neighbourhood,
    png_bytes,
    row_counts,
    submitted_claim,
    use_token,
)


@dataclass
class Attempt:
    """One request that a rule must reject, sent by ``user``."""

    user: User
    path: str
    json: dict | None = None
    form: dict = field(default_factory=dict)
    portal: bool = False


def _english(user: User) -> User:
    user.locale = "en"
    return user


def _local(moment) -> str:
    return utc_to_amsterdam(moment).strftime("%Y-%m-%dT%H:%M")


def _claim(place: Neighbourhood, tenant: User | None = None) -> Attempt:
    tenant = tenant or place.add_tenant()
    return Attempt(_english(tenant), f"/api/v1/chores/{place.chore.id}/claims", {})


def _photo_upload(data: bytes) -> dict:
    return {"photo": FileStorage(io.BytesIO(data), filename="work.png")}


def _multipart(fields: dict) -> tuple[bytes, str]:
    """Encode a multipart body in memory, because the test client spools large ones to disk."""
    boundary, body = encode_multipart(MultiDict(fields))
    return body, f"multipart/form-data; boundary={boundary}"


def _threshold(place: Neighbourhood, points: int) -> None:
    db.session.add(
        ParticipationSettings(
            corporation_id=place.corporation.id, second_approval_above_points=points
        )
    )
    db.session.flush()


# --- Situations, one per rule ----------------------------------------------


def claim_before_window_opens():
    now = utcnow()
    place = create_neighbourhood(
        create_corporation(),
        opens_at=now + timedelta(days=1),
        closes_at=now + timedelta(days=3),
    )
    return _claim(place)


def claim_after_window_closed():
    now = utcnow()
    place = create_neighbourhood(
        create_corporation(),
        opens_at=now - timedelta(days=5),
        closes_at=now - timedelta(hours=1),
        deadline_at=now + timedelta(days=1),
        now=now - timedelta(days=6),
    )
    return _claim(place)


def claim_of_cancelled_chore():
    place = create_neighbourhood(create_corporation())
    services.cancel_chore(place.caretaker, place.chore.id, "Regen voorspeld")
    return _claim(place)


def claim_after_tenancy_ended():
    place = create_neighbourhood(create_corporation())
    former = create_tenant(
        place.corporation,
        create_unit(place.corporation, place.cluster),
        starts_on=date.today() - timedelta(days=400),
        ends_on=date.today() - timedelta(days=2),
    )
    return _claim(place, former)


def claim_without_briefing():
    corporation = create_corporation()
    briefing = create_briefing(corporation)
    publish(briefing)
    return _claim(create_neighbourhood(corporation, briefing=briefing))


def claim_twice():
    place = create_neighbourhood(create_corporation(), places=2)
    tenant = place.add_tenant()
    services.claim_chore(tenant, place.chore.id)
    return _claim(place, tenant)


def claim_when_places_are_taken():
    place = create_neighbourhood(create_corporation(), places=1)
    services.claim_chore(place.add_tenant(), place.chore.id)
    return _claim(place)


def claim_in_other_cluster():
    place = create_neighbourhood(create_corporation())
    outsider = create_neighbourhood(create_corporation()).add_tenant()
    return _claim(place, outsider)


def claim_of_changed_terms():
    place = create_neighbourhood(create_corporation())
    attempt = _claim(place)
    attempt.json = {"terms_digest": "0" * 16}
    return attempt


def withdraw_after_submit():
    place = create_neighbourhood(create_corporation())
    tenant = place.add_tenant()
    claim = submitted_claim(tenant, place.chore)
    return Attempt(_english(tenant), f"/api/v1/claims/{claim.id}/withdraw", {})


def withdraw_claim_of_other_tenant():
    place = create_neighbourhood(create_corporation(), places=2)
    claim = services.claim_chore(place.add_tenant(), place.chore.id)
    neighbour = place.add_tenant()
    return Attempt(_english(neighbour), f"/api/v1/claims/{claim.id}/withdraw", {})


def _open_claim(**chore_options) -> tuple[User, Claim]:
    place = create_neighbourhood(create_corporation(), **chore_options)
    tenant = place.add_tenant()
    return _english(tenant), services.claim_chore(tenant, place.chore.id)


def submit_without_required_photo():
    tenant, claim = _open_claim(proof=ProofKind.PHOTO)
    return Attempt(tenant, f"/api/v1/claims/{claim.id}/submit", {"note": "Klaar"})


def submit_without_required_note():
    tenant, claim = _open_claim(proof=ProofKind.NOTE)
    return Attempt(tenant, f"/api/v1/claims/{claim.id}/submit", {"note": "  "})


def submit_file_that_is_no_image():
    tenant, claim = _open_claim(proof=ProofKind.PHOTO)
    svg = b"<svg xmlns='http://www.w3.org/2000/svg'/>"
    return Attempt(tenant, f"/api/v1/claims/{claim.id}/submit", form=_photo_upload(svg))


def submit_photo_too_large():
    tenant, claim = _open_claim(proof=ProofKind.PHOTO)
    too_large = png_bytes() + b"\0" * (10 * 1024 * 1024)
    return Attempt(
        tenant, f"/api/v1/claims/{claim.id}/submit", form=_photo_upload(too_large)
    )


def submit_too_many_hours():
    tenant, claim = _open_claim()
    return Attempt(tenant, f"/api/v1/claims/{claim.id}/submit", {"hours_spent": 25})


def submit_twice():
    place = create_neighbourhood(create_corporation())
    tenant = place.add_tenant()
    claim = submitted_claim(tenant, place.chore)
    return Attempt(_english(tenant), f"/api/v1/claims/{claim.id}/submit", {})


def submit_after_deadline():
    now = utcnow()
    place = create_neighbourhood(
        create_corporation(),
        opens_at=now - timedelta(days=3),
        closes_at=now - timedelta(days=2),
        deadline_at=now - timedelta(hours=1),
        now=now - timedelta(days=4),
    )
    tenant = _english(place.add_tenant())
    claim = services.claim_chore(
        tenant, place.chore.id, now=now - timedelta(days=2, hours=12)
    )
    return Attempt(tenant, f"/api/v1/claims/{claim.id}/submit", {"note": "Laat"})


def _submitted(**chore_options) -> tuple[Neighbourhood, Claim]:
    place = create_neighbourhood(create_corporation(), **chore_options)
    return place, submitted_claim(place.add_tenant(), place.chore)


def approve_by_caretaker_of_other_cluster():
    place, claim = _submitted()
    stranger = create_caretaker(
        place.corporation, create_neighbourhood(place.corporation).cluster
    )
    return Attempt(_english(stranger), f"/api/v1/claims/{claim.id}/approve", {})


def approve_by_finance_first():
    place, claim = _submitted()
    finance = create_finance(place.corporation)
    return Attempt(_english(finance), f"/api/v1/claims/{claim.id}/approve", {})


def approve_own_claim():
    place = create_neighbourhood(create_corporation())
    caretaker_tenant = create_user_with_roles(
        place.corporation, Role.TENANT, Role.CARETAKER
    )
    db.session.add(
        Tenancy(
            user_id=caretaker_tenant.id,
            unit_id=create_unit(place.corporation, place.cluster).id,
            reference="HC-own",
            starts_on=date.today() - timedelta(days=30),
        )
    )
    db.session.add(
        CaretakerAssignment(user_id=caretaker_tenant.id, cluster_id=place.cluster.id)
    )
    claim = submitted_claim(caretaker_tenant, place.chore)
    return Attempt(_english(caretaker_tenant), f"/api/v1/claims/{claim.id}/approve", {})


def second_approval_by_first_approver():
    place, claim = _submitted(points=150)
    _threshold(place, 100)
    services.approve_claim(place.caretaker, claim.id)
    return Attempt(_english(place.caretaker), f"/api/v1/claims/{claim.id}/approve", {})


def approve_unsubmitted_claim():
    place = create_neighbourhood(create_corporation())
    claim = services.claim_chore(place.add_tenant(), place.chore.id)
    return Attempt(_english(place.caretaker), f"/api/v1/claims/{claim.id}/approve", {})


def approve_rejected_claim():
    place, claim = _submitted()
    services.reject_claim(place.caretaker, claim.id, "Niet gedaan, helaas.")
    return Attempt(
        _english(place.caretaker),
        f"/api/v1/claims/{claim.id}/approve",
        {"expected_status": "submitted"},
    )


def reject_approved_claim():
    place, claim = _submitted()
    services.approve_claim(place.caretaker, claim.id)
    return Attempt(
        _english(place.caretaker),
        f"/api/v1/claims/{claim.id}/reject",
        {"reason": "Toch niet goed genoeg."},
    )


def reject_without_reason():
    place, claim = _submitted()
    return Attempt(
        _english(place.caretaker), f"/api/v1/claims/{claim.id}/reject", {"reason": ""}
    )


def _edit_form(place: Neighbourhood, **changes) -> dict:
    now = utcnow()
    return {
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
        **changes,
    }


def _edit(place: Neighbourhood, **changes) -> Attempt:
    return Attempt(
        _english(place.caretaker),
        f"/participation/manage/chores/{place.chore.id}/edit",
        form=_edit_form(place, **changes),
        portal=True,
    )


def edit_claimed_chore():
    place = create_neighbourhood(create_corporation(), places=2)
    services.claim_chore(place.add_tenant(), place.chore.id)
    return _edit(place)


def edit_cancelled_chore():
    place = create_neighbourhood(create_corporation())
    services.cancel_chore(place.caretaker, place.chore.id, "Regen voorspeld")
    return _edit(place)


def edit_changed_chore():
    place = create_neighbourhood(create_corporation())
    return _edit(place, terms_digest="0" * 16)


def edit_chore_of_other_cluster():
    place = create_neighbourhood(create_corporation())
    other = create_neighbourhood(place.corporation)
    attempt = _edit(place)
    attempt.user = _english(other.caretaker)
    return attempt


def cancel_twice():
    place = create_neighbourhood(create_corporation())
    services.cancel_chore(place.caretaker, place.chore.id, "Regen voorspeld")
    return Attempt(
        _english(place.caretaker),
        f"/participation/manage/chores/{place.chore.id}/cancel",
        form={"reason": "Nog steeds regen"},
        portal=True,
    )


def post_chore_closing_in_past():
    place = create_neighbourhood(create_corporation())
    now = utcnow()
    return Attempt(
        _english(place.caretaker),
        "/api/v1/chores",
        {
            "cluster_id": place.cluster.id,
            "category_id": place.category.id,
            "title": "Containers buitenzetten",
            "claim_opens_at": (now - timedelta(days=3)).isoformat(),
            "claim_closes_at": (now - timedelta(days=1)).isoformat(),
            "deadline_at": (now + timedelta(days=1)).isoformat(),
        },
    )


def post_chore_to_unassigned_cluster():
    place = create_neighbourhood(create_corporation())
    other = create_neighbourhood(place.corporation)
    attempt = post_chore_closing_in_past()
    now = utcnow()
    attempt.user = _english(place.caretaker)
    attempt.json |= {
        "cluster_id": other.cluster.id,
        "category_id": place.category.id,
        "claim_closes_at": (now + timedelta(days=1)).isoformat(),
    }
    return attempt


# (situation, status, text the response must contain)
REFUSALS = [
    (claim_before_window_opens, 409, "This chore can be claimed from"),
    (claim_after_window_closed, 409, "The claim window of this chore closed"),
    (claim_of_cancelled_chore, 409, "This chore was cancelled: Regen voorspeld"),
    (claim_after_tenancy_ended, 409, "Your tenancy has ended"),
    (claim_without_briefing, 409, "briefing"),
    (claim_twice, 409, "You already have a place on this chore."),
    (claim_when_places_are_taken, 409, "All places on this chore are taken."),
    (claim_in_other_cluster, 404, "Chore not found."),
    (claim_of_changed_terms, 409, "The terms of this chore changed"),
    (withdraw_after_submit, 409, "Only a claim that is not yet submitted"),
    (withdraw_claim_of_other_tenant, 404, "Claim not found."),
    (submit_without_required_photo, 422, "Add a photo of the work"),
    (submit_without_required_note, 422, "Describe what you did"),
    (submit_file_that_is_no_image, 422, "photo"),
    (submit_photo_too_large, 422, "The file is larger than 10 MB"),
    (submit_too_many_hours, 422, "hours_spent"),
    (submit_twice, 409, "This claim is already submitted or closed."),
    (submit_after_deadline, 409, "The deadline of this chore has passed"),
    (approve_by_caretaker_of_other_cluster, 404, "Claim not found."),
    (approve_by_finance_first, 409, "Only a caretaker of this cluster"),
    (approve_own_claim, 409, "You cannot review your own claim."),
    (second_approval_by_first_approver, 409, "You gave the first approval."),
    (approve_unsubmitted_claim, 409, "Only submitted work can be approved"),
    (approve_rejected_claim, 409, "This claim is already rejected"),
    (reject_approved_claim, 409, "This claim is already approved"),
    (reject_without_reason, 422, "reason"),
    (edit_claimed_chore, 409, "A tenant has claimed this chore"),
    (edit_cancelled_chore, 409, "This chore is cancelled"),
    (edit_changed_chore, 409, "Someone else changed this chore"),
    (edit_chore_of_other_cluster, 404, "Chore not found."),
    (cancel_twice, 409, "This chore is already cancelled."),
    (post_chore_closing_in_past, 422, "The claim window must close in the future."),
    (post_chore_to_unassigned_cluster, 404, "Cluster not found."),
]


def _snapshot() -> tuple:
    """Return every row a participation request can change, as plain values."""
    db.session.expire_all()
    chores = db.session.execute(
        select(
            Chore.id,
            Chore.title,
            Chore.reward_points,
            Chore.places,
            Chore.updated_at,
            Chore.cancelled_at,
            Chore.pot_shared_at,
        ).order_by(Chore.id)
    ).all()
    claims = db.session.execute(
        select(
            Claim.id,
            Claim.status,
            Claim.slot,
            Claim.note,
            Claim.photo_name,
            Claim.submitted_at,
            Claim.rejection_reason,
            Claim.updated_at,
        ).order_by(Claim.id)
    ).all()
    approvals = db.session.execute(
        select(
            ClaimApproval.id,
            ClaimApproval.second_approver_id,
            ClaimApproval.credited_at,
            ClaimApproval.journal_id,
        ).order_by(ClaimApproval.id)
    ).all()
    return row_counts(), chores, claims, approvals


def _send(app, attempt: Attempt):
    client = app.test_client()
    if attempt.portal:
        login(client, attempt.user)
        return client.post(attempt.path, data=attempt.form)
    use_token(client, attempt.user)
    if attempt.form:
        body, content_type = _multipart(attempt.form)
        return client.post(attempt.path, data=body, content_type=content_type)
    return client.post(attempt.path, json=attempt.json)


@pytest.mark.parametrize(
    ("situation", "status", "text"),
    REFUSALS,
    ids=[situation.__name__ for situation, _status, _text in REFUSALS],
)
def test_rule_rejects_without_change(app, situation: Callable, status, text):
    attempt = situation()
    db.session.commit()
    before = _snapshot()

    response = _send(app, attempt)

    body = response.get_data(as_text=True)
    assert response.status_code == status, body[:2000]
    assert text in body
    if not attempt.portal:
        assert response.get_json()["message"]
    assert _snapshot() == before
