"""Crediting approved work in the rewards ledger, per approval or from a shared pot.

Each credit goes through ``ledger.credit_approved_work`` under the key
``approval:<approval id>``. A claim has at most one approval row, so a repeated
or concurrent approval reaches the ledger with the same key and credits once.

A shared pot is split when the set of approved participants can no longer
change: no claim is still open or under review, and the claim window has
closed, the chore was cancelled, or every place is approved. Until then the
approvals of a shared chore wait with ``credited_at`` empty.
"""

import logging
from datetime import datetime

from sqlalchemy import select

from klusbank.extensions import db
from participation.models import (
    UNFINISHED,
    Chore,
    ClaimApproval,
    ClaimStatus,
    RewardMode,
)
from participation.models import Claim as ClaimModel
from participation.services.common import lock_chore, moment
from rewards.ledger import services as ledger
from rewards.ledger.shares import split_evenly

logger = logging.getLogger(__name__)


def credit_approval(approval: ClaimApproval, points: int, *, at: datetime) -> None:
    """Credit ``points`` to the approved claim's tenant, once, dated ``at``."""
    claim = approval.claim
    chore = claim.chore
    approval.points = points
    approval.credited_at = at
    if points > 0:
        journal = ledger.credit_approved_work(
            chore.corporation_id,
            claim.tenant_id,
            points,
            approval_id=approval.id,
            approved_at=at,
            memo=chore.title,
        )
        approval.journal_id = journal.id
    db.session.flush()
    logger.info(
        "approval %s of claim %s credited %d points to user %s",
        approval.id,
        claim.id,
        points,
        claim.tenant_id,
    )


def share_pot_when_complete(chore: Chore, *, now: datetime) -> bool:
    """Split a shared chore's pot among its approved claims once that set is final.

    The caller holds the chore's lock. Return whether the pot was shared now.
    """
    if chore.reward_mode is not RewardMode.SHARED or chore.pot_shared_at is not None:
        return False
    claims = db.session.scalars(
        select(ClaimModel)
        .where(ClaimModel.chore_id == chore.id)
        .order_by(ClaimModel.id)
    ).all()
    if any(claim.status in UNFINISHED for claim in claims):
        return False
    approved = [claim for claim in claims if claim.status is ClaimStatus.APPROVED]
    if not approved:
        return False
    set_is_final = (
        chore.is_cancelled
        or now >= chore.claim_closes_at
        or len(approved) >= chore.places
    )
    if not set_is_final:
        return False

    # Earlier approvals get the remainder points first, so a rerun gives the
    # same split.
    approved.sort(key=lambda claim: claim.approval.id)
    shares = split_evenly(chore.reward_points, len(approved))
    for claim, share in zip(approved, shares, strict=True):
        credit_approval(claim.approval, share, at=now)
    chore.pot_shared_at = now
    db.session.flush()
    logger.info(
        "pot of chore %s (%d points) shared among %d claims",
        chore.id,
        chore.reward_points,
        len(approved),
    )
    return True


def share_due_pots(*, now: datetime | None = None) -> int:
    """Share the pots whose claim window has closed; return how many were shared."""
    now = moment(now)
    approved_exists = (
        select(ClaimModel.id)
        .where(
            ClaimModel.chore_id == Chore.id,
            ClaimModel.status == ClaimStatus.APPROVED,
        )
        .exists()
    )
    chore_ids = db.session.scalars(
        select(Chore.id)
        .where(
            Chore.reward_mode == RewardMode.SHARED,
            Chore.pot_shared_at.is_(None),
            Chore.claim_closes_at <= now,
            approved_exists,
        )
        .order_by(Chore.id)
    ).all()
    shared = 0
    for chore_id in chore_ids:
        chore = lock_chore(chore_id)
        if chore is not None and share_pot_when_complete(chore, now=now):
            shared += 1
    return shared
