"""Reads of the participation domain, scoped to what the actor may see.

A chore, claim or photo outside the actor's scope raises NotFound, exactly as
a missing one, so ids reveal nothing.
"""

import enum
from dataclasses import dataclass
from datetime import date, datetime

from flask import g, has_request_context
from flask_babel import gettext as _
from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import contains_eager, joinedload, selectinload

from klusbank.accounts.access import (
    caretaker_cluster_ids,
    staff_cluster_ids,
    tenant_cluster_ids,
    today,
)
from klusbank.accounts.models import Role, User
from klusbank.db import utcnow
from klusbank.errors import NotFound
from klusbank.extensions import db
from klusbank.housing.models import Cluster, ClusterMembership, Tenancy
from klusbank.timeutil import business_date
from liability import services as liability
from participation import limits
from participation.models import (
    Chore,
    ChoreCategory,
    Claim,
    ClaimApproval,
    ClaimEvent,
    ClaimStatus,
    ParticipationSettings,
)


class ChoreState(enum.StrEnum):
    UPCOMING = "upcoming"
    OPEN = "open"
    FULL = "full"
    CLOSED = "closed"
    CANCELLED = "cancelled"


class ChoreSort(enum.StrEnum):
    CLOSING = "closing"  # claim window closing soonest first
    NEWEST = "newest"
    POINTS = "points"  # most points first


@dataclass(frozen=True)
class ChoreFilter:
    """Filters and sort order of a tenant's list of chores."""

    category_id: int | None = None
    cluster_id: int | None = None
    available_only: bool = False
    sort: ChoreSort = ChoreSort.CLOSING


@dataclass(frozen=True)
class ChoreListing:
    """A chore with its places taken, its state and the viewer's own claim."""

    chore: Chore
    places_taken: int
    state: ChoreState
    own_claim: Claim | None = None

    @property
    def places_left(self) -> int:
        return max(0, self.chore.places - self.places_taken)


def second_approval_threshold(corporation_id: int) -> int | None:
    """Return the points above which an approval needs a second approver."""
    settings = db.session.get(ParticipationSettings, corporation_id)
    if settings is None:
        return limits.DEFAULT_SECOND_APPROVAL_ABOVE_POINTS
    return settings.second_approval_above_points


def categories(
    corporation_id: int, *, active_only: bool = False
) -> list[ChoreCategory]:
    """Return the chore categories of a corporation, by Dutch name."""
    query = select(ChoreCategory).where(ChoreCategory.corporation_id == corporation_id)
    if active_only:
        query = query.where(ChoreCategory.is_active.is_(True))
    return list(db.session.scalars(query.order_by(ChoreCategory.name_nl)))


def category_for_admin(user: User, category_id: int) -> ChoreCategory:
    """Return a category of the administrator's corporation, or raise NotFound."""
    category = db.session.get(ChoreCategory, category_id)
    if (
        category is None
        or not user.has_role(Role.ADMIN)
        or category.corporation_id != user.corporation_id
    ):
        raise NotFound(_("Category not found."))
    return category


def chore_state(chore: Chore, places_taken: int, now: datetime) -> ChoreState:
    """Return the state of a chore at a moment, for lists and filters."""
    if chore.is_cancelled:
        return ChoreState.CANCELLED
    if now < chore.claim_opens_at:
        return ChoreState.UPCOMING
    if now >= chore.claim_closes_at:
        return ChoreState.CLOSED
    if places_taken >= chore.places:
        return ChoreState.FULL
    return ChoreState.OPEN


def places_taken(chore_ids: list[int]) -> dict[int, int]:
    """Return the number of places held per chore."""
    if not chore_ids:
        return {}
    query = (
        select(Claim.chore_id, func.count(Claim.id))
        .where(Claim.chore_id.in_(chore_ids), Claim.slot.is_not(None))
        .group_by(Claim.chore_id)
    )
    return dict(db.session.execute(query).all())


def tenant_clusters(tenant: User, on: date | None = None) -> list[Cluster]:
    """Return the clusters of the units the tenant rents on a day, by id.

    These are the clusters of ``tenant_cluster_ids``, read in one query. In a
    request the list is kept on ``flask.g``, because the chore list needs it
    twice, for its filter and for the chores.
    """
    on = on or today()
    memo = g.setdefault("tenant_clusters", {}) if has_request_context() else {}
    key = (tenant.id, on)
    if key not in memo:
        query = (
            select(Cluster)
            .join(ClusterMembership, ClusterMembership.cluster_id == Cluster.id)
            .join(Tenancy, Tenancy.unit_id == ClusterMembership.unit_id)
            .where(
                Tenancy.user_id == tenant.id,
                Tenancy.starts_on <= on,
                (Tenancy.ends_on.is_(None)) | (Tenancy.ends_on >= on),
            )
            .distinct()
            .order_by(Cluster.id)
        )
        memo[key] = list(db.session.scalars(query))
    return memo[key]


def open_chores_for_tenant(
    tenant: User, chore_filter: ChoreFilter, *, now: datetime | None = None
) -> list[ChoreListing]:
    """Return the claimable chores of the tenant's clusters, filtered and sorted."""
    now = now or utcnow()
    if not tenant.has_role(Role.TENANT):
        return []
    cluster_ids = [
        cluster.id for cluster in tenant_clusters(tenant, business_date(now))
    ]
    if not cluster_ids:
        return []
    query = select(Chore, _places_taken_column(), _own_claim_id_column(tenant)).where(
        Chore.cluster_id.in_(cluster_ids),
        Chore.cancelled_at.is_(None),
        Chore.claim_opens_at <= now,
        Chore.claim_closes_at > now,
    )
    if chore_filter.category_id is not None:
        query = query.where(Chore.category_id == chore_filter.category_id)
    if chore_filter.cluster_id is not None:
        query = query.where(Chore.cluster_id == chore_filter.cluster_id)
    query = _sorted(query, chore_filter.sort).options(
        joinedload(Chore.category), joinedload(Chore.cluster)
    )
    listings = _counted_listings(db.session.execute(query).all(), now)
    if chore_filter.available_only:
        listings = [
            listing
            for listing in listings
            if listing.places_left > 0 or listing.own_claim is not None
        ]
    return listings


def _places_taken_column():
    """Count the claims holding a place on each chore of the outer query."""
    return (
        select(func.count(Claim.id))
        .where(Claim.chore_id == Chore.id, Claim.slot.is_not(None))
        .correlate(Chore)
        .scalar_subquery()
    )


def _own_claim_id_column(tenant: User):
    """Select the tenant's claim holding a place on each chore (at most one)."""
    return (
        select(func.max(Claim.id))
        .where(
            Claim.chore_id == Chore.id,
            Claim.tenant_id == tenant.id,
            Claim.slot.is_not(None),
        )
        .correlate(Chore)
        .scalar_subquery()
    )


def _counted_listings(rows, now: datetime) -> list[ChoreListing]:
    """Build listings from rows of (chore, places taken, own claim id)."""
    own_claim_ids = [own_id for _chore, _held, own_id in rows if own_id is not None]
    own_claims = {}
    if own_claim_ids:
        query = select(Claim).where(Claim.id.in_(own_claim_ids))
        own_claims = {claim.id: claim for claim in db.session.scalars(query)}
    return [
        ChoreListing(
            chore=chore,
            places_taken=held,
            state=chore_state(chore, held, now),
            own_claim=own_claims.get(own_id),
        )
        for chore, held, own_id in rows
    ]


def _sorted(query: Select, sort: ChoreSort) -> Select:
    if sort is ChoreSort.NEWEST:
        return query.order_by(Chore.created_at.desc(), Chore.id.desc())
    if sort is ChoreSort.POINTS:
        return query.order_by(Chore.reward_points.desc(), Chore.claim_closes_at)
    return query.order_by(Chore.claim_closes_at, Chore.id)


def _listings(
    chores: list[Chore], now: datetime, *, viewer: User | None = None
) -> list[ChoreListing]:
    taken = places_taken([chore.id for chore in chores])
    own: dict[int, Claim] = {}
    if viewer is not None and chores:
        own_claims = db.session.scalars(
            select(Claim).where(
                Claim.tenant_id == viewer.id,
                Claim.chore_id.in_([chore.id for chore in chores]),
                Claim.slot.is_not(None),
            )
        )
        own = {claim.chore_id: claim for claim in own_claims}
    return [
        ChoreListing(
            chore=chore,
            places_taken=taken.get(chore.id, 0),
            state=chore_state(chore, taken.get(chore.id, 0), now),
            own_claim=own.get(chore.id),
        )
        for chore in chores
    ]


def listing_for(chore: Chore, *, viewer: User | None = None) -> ChoreListing:
    """Return the listing of one chore, as seen by ``viewer``."""
    return _listings([chore], utcnow(), viewer=viewer)[0]


def chore_for_tenant(tenant: User, chore_id: int) -> Chore:
    """Return a chore of the tenant's current clusters or one they claimed."""
    chore = db.session.get(Chore, chore_id)
    if chore is None or not tenant.has_role(Role.TENANT):
        raise NotFound(_("Chore not found."))
    if chore.cluster_id in tenant_cluster_ids(tenant):
        return chore
    claimed = db.session.scalar(
        select(Claim.id).where(Claim.chore_id == chore.id, Claim.tenant_id == tenant.id)
    )
    if claimed is None:
        raise NotFound(_("Chore not found."))
    return chore


def chore_for_viewer(user: User, chore_id: int) -> Chore:
    """Return a chore the user may see as a tenant or as staff, or raise NotFound."""
    chore = db.session.get(Chore, chore_id)
    if chore is not None and chore.cluster_id in staff_cluster_ids(user):
        return chore
    return chore_for_tenant(user, chore_id)


def chores_for_staff(
    user: User, *, cluster_id: int | None = None, include_finished: bool = False
) -> list[ChoreListing]:
    """Return the chores of the staff member's clusters, latest deadline first."""
    cluster_ids = staff_cluster_ids(user)
    if cluster_id is not None:
        cluster_ids &= {cluster_id}
    if not cluster_ids:
        return []
    now = utcnow()
    query = select(Chore).where(Chore.cluster_id.in_(cluster_ids))
    if not include_finished:
        query = query.where(Chore.cancelled_at.is_(None), Chore.deadline_at > now)
    query = query.order_by(Chore.claim_closes_at.desc(), Chore.id.desc()).options(
        selectinload(Chore.category), selectinload(Chore.cluster)
    )
    return _listings(list(db.session.scalars(query)), now)


def chore_for_staff(user: User, chore_id: int) -> Chore:
    """Return a chore of one of the staff member's clusters, or raise NotFound."""
    chore = db.session.get(Chore, chore_id)
    if chore is None or chore.cluster_id not in staff_cluster_ids(user):
        raise NotFound(_("Chore not found."))
    return chore


def may_manage_chore(user: User, chore: Chore) -> bool:
    """Tell whether the user may edit or cancel the chore (a caretaker of its cluster)."""
    return user.has_role(Role.CARETAKER) and chore.cluster_id in caretaker_cluster_ids(
        user
    )


def claims_of_tenant(tenant: User, *, unfinished_only: bool = False) -> list[Claim]:
    """Return the tenant's own claims, newest first."""
    query = select(Claim).where(Claim.tenant_id == tenant.id)
    if unfinished_only:
        query = query.where(
            Claim.status.in_(
                [
                    ClaimStatus.CLAIMED,
                    ClaimStatus.SUBMITTED,
                    ClaimStatus.AWAITING_SECOND_APPROVAL,
                ]
            )
        )
    query = query.order_by(Claim.claimed_at.desc(), Claim.id.desc()).options(
        selectinload(Claim.chore).selectinload(Chore.category),
        selectinload(Claim.approval),
    )
    return list(db.session.scalars(query))


def claim_for_tenant(tenant: User, claim_id: int) -> Claim:
    """Return one of the tenant's own claims, or raise NotFound."""
    claim = db.session.get(Claim, claim_id)
    if claim is None or claim.tenant_id != tenant.id:
        raise NotFound(_("Claim not found."))
    return claim


def claim_for_staff(user: User, claim_id: int) -> Claim:
    """Return a claim on a chore of the staff member's clusters, or raise NotFound."""
    claim = db.session.get(Claim, claim_id)
    if claim is None or claim.chore.cluster_id not in staff_cluster_ids(user):
        raise NotFound(_("Claim not found."))
    return claim


def claim_for_viewer(user: User, claim_id: int) -> Claim:
    """Return a claim its tenant or the staff of its cluster may see, or raise NotFound."""
    claim = db.session.get(Claim, claim_id)
    if claim is None:
        raise NotFound(_("Claim not found."))
    if claim.tenant_id == user.id:
        return claim
    return claim_for_staff(user, claim_id)


def claims_of_chore(chore: Chore) -> list[Claim]:
    """Return every claim of a chore, oldest first."""
    query = (
        select(Claim)
        .where(Claim.chore_id == chore.id)
        .order_by(Claim.id)
        .options(selectinload(Claim.tenant), selectinload(Claim.approval))
    )
    return list(db.session.scalars(query))


def review_queue(user: User) -> list[Claim]:
    """Return the work waiting for this reviewer, oldest submission first.

    Caretakers see submitted work of their clusters. Caretakers and finance
    see approvals that wait for a second approver, except their own.
    """
    conditions = []
    caretaker_clusters = caretaker_cluster_ids(user)
    if user.has_role(Role.CARETAKER) and caretaker_clusters:
        conditions.append(
            (Claim.status == ClaimStatus.SUBMITTED)
            & Chore.cluster_id.in_(caretaker_clusters)
        )
    second_clusters = (
        staff_cluster_ids(user) if user.has_role(Role.FINANCE) else caretaker_clusters
    )
    if second_clusters:
        conditions.append(
            (Claim.status == ClaimStatus.AWAITING_SECOND_APPROVAL)
            & Chore.cluster_id.in_(second_clusters)
            & (ClaimApproval.approved_by_id != user.id)
        )
    if not conditions:
        return []
    query = (
        select(Claim)
        .join(Chore, Chore.id == Claim.chore_id)
        .outerjoin(ClaimApproval, ClaimApproval.claim_id == Claim.id)
        .where(or_(*conditions), Claim.tenant_id != user.id)
        .order_by(Claim.submitted_at, Claim.id)
        .options(
            contains_eager(Claim.chore).joinedload(Chore.category),
            contains_eager(Claim.approval),
            joinedload(Claim.tenant),
        )
    )
    return list(db.session.scalars(query))


def timeline(claim: Claim) -> list[ClaimEvent]:
    """Return the state changes of a claim, oldest first."""
    query = (
        select(ClaimEvent)
        .where(ClaimEvent.claim_id == claim.id)
        .order_by(ClaimEvent.id)
        .options(selectinload(ClaimEvent.actor))
    )
    return list(db.session.scalars(query))


def acceptance_evidence(claim: Claim) -> dict | None:
    """Return the briefing acceptance evidence of a claim for staff, if any."""
    if claim.acceptance_id is None:
        return None
    return liability.acceptance_evidence(claim.acceptance_id)
