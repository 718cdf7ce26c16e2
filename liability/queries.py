"""Reads of the liability domain: versions in effect, a tenant's status, staff views.

A version takes effect on its ``effective_from`` business date. The version in
effect is the highest version number whose date has come. The version a tenant
must have accepted is the highest material version in effect: an acceptance of
that number or a later one covers the tenant, unless it was withdrawn. Only a
tenant's latest acceptance of a briefing counts, because a withdrawal ends
every acceptance before it.
"""

import enum
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from klusbank.accounts.access import (
    caretaker_cluster_ids,
    current_tenancies,
    tenant_cluster_ids,
    today,
)
from klusbank.accounts.models import Role, User
from klusbank.extensions import db
from klusbank.housing.models import ClusterMembership, Tenancy
from liability.models import (
    LOCALES,
    Acceptance,
    Briefing,
    BriefingVersion,
    Withdrawal,
)


class Standing(enum.StrEnum):
    """Where a tenant stands with one briefing."""

    COVERED = "covered"
    NOT_ACCEPTED = "not_accepted"
    WITHDRAWN = "withdrawn"
    OUTDATED = "outdated"
    UNAVAILABLE = "unavailable"


@dataclass(frozen=True)
class BriefingStatus:
    """A tenant's standing with a briefing and the versions that decide it."""

    standing: Standing
    current_number: int | None
    required_number: int | None
    latest_acceptance: Acceptance | None
    upcoming: BriefingVersion | None

    @property
    def is_covered(self) -> bool:
        return self.standing is Standing.COVERED


def get_briefing(corporation_id: int, briefing_id: int) -> Briefing | None:
    """Return a briefing of the corporation, or None."""
    briefing = db.session.get(Briefing, briefing_id)
    if briefing is None or briefing.corporation_id != corporation_id:
        return None
    return briefing


def briefing_by_code(corporation_id: int, code: str) -> Briefing | None:
    """Return the corporation's briefing with this code, or None."""
    return db.session.scalar(
        select(Briefing).where(
            Briefing.corporation_id == corporation_id, Briefing.code == code
        )
    )


def briefings_of(corporation_id: int) -> list[Briefing]:
    """Return the corporation's briefings ordered by code."""
    query = (
        select(Briefing)
        .where(Briefing.corporation_id == corporation_id)
        .order_by(Briefing.code)
    )
    return list(db.session.scalars(query))


def current_version_number(briefing_id: int, on: date | None = None) -> int | None:
    """Return the number of the version in effect on a date, or None."""
    on = on or today()
    return db.session.scalar(
        select(func.max(BriefingVersion.version_number)).where(
            BriefingVersion.briefing_id == briefing_id,
            BriefingVersion.effective_from <= on,
        )
    )


def required_version_number(briefing_id: int, on: date | None = None) -> int | None:
    """Return the number of the latest material version in effect, or None."""
    on = on or today()
    return db.session.scalar(
        select(func.max(BriefingVersion.version_number)).where(
            BriefingVersion.briefing_id == briefing_id,
            BriefingVersion.effective_from <= on,
            BriefingVersion.is_material.is_(True),
        )
    )


def latest_version_number(briefing_id: int) -> int | None:
    """Return the highest published version number, in effect or not."""
    return db.session.scalar(
        select(func.max(BriefingVersion.version_number)).where(
            BriefingVersion.briefing_id == briefing_id
        )
    )


def version_texts(briefing_id: int, number: int) -> dict[str, BriefingVersion]:
    """Return the texts of one version number by locale."""
    query = select(BriefingVersion).where(
        BriefingVersion.briefing_id == briefing_id,
        BriefingVersion.version_number == number,
    )
    return {version.locale: version for version in db.session.scalars(query)}


def version_in_locale(
    briefing_id: int, number: int, locale: str
) -> BriefingVersion | None:
    """Return a version's text in the locale, else in the first locale it has."""
    texts = version_texts(briefing_id, number)
    if locale in texts:
        return texts[locale]
    for fallback in LOCALES:
        if fallback in texts:
            return texts[fallback]
    return None


def latest_acceptance(tenant_id: int, briefing_id: int) -> Acceptance | None:
    """Return the tenant's most recent acceptance of the briefing, or None."""
    query = (
        select(Acceptance)
        .where(Acceptance.tenant_id == tenant_id, Acceptance.briefing_id == briefing_id)
        .options(joinedload(Acceptance.version), joinedload(Acceptance.withdrawal))
        .order_by(Acceptance.id.desc())
        .limit(1)
    )
    return db.session.scalar(query)


def briefing_status(
    tenant: User, briefing: Briefing, on: date | None = None
) -> BriefingStatus:
    """Return where the tenant stands with the briefing on a date (default today)."""
    on = on or today()
    current = current_version_number(briefing.id, on)
    required = required_version_number(briefing.id, on)
    latest = latest_acceptance(tenant.id, briefing.id)
    upcoming = _upcoming_material_version(briefing.id, current, tenant.locale)

    if current is None or required is None:
        standing = Standing.UNAVAILABLE
    elif latest is None:
        standing = Standing.NOT_ACCEPTED
    elif latest.withdrawal is not None:
        standing = Standing.WITHDRAWN
    elif latest.version.version_number < required:
        standing = Standing.OUTDATED
    else:
        standing = Standing.COVERED
    already_accepted = (
        latest is not None
        and upcoming is not None
        and latest.version.version_number >= upcoming.version_number
    )
    if already_accepted:
        upcoming = None
    return BriefingStatus(standing, current, required, latest, upcoming)


def _upcoming_material_version(
    briefing_id: int, current: int | None, locale: str
) -> BriefingVersion | None:
    query = select(func.max(BriefingVersion.version_number)).where(
        BriefingVersion.briefing_id == briefing_id,
        BriefingVersion.is_material.is_(True),
    )
    if current is not None:
        query = query.where(BriefingVersion.version_number > current)
    number = db.session.scalar(query)
    if number is None:
        return None
    return version_in_locale(briefing_id, number, locale)


def covering_acceptance(tenant: User, briefing: Briefing) -> Acceptance | None:
    """Return the acceptance that lets the tenant claim under the briefing today."""
    status = briefing_status(tenant, briefing)
    return status.latest_acceptance if status.is_covered else None


def acceptances_of(tenant_id: int, briefing_id: int) -> list[Acceptance]:
    """Return all of a tenant's acceptances of a briefing, newest first."""
    query = (
        select(Acceptance)
        .where(Acceptance.tenant_id == tenant_id, Acceptance.briefing_id == briefing_id)
        .options(joinedload(Acceptance.version), joinedload(Acceptance.withdrawal))
        .order_by(Acceptance.id.desc())
    )
    return list(db.session.scalars(query))


def tenancy_for_acceptance(tenant: User, corporation_id: int) -> Tenancy | None:
    """Return the tenancy an acceptance is recorded under: the oldest current one."""
    tenancies = [
        tenancy
        for tenancy in current_tenancies(tenant)
        if tenancy.unit.corporation_id == corporation_id
    ]
    tenancies.sort(key=lambda tenancy: (tenancy.starts_on, tenancy.id))
    return tenancies[0] if tenancies else None


def staff_unit_filter(staff: User):
    """Return a SQL condition on ``Acceptance.unit_id`` for the staff member's scope.

    Admins see every unit of their corporation. A caretaker sees the units in
    the clusters they look after.
    """
    if staff.has_role(Role.ADMIN):
        return None
    cluster_ids = caretaker_cluster_ids(staff)
    return Acceptance.unit_id.in_(
        select(ClusterMembership.unit_id).where(
            ClusterMembership.cluster_id.in_(cluster_ids)
        )
    )


def is_staff_for_briefings(user: User) -> bool:
    """Tell whether the user may open the staff pages of briefings."""
    return user.has_role(Role.ADMIN, Role.CARETAKER)


def acceptance_for_viewer(viewer: User, acceptance_id: int) -> Acceptance | None:
    """Return an acceptance the viewer may see, or None.

    The tenant sees their own. Staff see those of their corporation: admins
    all, a caretaker those made for a unit in one of their clusters or of a
    tenant who now rents in one of them.
    """
    acceptance = db.session.get(Acceptance, acceptance_id)
    if acceptance is None:
        return None
    if acceptance.briefing.corporation_id != viewer.corporation_id:
        return None
    if acceptance.tenant_id == viewer.id:
        return acceptance
    if viewer.has_role(Role.ADMIN):
        return acceptance
    if viewer.has_role(Role.CARETAKER):
        clusters = {membership.cluster_id for membership in acceptance.unit.memberships}
        clusters |= tenant_cluster_ids(acceptance.tenant)
        if clusters & caretaker_cluster_ids(viewer):
            return acceptance
    return None


@dataclass(frozen=True)
class HistoryRow:
    """One event in a briefing's staff history: an acceptance or a withdrawal."""

    event: str
    at: datetime
    acceptance: Acceptance
    withdrawal: Withdrawal | None


def staff_history(staff: User, briefing: Briefing) -> list[HistoryRow]:
    """Return the acceptances and withdrawals of a briefing in the staff's scope, newest first."""
    query = (
        select(Acceptance)
        .where(Acceptance.briefing_id == briefing.id)
        .options(
            joinedload(Acceptance.version),
            joinedload(Acceptance.withdrawal),
            joinedload(Acceptance.tenant),
            joinedload(Acceptance.unit),
            joinedload(Acceptance.recorded_by),
        )
    )
    condition = staff_unit_filter(staff)
    if condition is not None:
        query = query.where(condition)
    rows = []
    for acceptance in db.session.scalars(query).unique():
        rows.append(HistoryRow("accepted", acceptance.accepted_at, acceptance, None))
        if acceptance.withdrawal is not None:
            withdrawal = acceptance.withdrawal
            rows.append(
                HistoryRow("withdrawn", withdrawal.withdrawn_at, acceptance, withdrawal)
            )
    rows.sort(key=lambda row: (row.at, row.acceptance.id), reverse=True)
    return rows


def tenants_in_scope(staff: User) -> list[User]:
    """Return the tenants with a current tenancy in the staff member's scope, by name."""
    on = today()
    query = (
        select(User)
        .join(Tenancy, Tenancy.user_id == User.id)
        .where(
            User.corporation_id == staff.corporation_id,
            Tenancy.starts_on <= on,
            (Tenancy.ends_on.is_(None)) | (Tenancy.ends_on >= on),
        )
        .order_by(User.full_name, User.id)
    )
    if not staff.has_role(Role.ADMIN):
        query = query.where(
            Tenancy.unit_id.in_(
                select(ClusterMembership.unit_id).where(
                    ClusterMembership.cluster_id.in_(caretaker_cluster_ids(staff))
                )
            )
        )
    tenants = db.session.scalars(query).unique()
    return [tenant for tenant in tenants if tenant.has_role(Role.TENANT)]
