"""The database itself refuses more claims than places, and a second approval row."""

import pytest
from sqlalchemy.exc import IntegrityError

from klusbank.db import utcnow
from klusbank.extensions import db
from participation import services
from participation.models import Claim, ClaimApproval, ClaimStatus
from tests.factories import create_corporation
from tests.participation.helpers import create_neighbourhood, submitted_claim


def _raw_claim(chore, tenant, slot, places=None) -> Claim:
    now = utcnow()
    return Claim(
        chore_id=chore.id,
        chore_places=places or chore.places,
        tenant_id=tenant.id,
        status=ClaimStatus.CLAIMED,
        slot=slot,
        claimed_at=now,
        updated_at=now,
    )


def _insert_fails(claim) -> None:
    with pytest.raises(IntegrityError), db.session.begin_nested():
        db.session.add(claim)


def test_slot_above_places_is_refused(app):
    place = create_neighbourhood(create_corporation(), places=2)

    _insert_fails(_raw_claim(place.chore, place.add_tenant(), slot=3))


def test_places_copy_must_match_chore(app):
    place = create_neighbourhood(create_corporation(), places=2)

    _insert_fails(_raw_claim(place.chore, place.add_tenant(), slot=3, places=5))


def test_same_slot_twice_is_refused(app):
    place = create_neighbourhood(create_corporation(), places=2)
    db.session.add(_raw_claim(place.chore, place.add_tenant(), slot=1))
    db.session.flush()

    _insert_fails(_raw_claim(place.chore, place.add_tenant(), slot=1))


def test_two_places_for_one_tenant_are_refused(app):
    place = create_neighbourhood(create_corporation(), places=2)
    tenant = place.add_tenant()
    db.session.add(_raw_claim(place.chore, tenant, slot=1))
    db.session.flush()

    _insert_fails(_raw_claim(place.chore, tenant, slot=2))


def test_open_claim_without_slot_is_refused(app):
    place = create_neighbourhood(create_corporation())

    _insert_fails(_raw_claim(place.chore, place.add_tenant(), slot=None))


def test_reducing_places_below_a_taken_slot_is_refused(app):
    place = create_neighbourhood(create_corporation(), places=3)
    for _ in range(3):
        services.claim_chore(place.add_tenant(), place.chore.id)
    db.session.flush()

    with pytest.raises(IntegrityError), db.session.begin_nested():
        place.chore.places = 2


def test_second_approval_row_is_refused(app):
    place = create_neighbourhood(create_corporation())
    claim = submitted_claim(place.add_tenant(), place.chore)
    services.approve_claim(place.caretaker, claim.id)

    duplicate = ClaimApproval(
        claim_id=claim.id, approved_by_id=place.caretaker.id, approved_at=utcnow()
    )

    with pytest.raises(IntegrityError), db.session.begin_nested():
        db.session.add(duplicate)
