"""Caretaker changes to chores: post (once or repeating), edit and cancel."""

import calendar
import logging
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import select

from klusbank.accounts.access import caretaker_cluster_ids
from klusbank.accounts.models import Role, User
from klusbank.errors import InvalidInput, NotFound, RuleViolation
from klusbank.extensions import db
from klusbank.housing.models import Cluster
from klusbank.timeutil import AMSTERDAM
from participation import limits
from participation.models import (
    UNFINISHED,
    Chore,
    ChoreCategory,
    ChoreSeries,
    Claim,
    ClaimStatus,
    ProofKind,
    Recurrence,
    RewardMode,
)
from participation.services.common import (
    change_status,
    chore_not_found,
    clean_reason,
    lock_chore,
    moment,
)
from participation.services.credits import share_pot_when_complete

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ChoreTerms:
    """The terms a caretaker sets on a chore, under which tenants claim it.

    ``reward_points`` and ``places`` left as None take the category's defaults.
    """

    title: str
    description: str
    category_id: int
    reward_points: int | None
    reward_mode: RewardMode
    places: int | None
    proof: ProofKind
    claim_opens_at: datetime
    claim_closes_at: datetime
    deadline_at: datetime


def post_chore(
    actor: User,
    cluster_id: int,
    terms: ChoreTerms,
    *,
    recurrence: Recurrence | None = None,
    occurrences: int = 1,
    now: datetime | None = None,
) -> list[Chore]:
    """Post a chore to one of the caretaker's clusters, or one per occurrence.

    ``now`` is the moment of posting; it defaults to the current time and lets
    the demo post chores in the past.
    """
    now = moment(now)
    cluster = _caretaker_cluster(actor, cluster_id)
    terms = _checked_terms(actor, terms, now=now)
    _check_repeat(recurrence, occurrences)

    series = None
    if recurrence is not None:
        series = ChoreSeries(
            corporation_id=cluster.corporation_id,
            recurrence=recurrence,
            occurrences=occurrences,
            created_by_id=actor.id,
            created_at=now,
        )
        db.session.add(series)
    chores = []
    for index in range(occurrences):
        chore = Chore(
            corporation_id=cluster.corporation_id,
            cluster_id=cluster.id,
            series=series,
            created_by_id=actor.id,
            created_at=now,
            updated_at=now,
        )
        _apply(chore, _shift_terms(terms, recurrence, index))
        db.session.add(chore)
        chores.append(chore)
    db.session.flush()
    logger.info(
        "chores %s posted to cluster %s by user %s",
        [chore.id for chore in chores],
        cluster.id,
        actor.id,
    )
    return chores


def update_chore(
    actor: User,
    chore_id: int,
    terms: ChoreTerms,
    *,
    terms_digest: str | None = None,
    now: datetime | None = None,
) -> Chore:
    """Change a chore's terms while no tenant has claimed it.

    ``terms_digest`` is ``Chore.terms_digest`` as the edit form showed it; when
    given, an edit of terms that someone else changed since is rejected.

    The edit and ``claim_chore`` both take the chore's lock before they check,
    so they run one after the other: an edit after a claim is rejected with
    ``chore_claimed``, and a claim after an edit sees the new digest and is
    rejected with ``chore_terms_changed``. A lock was chosen over a version
    number in the UPDATE because the claim inserts a claim row and changes
    nothing on the chore, so it has no UPDATE of its own to guard.
    """
    now = moment(now)
    chore = _caretaker_chore(actor, chore_id)
    if chore.is_cancelled:
        raise RuleViolation(
            _("This chore is cancelled and can no longer be changed."),
            code="chore_cancelled",
        )
    has_claims = db.session.scalar(select(Claim.id).where(Claim.chore_id == chore.id))
    if has_claims is not None:
        raise RuleViolation(
            _(
                "A tenant has claimed this chore, so its terms can no longer change. "
                "Cancel it with a reason and post a new one."
            ),
            code="chore_claimed",
        )
    if terms_digest is not None and terms_digest != chore.terms_digest:
        raise RuleViolation(
            _(
                "Someone else changed this chore after you opened the form. "
                "Open the form again to see the current terms."
            ),
            code="chore_changed",
        )
    terms = _checked_terms(actor, terms, now=now)
    _apply(chore, terms)
    chore.updated_at = now
    db.session.flush()
    logger.info("chore %s updated by user %s", chore.id, actor.id)
    return chore


def cancel_chore(
    actor: User, chore_id: int, reason: str, *, now: datetime | None = None
) -> Chore:
    """Cancel a chore and every unfinished claim on it, with a reason claimants see."""
    now = moment(now)
    chore = _caretaker_chore(actor, chore_id)
    reason = clean_reason(reason)
    if chore.is_cancelled:
        raise RuleViolation(
            _("This chore is already cancelled."), code="chore_cancelled"
        )
    chore.cancelled_at = now
    chore.cancelled_by_id = actor.id
    chore.cancel_reason = reason
    chore.updated_at = now
    # Queried, not read from chore.claims, which may be stale in this session.
    claims = db.session.scalars(select(Claim).where(Claim.chore_id == chore.id)).all()
    for claim in claims:
        if claim.status in UNFINISHED:
            change_status(
                claim, ClaimStatus.CANCELLED, actor=actor, at=now, reason=reason
            )
    db.session.flush()
    # Work approved before the cancellation is still paid from a shared pot.
    share_pot_when_complete(chore, now=now)
    logger.info("chore %s cancelled by user %s", chore.id, actor.id)
    return chore


def _caretaker_cluster(actor: User, cluster_id: int) -> Cluster:
    cluster = db.session.get(Cluster, cluster_id)
    if (
        cluster is None
        or not actor.has_role(Role.CARETAKER)
        or cluster.id not in caretaker_cluster_ids(actor)
    ):
        raise NotFound(_("Cluster not found."))
    return cluster


def _caretaker_chore(actor: User, chore_id: int) -> Chore:
    chore = lock_chore(chore_id)
    if (
        chore is None
        or not actor.has_role(Role.CARETAKER)
        or chore.cluster_id not in caretaker_cluster_ids(actor)
    ):
        raise chore_not_found()
    return chore


def _checked_terms(actor: User, terms: ChoreTerms, *, now: datetime) -> ChoreTerms:
    """Return the terms with category defaults filled in; raise InvalidInput naming every bad field."""
    errors = _text_errors(terms)
    category = db.session.get(ChoreCategory, terms.category_id)
    if (
        category is None
        or category.corporation_id != actor.corporation_id
        or not category.is_active
    ):
        errors["category_id"] = [_("Choose one of the active categories.")]
    else:
        terms = replace(
            terms,
            reward_points=terms.reward_points or category.default_points,
            places=terms.places or category.default_places,
        )
        errors.update(_reward_errors(terms))
    errors.update(_window_errors(terms, now))

    if errors:
        raise InvalidInput(_("Some fields are invalid."), errors=errors)
    return terms


def _text_errors(terms: ChoreTerms) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    title = terms.title.strip()
    if not limits.TITLE_MIN_LENGTH <= len(title) <= limits.TITLE_MAX_LENGTH:
        errors["title"] = [
            _(
                "Enter a title of %(min)d to %(max)d characters.",
                min=limits.TITLE_MIN_LENGTH,
                max=limits.TITLE_MAX_LENGTH,
            )
        ]
    if len(terms.description) > limits.DESCRIPTION_MAX_LENGTH:
        errors["description"] = [
            _(
                "Shorten the description to %(max)d characters.",
                max=limits.DESCRIPTION_MAX_LENGTH,
            )
        ]
    return errors


def _reward_errors(terms: ChoreTerms) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if not 1 <= terms.reward_points <= limits.MAX_REWARD_POINTS:
        errors["reward_points"] = [
            _("Enter 1 to %(max)d points.", max=limits.MAX_REWARD_POINTS)
        ]
    if not 1 <= terms.places <= limits.MAX_PLACES:
        errors["places"] = [_("Enter 1 to %(max)d places.", max=limits.MAX_PLACES)]
    elif terms.reward_mode is RewardMode.SHARED and terms.reward_points < terms.places:
        errors["reward_points"] = [
            _("A shared pot needs at least one point per place.")
        ]
    return errors


def _window_errors(terms: ChoreTerms, now: datetime) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if terms.claim_closes_at <= terms.claim_opens_at:
        errors["claim_closes_at"] = [_("The claim window must close after it opens.")]
    elif terms.claim_closes_at <= now:
        errors["claim_closes_at"] = [_("The claim window must close in the future.")]
    if terms.deadline_at < terms.claim_closes_at:
        errors["deadline_at"] = [
            _("The deadline must be on or after the close of the claim window.")
        ]
    # Far-future moments (a mistyped year 9999) would overflow date arithmetic
    # on the pages that show the chore, so both ends stay within two years.
    latest = now + timedelta(days=2 * limits.MAX_DAYS_AHEAD)
    for name in ("claim_closes_at", "deadline_at"):
        if name not in errors and getattr(terms, name) > latest:
            errors[name] = [_("Choose a moment within two years from now.")]
    if terms.claim_opens_at > now + timedelta(days=limits.MAX_DAYS_AHEAD):
        errors["claim_opens_at"] = [
            _(
                "The claim window may open at most %(days)d days ahead.",
                days=limits.MAX_DAYS_AHEAD,
            )
        ]
    return errors


def _check_repeat(recurrence: Recurrence | None, occurrences: int) -> None:
    maximum = limits.MAX_OCCURRENCES[recurrence] if recurrence else 1
    if not 1 <= occurrences <= maximum:
        if recurrence is None:
            message = _("Choose weekly or monthly to post more than one occurrence.")
        else:
            message = _("Enter 1 to %(max)d occurrences.", max=maximum)
        raise InvalidInput(message, errors={"occurrences": [message]})


def _shift_terms(
    terms: ChoreTerms, recurrence: Recurrence | None, index: int
) -> ChoreTerms:
    """Return the terms of the occurrence ``index`` places after the first."""
    if recurrence is None or index == 0:
        return terms
    return replace(
        terms,
        claim_opens_at=shift(terms.claim_opens_at, recurrence, index),
        claim_closes_at=shift(terms.claim_closes_at, recurrence, index),
        deadline_at=shift(terms.deadline_at, recurrence, index),
    )


def shift(when: datetime, recurrence: Recurrence, count: int) -> datetime:
    """Move a moment by weeks or months, keeping its Amsterdam wall-clock time.

    A monthly move from the 31st lands on the last day of shorter months.
    """
    local = when.astimezone(AMSTERDAM).replace(tzinfo=None)
    if recurrence is Recurrence.WEEKLY:
        moved = local + timedelta(weeks=count)
    else:
        month_index = local.month - 1 + count
        year = local.year + month_index // 12
        month = month_index % 12 + 1
        day = min(local.day, calendar.monthrange(year, month)[1])
        moved = local.replace(year=year, month=month, day=day)
    return moved.replace(tzinfo=AMSTERDAM).astimezone(when.tzinfo)


def _apply(chore: Chore, terms: ChoreTerms) -> None:
    chore.title = terms.title.strip()
    chore.description = terms.description.strip()
    chore.category_id = terms.category_id
    chore.reward_points = terms.reward_points
    chore.reward_mode = terms.reward_mode
    chore.places = terms.places
    chore.proof = terms.proof
    chore.claim_opens_at = terms.claim_opens_at
    chore.claim_closes_at = terms.claim_closes_at
    chore.deadline_at = terms.deadline_at
