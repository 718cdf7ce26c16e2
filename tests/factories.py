"""Small ``create_*`` helpers that build test data through the real services."""

import itertools
from datetime import date, timedelta

from klusbank.accounts.models import CaretakerAssignment, Role, User
from klusbank.accounts.passwords import hash_password
from klusbank.accounts.services import create_user
from klusbank.extensions import db
from klusbank.housing.models import (
    Cluster,
    ClusterKind,
    ClusterMembership,
    Corporation,
    Tenancy,
    Unit,
)

PASSWORD = "correct horse battery"
_PASSWORD_HASH = hash_password(PASSWORD)
_sequence = itertools.count(1)


def _next() -> int:
    return next(_sequence)


def create_corporation(code: str | None = None, name: str | None = None) -> Corporation:
    number = _next()
    corporation = Corporation(
        code=code or f"corp{number}", name=name or f"Corporation {number}"
    )
    db.session.add(corporation)
    db.session.flush()
    return corporation


def create_cluster(
    corporation: Corporation,
    kind: ClusterKind = ClusterKind.SERVICE_COSTS,
    name: str | None = None,
) -> Cluster:
    number = _next()
    cluster = Cluster(
        corporation_id=corporation.id,
        code=f"CL{number}",
        name=name or f"Cluster {number}",
        kind=kind,
    )
    db.session.add(cluster)
    db.session.flush()
    return cluster


def create_unit(corporation: Corporation, *clusters: Cluster) -> Unit:
    number = _next()
    unit = Unit(
        corporation_id=corporation.id,
        external_id=f"VHE-{number:05d}",
        street="Teststraat",
        house_number=str(number),
        postcode="1234AB",
        city="Utrecht",
    )
    db.session.add(unit)
    db.session.flush()
    for cluster in clusters:
        db.session.add(ClusterMembership(cluster_id=cluster.id, unit_id=unit.id))
    db.session.flush()
    return unit


def create_user_with_roles(
    corporation: Corporation, *roles: Role, name: str | None = None, locale: str = "nl"
) -> User:
    number = _next()
    return create_user(
        corporation,
        email=f"user{number}@example.test",
        full_name=name or f"User {number}",
        roles=list(roles),
        locale=locale,
        password_hash=_PASSWORD_HASH,
    )


def create_tenant(
    corporation: Corporation,
    unit: Unit | None = None,
    *,
    starts_on: date | None = None,
    ends_on: date | None = None,
    name: str | None = None,
    locale: str = "nl",
) -> User:
    """Create a tenant with a tenancy of the unit (a new unit when none is given)."""
    user = create_user_with_roles(corporation, Role.TENANT, name=name, locale=locale)
    unit = unit or create_unit(corporation)
    db.session.add(
        Tenancy(
            user_id=user.id,
            unit_id=unit.id,
            reference=f"HC-{user.id}",
            starts_on=starts_on or date.today() - timedelta(days=365),
            ends_on=ends_on,
        )
    )
    db.session.flush()
    return user


def create_caretaker(corporation: Corporation, *clusters: Cluster) -> User:
    user = create_user_with_roles(corporation, Role.CARETAKER)
    for cluster in clusters:
        db.session.add(CaretakerAssignment(user_id=user.id, cluster_id=cluster.id))
    db.session.flush()
    return user


def create_finance(corporation: Corporation) -> User:
    return create_user_with_roles(corporation, Role.FINANCE)


def create_admin(corporation: Corporation) -> User:
    return create_user_with_roles(corporation, Role.ADMIN)


def login(client, user: User, password: str = PASSWORD):
    """Log the test client in through the real login form."""
    response = client.post("/login", data={"email": user.email, "password": password})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return response
