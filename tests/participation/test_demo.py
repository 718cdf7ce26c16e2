"""The demo: chores and claims in every state, last month's work credited in that month."""

from datetime import datetime

import time_machine
from sqlalchemy import func, select

from klusbank.demo import seed
from klusbank.extensions import db
from klusbank.timeutil import AMSTERDAM, Period, business_date
from participation import queries
from participation.models import (
    Chore,
    ChoreCategory,
    Claim,
    ClaimApproval,
    ClaimStatus,
    RewardMode,
)
from participation.queries import ChoreState
from rewards.ledger.models import Journal, JournalKind

SEEDED_AT = datetime(2026, 11, 20, 10, 0, tzinfo=AMSTERDAM)
PREVIOUS = Period(2026, 10)


def test_demo_seed_covers_participation(app):
    with time_machine.travel(SEEDED_AT, tick=False):
        context = seed()
        db.session.commit()
        chores = db.session.scalars(select(Chore)).all()
        taken = queries.places_taken([chore.id for chore in chores])
        states = {
            queries.chore_state(chore, taken.get(chore.id, 0), SEEDED_AT)
            for chore in chores
        }
    statuses = set(db.session.scalars(select(Claim.status).distinct()))
    briefing_ids = {briefing.id for briefing in context.extra["briefings"].values()}
    linked = set(
        db.session.scalars(
            select(ChoreCategory.briefing_id).where(
                ChoreCategory.briefing_id.is_not(None)
            )
        )
    )
    credited = db.session.scalars(
        select(ClaimApproval).where(ClaimApproval.credited_at.is_not(None))
    ).all()
    pending = db.session.scalars(
        select(ClaimApproval).where(
            ClaimApproval.needs_second_approval.is_(True),
            ClaimApproval.second_approver_id.is_(None),
        )
    ).all()
    journal_days = db.session.scalars(
        select(Journal.effective_date).where(Journal.kind == JournalKind.APPROVAL)
    ).all()
    shared = [
        chore
        for chore in chores
        if chore.reward_mode is RewardMode.SHARED and chore.pot_shared_at is not None
    ]

    assert states == set(ChoreState)
    assert statuses == set(ClaimStatus)
    assert {chore.cluster_id for chore in chores} == {c.id for c in context.clusters}
    assert linked
    assert linked <= briefing_ids
    assert credited
    assert {Period.of(business_date(a.credited_at)) for a in credited} == {PREVIOUS}
    assert {Period.of(day) for day in journal_days} == {PREVIOUS}
    assert pending
    assert all(approval.credited_at is None for approval in pending)
    assert shared
    for chore in shared:
        assert _points_paid(chore) == chore.reward_points, chore


def _points_paid(chore: Chore) -> int:
    return db.session.scalar(
        select(func.sum(ClaimApproval.points))
        .join(Claim, Claim.id == ClaimApproval.claim_id)
        .where(Claim.chore_id == chore.id)
    )
