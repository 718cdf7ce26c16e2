"""Helpers the participation services share: loading with locks and recording history."""

import logging
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

from klusbank.accounts.models import User
from klusbank.db import utcnow
from klusbank.errors import InvalidInput, NotFound, RuleViolation
from klusbank.extensions import db
from participation import limits
from participation.models import Chore, Claim, ClaimEvent, ClaimStatus

logger = logging.getLogger(__name__)


def moment(now: datetime | None) -> datetime:
    """Return ``now``, or the current time when it is None; naive values raise."""
    if now is None:
        return utcnow()
    if now.tzinfo is None:
        raise ValueError(f"naive datetime {now!r}; pass an aware datetime")
    return now


def lock_chore(chore_id: int) -> Chore | None:
    """Load a chore and hold its lock until the transaction ends.

    Every change to a chore or its claims takes this lock before it checks
    anything, so claims, edits, reviews and the pot of one chore change one
    transaction at a time, and each sees what the one before it committed.
    PostgreSQL locks the chore row (``SELECT ... FOR UPDATE``). On SQLite the
    same locked read starts the transaction with ``BEGIN IMMEDIATE``
    (``klusbank.transactions``), which takes the single write lock first.
    """
    query = (
        select(Chore)
        .where(Chore.id == chore_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return db.session.scalar(query)


def lock_claim(claim_id: int) -> Claim | None:
    """Load a claim with its chore, both locked, chore first to avoid deadlocks."""
    chore_id = db.session.scalar(select(Claim.chore_id).where(Claim.id == claim_id))
    if chore_id is None:
        return None
    lock_chore(chore_id)
    query = (
        select(Claim)
        .where(Claim.id == claim_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return db.session.scalar(query)


def change_status(
    claim: Claim,
    to_status: ClaimStatus,
    *,
    actor: User | None,
    at: datetime,
    reason: str | None = None,
) -> ClaimEvent:
    """Move a claim to a new status, free its place if it ends, and record the event.

    The UPDATE only matches the row while its status is still the one this
    session read (see ``Claim.__mapper_args__``). If another transaction
    changed it first, nothing is written and RuleViolation ``claim_changed``
    is raised. The services lock the claim before they read it, so this
    happens only to a caller that did not.
    """
    event = ClaimEvent(
        claim_id=claim.id,
        actor_id=actor.id if actor else None,
        at=at,
        from_status=claim.status,
        to_status=to_status,
        reason=reason,
    )
    try:
        with db.session.begin_nested():
            claim.status = to_status
            claim.updated_at = at
            if not claim.holds_place:
                claim.slot = None
            db.session.add(event)
    except StaleDataError:
        logger.warning(
            "claim %s changed concurrently; %s -> %s not recorded",
            claim.id,
            event.from_status,
            to_status,
        )
        raise RuleViolation(
            _("Someone else changed this claim just now. Reload the page."),
            code="claim_changed",
        )
    return event


def record_creation(claim: Claim, *, actor: User, at: datetime) -> ClaimEvent:
    """Record the first event of a new claim."""
    event = ClaimEvent(
        claim_id=claim.id,
        actor_id=actor.id,
        at=at,
        from_status=None,
        to_status=claim.status,
    )
    db.session.add(event)
    return event


def clean_reason(reason: str | None, field: str = "reason") -> str:
    """Return a stripped reason, or raise InvalidInput when it is too short or long."""
    text = (reason or "").strip()
    if len(text) < limits.REASON_MIN_LENGTH:
        raise InvalidInput(
            _("Give a reason."),
            errors={
                field: [
                    _(
                        "Write a reason of at least %(count)d characters.",
                        count=limits.REASON_MIN_LENGTH,
                    )
                ]
            },
        )
    if len(text) > limits.REASON_MAX_LENGTH:
        raise InvalidInput(
            _("The reason is too long."),
            errors={
                field: [
                    _(
                        "Shorten the reason to %(count)d characters.",
                        count=limits.REASON_MAX_LENGTH,
                    )
                ]
            },
        )
    return text


def chore_not_found() -> NotFound:
    return NotFound(_("Chore not found."))


def claim_not_found() -> NotFound:
    return NotFound(_("Claim not found."))
