"""Who may see what: role checks and the clusters, units and corporation in scope.

Anything outside the actor's scope is reported as not found, never as
forbidden, so ids reveal nothing about other tenants or corporations.
"""

from collections.abc import Callable
from datetime import date
from functools import wraps
from typing import Any, TypeVar

from flask import abort
from flask_login import current_user
from sqlalchemy import select

from klusbank.accounts.models import CaretakerAssignment, Role, User
from klusbank.db import utcnow
from klusbank.extensions import db, login_manager
from klusbank.housing.models import Cluster, ClusterMembership, Tenancy, Unit
from klusbank.timeutil import business_date

View = TypeVar("View", bound=Callable[..., Any])


def roles_required(*roles: Role) -> Callable[[View], View]:
    """Let only users with one of the roles in; others get 404, anonymous users a login."""

    def decorate(view: View) -> View:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if not current_user.has_role(*roles):
                abort(404)
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


def today() -> date:
    """Return today's business date in Europe/Amsterdam."""
    return business_date(utcnow())


def current_tenancies(user: User, on: date | None = None) -> list[Tenancy]:
    """Return the user's tenancies running on a business date (default today)."""
    on = on or today()
    query = select(Tenancy).where(
        Tenancy.user_id == user.id,
        Tenancy.starts_on <= on,
        (Tenancy.ends_on.is_(None)) | (Tenancy.ends_on >= on),
    )
    return list(db.session.scalars(query))


def tenant_cluster_ids(user: User, on: date | None = None) -> set[int]:
    """Return the clusters of the units the user currently rents."""
    unit_ids = [tenancy.unit_id for tenancy in current_tenancies(user, on)]
    if not unit_ids:
        return set()
    query = select(ClusterMembership.cluster_id).where(
        ClusterMembership.unit_id.in_(unit_ids)
    )
    return set(db.session.scalars(query))


def caretaker_cluster_ids(user: User) -> set[int]:
    """Return the clusters assigned to a caretaker."""
    query = select(CaretakerAssignment.cluster_id).where(
        CaretakerAssignment.user_id == user.id
    )
    return set(db.session.scalars(query))


def staff_cluster_ids(user: User) -> set[int]:
    """Return the clusters a member of staff may see.

    Finance and admins see every cluster of their corporation; caretakers only
    their own.
    """
    if user.has_role(Role.FINANCE, Role.ADMIN):
        query = select(Cluster.id).where(Cluster.corporation_id == user.corporation_id)
        return set(db.session.scalars(query))
    if user.has_role(Role.CARETAKER):
        return caretaker_cluster_ids(user)
    return set()


def get_cluster_for_staff(user: User, cluster_id: int) -> Cluster:
    """Return a cluster in the staff member's scope, or 404."""
    cluster = db.session.get(Cluster, cluster_id)
    if cluster is None or cluster.id not in staff_cluster_ids(user):
        abort(404)
    return cluster


def get_unit_for_staff(user: User, unit_id: int) -> Unit:
    """Return a unit in one of the staff member's clusters, or 404."""
    unit = db.session.get(Unit, unit_id)
    if unit is None or unit.corporation_id != user.corporation_id:
        abort(404)
    if user.has_role(Role.FINANCE, Role.ADMIN):
        return unit
    unit_clusters = {membership.cluster_id for membership in unit.memberships}
    if not unit_clusters & caretaker_cluster_ids(user):
        abort(404)
    return unit


def get_user_for_staff(user: User, user_id: int) -> User:
    """Return a user the staff member may see, or 404.

    Admins and finance see the users of their corporation; a caretaker sees
    the tenants of the clusters they look after.
    """
    other = db.session.get(User, user_id)
    if other is None or other.corporation_id != user.corporation_id:
        abort(404)
    if user.has_role(Role.FINANCE, Role.ADMIN) or other.id == user.id:
        return other
    shared = tenant_cluster_ids(other) & caretaker_cluster_ids(user)
    if not shared:
        abort(404)
    return other
