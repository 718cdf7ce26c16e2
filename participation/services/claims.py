"""Tenant changes to claims: claim a place, withdraw, submit; and expiry."""

import logging
from datetime import datetime
from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy import exists, func, select
from sqlalchemy.exc import IntegrityError

from klusbank.accounts.access import tenant_cluster_ids
from klusbank.accounts.models import Role, User
from klusbank.errors import InvalidInput, RuleViolation
from klusbank.extensions import db
from klusbank.formatting import format_moment
from klusbank.housing.models import ClusterMembership, Tenancy
from klusbank.timeutil import business_date
from klusbank.uploads import store_image
from liability import services as liability
from participation import limits
from participation.models import Chore, Claim, ClaimStatus, ProofKind
from participation.services.common import (
    change_status,
    chore_not_found,
    claim_not_found,
    lock_chore,
    lock_claim,
    moment,
    record_creation,
)
from participation.services.credits import share_pot_when_complete

logger = logging.getLogger(__name__)
PHOTO_FOLDER = "claims"


def claim_chore(
    tenant: User,
    chore_id: int,
    *,
    briefing_return_url: str | None = None,
    terms_digest: str | None = None,
    now: datetime | None = None,
) -> Claim:
    """Claim a free place on a chore of one of the tenant's clusters.

    A missing briefing acceptance raises RuleViolation linking to the briefing
    page, which returns to ``briefing_return_url`` after acceptance.
    ``terms_digest`` is ``Chore.terms_digest`` as the tenant was shown it; when
    given, a claim of terms changed since is rejected.

    The chore is locked first (see ``lock_chore``), so concurrent claims and
    edits of one chore queue up. Should two claims still pick the same slot,
    the unique slot constraint fails the second insert, and the next free slot
    is tried.
    """
    now = moment(now)
    chore = lock_chore(chore_id)
    _check_tenant_may_claim(tenant, chore, now)
    _check_claim_window(chore, now)
    if terms_digest is not None and terms_digest != chore.terms_digest:
        raise RuleViolation(
            _(
                "The terms of this chore changed after you opened it. "
                "Check the new terms and claim again."
            ),
            code="chore_terms_changed",
        )

    holding = _place_holding_claims(chore)
    if any(claim.tenant_id == tenant.id for claim in holding):
        raise RuleViolation(
            _("You already have a place on this chore."), code="already_claimed"
        )
    if len(holding) >= chore.places:
        raise _no_places_left()
    acceptance_id = None
    if chore.category.briefing_id is not None:
        acceptance = liability.require_current_acceptance(
            tenant, chore.category.briefing_id, next_url=briefing_return_url
        )
        acceptance_id = acceptance.id

    claim = _insert_in_free_slot(tenant, chore, acceptance_id, now)
    record_creation(claim, actor=tenant, at=now)
    db.session.flush()
    logger.info(
        "chore %s claimed by user %s (claim %s, slot %s)",
        chore.id,
        tenant.id,
        claim.id,
        claim.slot,
    )
    return claim


def withdraw_claim(
    tenant: User, claim_id: int, *, now: datetime | None = None
) -> Claim:
    """Withdraw the tenant's claim before it is submitted, freeing its place."""
    now = moment(now)
    claim = _tenant_claim(tenant, claim_id)
    if claim.status is not ClaimStatus.CLAIMED:
        raise RuleViolation(
            _("Only a claim that is not yet submitted can be withdrawn."),
            code="claim_not_withdrawable",
        )
    change_status(claim, ClaimStatus.WITHDRAWN, actor=tenant, at=now)
    db.session.flush()
    share_pot_when_complete(claim.chore, now=now)
    logger.info("claim %s withdrawn by user %s", claim.id, tenant.id)
    return claim


def submit_claim(
    tenant: User,
    claim_id: int,
    *,
    note: str | None,
    photo: bytes | None = None,
    hours_spent: Decimal | None = None,
    now: datetime | None = None,
) -> Claim:
    """Submit the work of a claim with a note, a photo where required, and hours."""
    now = moment(now)
    claim = _tenant_claim(tenant, claim_id)
    chore = claim.chore
    if claim.status is not ClaimStatus.CLAIMED:
        raise RuleViolation(
            _("This claim is already submitted or closed."),
            code="claim_not_submittable",
        )
    if now >= chore.deadline_at:
        raise RuleViolation(
            _(
                "The deadline of this chore has passed (%(deadline)s).",
                deadline=format_moment(chore.deadline_at),
            ),
            code="deadline_passed",
        )
    note = (note or "").strip()
    minutes = _check_submission(chore, note, photo, hours_spent)

    if photo:
        stored = store_image(photo, field="photo", folder=PHOTO_FOLDER)
        claim.photo_name = stored.name
        claim.photo_mime_type = stored.mime_type
        claim.photo_sha256 = stored.sha256
    claim.note = note or None
    claim.minutes_spent = minutes
    claim.submitted_at = now
    change_status(claim, ClaimStatus.SUBMITTED, actor=tenant, at=now)
    db.session.flush()
    logger.info("claim %s submitted by user %s", claim.id, tenant.id)
    return claim


def expire_overdue_claims(*, now: datetime | None = None) -> int:
    """Expire claims not submitted by their chore's deadline; return how many."""
    now = moment(now)
    overdue = db.session.scalars(
        select(Claim.id)
        .join(Chore, Chore.id == Claim.chore_id)
        .where(Claim.status == ClaimStatus.CLAIMED, Chore.deadline_at <= now)
        .order_by(Claim.id)
    ).all()
    expired = 0
    for claim_id in overdue:
        claim = lock_claim(claim_id)
        # Submitted or withdrawn since the list was read: leave it alone.
        if claim is None or claim.status is not ClaimStatus.CLAIMED:
            continue
        change_status(
            claim,
            ClaimStatus.EXPIRED,
            actor=None,
            at=now,
            reason=_("The deadline passed before the work was submitted."),
        )
        db.session.flush()
        share_pot_when_complete(claim.chore, now=now)
        expired += 1
        logger.info("claim %s expired (chore %s)", claim.id, claim.chore_id)
    return expired


def _check_tenant_may_claim(tenant: User, chore: Chore | None, now: datetime) -> None:
    """Raise NotFound unless the chore is in a cluster of the tenant's current units."""
    if chore is None or not tenant.has_role(Role.TENANT):
        raise chore_not_found()
    on = business_date(now)
    if chore.cluster_id in tenant_cluster_ids(tenant, on):
        return
    if _had_tenancy_in(tenant, chore.cluster_id):
        raise RuleViolation(
            _("Your tenancy has ended, so you can no longer claim chores here."),
            code="tenancy_ended",
        )
    raise chore_not_found()


def _had_tenancy_in(tenant: User, cluster_id: int) -> bool:
    query = select(
        exists().where(
            Tenancy.user_id == tenant.id,
            Tenancy.unit_id == ClusterMembership.unit_id,
            ClusterMembership.cluster_id == cluster_id,
        )
    )
    return bool(db.session.scalar(query))


def _check_claim_window(chore: Chore, now: datetime) -> None:
    if chore.is_cancelled:
        raise RuleViolation(
            _("This chore was cancelled: %(reason)s", reason=chore.cancel_reason),
            code="chore_cancelled",
        )
    if now < chore.claim_opens_at:
        raise RuleViolation(
            _(
                "This chore can be claimed from %(opens)s.",
                opens=format_moment(chore.claim_opens_at),
            ),
            code="claim_window_not_open",
        )
    if now >= chore.claim_closes_at:
        raise RuleViolation(
            _(
                "The claim window of this chore closed on %(closes)s.",
                closes=format_moment(chore.claim_closes_at),
            ),
            code="claim_window_closed",
        )


def _place_holding_claims(chore: Chore) -> list[Claim]:
    query = select(Claim).where(Claim.chore_id == chore.id, Claim.slot.is_not(None))
    return list(db.session.scalars(query))


def _insert_in_free_slot(
    tenant: User, chore: Chore, acceptance_id: int | None, now: datetime
) -> Claim:
    """Insert the claim in the lowest free slot, trying the next on a collision."""
    for _attempt in range(chore.places):
        taken = set(
            db.session.scalars(
                select(Claim.slot).where(
                    Claim.chore_id == chore.id, Claim.slot.is_not(None)
                )
            )
        )
        free = [slot for slot in range(1, chore.places + 1) if slot not in taken]
        if not free:
            break
        claim = Claim(
            chore_id=chore.id,
            chore_places=chore.places,
            tenant_id=tenant.id,
            status=ClaimStatus.CLAIMED,
            slot=free[0],
            acceptance_id=acceptance_id,
            claimed_at=now,
            updated_at=now,
        )
        try:
            with db.session.begin_nested():
                db.session.add(claim)
        except IntegrityError:
            # Another transaction took this slot, or this tenant's place, first.
            # Rolling back the savepoint removed the claim from the session.
            logger.info(
                "slot %s of chore %s was taken concurrently; retrying",
                free[0],
                chore.id,
            )
            if _tenant_holds_place(tenant, chore):
                raise RuleViolation(
                    _("You already have a place on this chore."),
                    code="already_claimed",
                )
            continue
        return claim
    raise _no_places_left()


def _tenant_holds_place(tenant: User, chore: Chore) -> bool:
    query = select(func.count(Claim.id)).where(
        Claim.chore_id == chore.id,
        Claim.tenant_id == tenant.id,
        Claim.slot.is_not(None),
    )
    return bool(db.session.scalar(query))


def _no_places_left() -> RuleViolation:
    return RuleViolation(
        _("All places on this chore are taken."), code="no_places_left"
    )


def _tenant_claim(tenant: User, claim_id: int) -> Claim:
    claim = lock_claim(claim_id)
    if claim is None or claim.tenant_id != tenant.id:
        raise claim_not_found()
    return claim


def _check_submission(
    chore: Chore, note: str, photo: bytes | None, hours_spent: Decimal | None
) -> int | None:
    """Raise InvalidInput for missing proof or bad hours; return the minutes spent."""
    errors: dict[str, list[str]] = {}
    if chore.proof is ProofKind.NOTE and not note:
        errors["note"] = [_("Describe what you did; this chore needs a note.")]
    if len(note) > limits.NOTE_MAX_LENGTH:
        errors["note"] = [
            _("Shorten the note to %(max)d characters.", max=limits.NOTE_MAX_LENGTH)
        ]
    if chore.proof is ProofKind.PHOTO and not photo:
        errors["photo"] = [_("Add a photo of the work; this chore needs one.")]
    minutes = None
    if hours_spent is not None:
        if not hours_spent.is_finite() or not (
            Decimal(0) < hours_spent <= limits.MAX_HOURS_SPENT
        ):
            errors["hours_spent"] = [
                _(
                    "Enter hours above 0 and at most %(max)d, e.g. 1.5.",
                    max=limits.MAX_HOURS_SPENT,
                )
            ]
        else:
            minutes = max(1, int((hours_spent * 60).to_integral_value()))
    if errors:
        raise InvalidInput(_("Some fields are invalid."), errors=errors)
    return minutes
