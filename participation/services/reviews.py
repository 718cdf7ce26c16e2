"""Reviewing submitted work: approve (with a second approver above a threshold) or reject."""

import logging
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError

from klusbank.accounts.access import caretaker_cluster_ids, staff_cluster_ids
from klusbank.accounts.models import Role, User
from klusbank.errors import RuleViolation
from klusbank.extensions import db
from participation import queries
from participation.models import Chore, Claim, ClaimApproval, ClaimStatus, RewardMode
from participation.services.common import (
    change_status,
    claim_not_found,
    clean_reason,
    lock_claim,
    moment,
)
from participation.services.credits import credit_approval, share_pot_when_complete

logger = logging.getLogger(__name__)


def approve_claim(
    reviewer: User,
    claim_id: int,
    *,
    expected_status: ClaimStatus | None = None,
    now: datetime | None = None,
) -> Claim:
    """Approve submitted work and credit its points, or give the second approval.

    ``expected_status`` is the status the reviewer was shown (submitted or
    awaiting second approval). If the claim has moved on since, nothing
    changes: the claim is returned when the requested approval has been given
    by someone else, and RuleViolation is raised when it was rejected or
    closed. Without it the current status decides. Approving an approved claim
    changes nothing, so a retried or concurrent approval credits once.
    """
    now = moment(now)
    claim = _reviewable_claim(reviewer, claim_id)
    status = claim.status
    if expected_status is not None and status is not expected_status:
        if _approval_given(expected_status, status):
            logger.info(
                "claim %s already %s; approval by user %s changed nothing",
                claim.id,
                status.value,
                reviewer.id,
            )
            return claim
        raise _not_reviewable(claim)
    if status is ClaimStatus.APPROVED:
        logger.info(
            "claim %s already approved; user %s changed nothing", claim.id, reviewer.id
        )
        return claim
    if status is ClaimStatus.SUBMITTED:
        _approve_first(reviewer, claim, now)
    elif status is ClaimStatus.AWAITING_SECOND_APPROVAL:
        _approve_second(reviewer, claim, now)
    else:
        raise _not_reviewable(claim)
    return claim


def reject_claim(
    reviewer: User,
    claim_id: int,
    reason: str,
    *,
    expected_status: ClaimStatus | None = None,
    now: datetime | None = None,
) -> Claim:
    """Reject submitted work with a reason shown to the tenant, and free the place.

    Rejecting a rejected claim changes nothing and returns it. With
    ``expected_status`` (the status the reviewer was shown), a claim that was
    approved since is not rejected.
    """
    now = moment(now)
    claim = _reviewable_claim(reviewer, claim_id)
    reason = clean_reason(reason)
    status = claim.status
    if status is ClaimStatus.REJECTED:
        logger.info(
            "claim %s already rejected; user %s changed nothing", claim.id, reviewer.id
        )
        return claim
    if expected_status is not None and status is not expected_status:
        raise _not_reviewable(claim)
    if status is ClaimStatus.SUBMITTED:
        _require_caretaker(reviewer, claim.chore)
    elif status is ClaimStatus.AWAITING_SECOND_APPROVAL:
        _require_second_approver_role(reviewer, claim.chore)
    else:
        raise _not_reviewable(claim)
    claim.rejection_reason = reason
    change_status(claim, ClaimStatus.REJECTED, actor=reviewer, at=now, reason=reason)
    db.session.flush()
    share_pot_when_complete(claim.chore, now=now)
    logger.info("claim %s rejected by user %s", claim.id, reviewer.id)
    return claim


def _approval_given(expected: ClaimStatus, status: ClaimStatus) -> bool:
    """Tell whether a claim in ``status`` has the approval requested at ``expected``."""
    if expected is ClaimStatus.SUBMITTED:
        return status in (ClaimStatus.AWAITING_SECOND_APPROVAL, ClaimStatus.APPROVED)
    return expected is ClaimStatus.AWAITING_SECOND_APPROVAL and (
        status is ClaimStatus.APPROVED
    )


def points_at_stake(chore: Chore) -> int:
    """Return the most points one approval of this chore can credit."""
    # A participant of a shared chore can at most receive the whole pot.
    return chore.reward_points


def _reviewable_claim(reviewer: User, claim_id: int) -> Claim:
    claim = lock_claim(claim_id)
    if claim is None or claim.chore.cluster_id not in staff_cluster_ids(reviewer):
        raise claim_not_found()
    if claim.tenant_id == reviewer.id:
        raise RuleViolation(_("You cannot review your own claim."), code="own_claim")
    return claim


def _approve_first(reviewer: User, claim: Claim, now: datetime) -> None:
    chore = claim.chore
    _require_caretaker(reviewer, chore)
    threshold = queries.second_approval_threshold(chore.corporation_id)
    needs_second = threshold is not None and points_at_stake(chore) > threshold

    _add_approval(reviewer, claim, now, needs_second=needs_second)
    if needs_second:
        change_status(
            claim,
            ClaimStatus.AWAITING_SECOND_APPROVAL,
            actor=reviewer,
            at=now,
            reason=_(
                "More than %(points)d points: a second approver is needed.",
                points=threshold,
            ),
        )
        db.session.flush()
        logger.info(
            "claim %s approved once by user %s; second approval needed",
            claim.id,
            reviewer.id,
        )
        return

    change_status(claim, ClaimStatus.APPROVED, actor=reviewer, at=now)
    db.session.flush()
    _credit(claim, now)
    logger.info("claim %s approved by user %s", claim.id, reviewer.id)


def _add_approval(
    reviewer: User, claim: Claim, now: datetime, *, needs_second: bool
) -> None:
    approval = ClaimApproval(
        claim_id=claim.id,
        approved_by_id=reviewer.id,
        approved_at=now,
        needs_second_approval=needs_second,
    )
    try:
        with db.session.begin_nested():
            db.session.add(approval)
    except IntegrityError:
        # Another reviewer's approval row came first. The claim lock makes this
        # unreachable, and without the lock the unique claim_id still stops a
        # second approval row.
        raise RuleViolation(
            _("Someone else reviewed this claim just now. Reload the page."),
            code="claim_changed",
        )
    claim.approval = approval


def _approve_second(reviewer: User, claim: Claim, now: datetime) -> None:
    approval = claim.approval
    if approval.approved_by_id == reviewer.id:
        raise RuleViolation(
            _(
                "You gave the first approval. Another caretaker or finance must "
                "give the second."
            ),
            code="second_approver_required",
        )
    _require_second_approver_role(reviewer, claim.chore)
    approval.second_approver_id = reviewer.id
    approval.second_approved_at = now
    change_status(claim, ClaimStatus.APPROVED, actor=reviewer, at=now)
    db.session.flush()
    _credit(claim, now)
    logger.info("claim %s approved a second time by user %s", claim.id, reviewer.id)


def _credit(claim: Claim, now: datetime) -> None:
    chore = claim.chore
    if chore.reward_mode is RewardMode.EACH:
        credit_approval(claim.approval, chore.reward_points, at=now)
    else:
        share_pot_when_complete(chore, now=now)


def _require_caretaker(reviewer: User, chore: Chore) -> None:
    if chore.cluster_id not in caretaker_cluster_ids(reviewer):
        raise RuleViolation(
            _("Only a caretaker of this cluster can review this work."),
            code="caretaker_required",
        )


def _require_second_approver_role(reviewer: User, chore: Chore) -> None:
    if reviewer.has_role(Role.FINANCE):
        return
    _require_caretaker(reviewer, chore)


def _not_reviewable(claim: Claim) -> RuleViolation:
    """Return the error for a review of a claim in a status that allows none."""
    if claim.status is ClaimStatus.APPROVED:
        return RuleViolation(
            _("This claim is already approved, so it can no longer be rejected."),
            code="claim_already_approved",
        )
    if claim.status is ClaimStatus.REJECTED:
        return RuleViolation(
            _("This claim is already rejected, so it can no longer be approved."),
            code="claim_already_rejected",
        )
    if claim.status is ClaimStatus.AWAITING_SECOND_APPROVAL:
        return RuleViolation(
            _(
                "Someone approved this claim just now, and it waits for a second "
                "approver. Reload the page to review it again."
            ),
            code="claim_changed",
        )
    return RuleViolation(
        _("Only submitted work can be approved or rejected."),
        code="claim_not_reviewable",
    )
