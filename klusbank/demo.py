"""The reproducible demo corporation, built with Faker's nl_NL locale and a fixed seed.

Dates are relative to today's business date, so the demo always has a
previous month to show. Each domain adds its part through its ``demo.seed``.
"""

import random
from dataclasses import dataclass, field
from datetime import date, timedelta

import click
from faker import Faker

from klusbank.accounts.access import today
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

DEMO_CODE = "demo"
DEMO_PASSWORD = "klusbank-demo-2026"
SEED = 20261204
UNIT_COUNT = 120
TENANT_COUNT = 100

LOGINS = (
    ("tenant", "huurder@demo.klusbank.test"),
    ("tenant (payout)", "huurder2@demo.klusbank.test"),
    ("caretaker", "huismeester@demo.klusbank.test"),
    ("caretaker", "wijkbeheerder@demo.klusbank.test"),
    ("finance", "financien@demo.klusbank.test"),
    ("admin", "beheer@demo.klusbank.test"),
)


@dataclass
class DemoContext:
    """What the core seed built, handed to each domain's seed."""

    corporation: Corporation
    rng: random.Random
    faker: Faker
    today: date
    clusters: list[Cluster]
    units: list[Unit]
    tenants: list[User]
    caretakers: list[User]
    finance: User
    admin: User
    extra: dict = field(default_factory=dict)


def seed() -> DemoContext:
    """Create the demo corporation and every domain's demo data; flush, no commit."""
    from liability import demo as liability_demo
    from participation import demo as participation_demo
    from rewards import demo as rewards_demo

    context = seed_housing()
    for domain in (liability_demo, rewards_demo, participation_demo):
        domain.seed(context)
    for domain in (rewards_demo,):
        if hasattr(domain, "finish"):
            domain.finish(context)
    db.session.flush()
    return context


def seed_housing() -> DemoContext:
    """Create the corporation, clusters, units, tenants and staff."""
    rng = random.Random(SEED)
    faker = Faker("nl_NL")
    faker.seed_instance(SEED)
    corporation = Corporation(code=DEMO_CODE, name="Woonstichting De Klusbank (demo)")
    db.session.add(corporation)
    db.session.flush()

    clusters = [
        Cluster(
            corporation_id=corporation.id,
            code="ZON-SK",
            name="Complex Zonnehof",
            kind=ClusterKind.SERVICE_COSTS,
        ),
        Cluster(
            corporation_id=corporation.id,
            code="LIN-OH",
            name="Lindenlaan onderhoud",
            kind=ClusterKind.MAINTENANCE,
        ),
        Cluster(
            corporation_id=corporation.id,
            code="BRW-WK",
            name="Buurt Brouwerswijk",
            kind=ClusterKind.NEIGHBOURHOOD,
        ),
    ]
    db.session.add_all(clusters)
    db.session.flush()

    units = _seed_units(corporation, clusters, faker)
    tenants = _seed_tenants(corporation, units, faker, rng)
    caretakers, finance, admin = _seed_staff(corporation, clusters)
    return DemoContext(
        corporation,
        rng,
        faker,
        today(),
        clusters,
        units,
        tenants,
        caretakers,
        finance,
        admin,
    )


def _seed_units(
    corporation: Corporation, clusters: list[Cluster], faker: Faker
) -> list[Unit]:
    streets = [("Zonnehof", "ZON", clusters[0]), ("Lindenlaan", "LIN", clusters[1])]
    units = []
    for index in range(UNIT_COUNT):
        street, prefix, building_cluster = streets[index % 2]
        number = index // 2 + 1
        unit = Unit(
            corporation_id=corporation.id,
            external_id=f"VHE-{prefix}-{number:03d}",
            bag_id=f"0599010000{index + 100000:06d}",
            street=street,
            house_number=str(number),
            postcode=f"30{21 + index % 2}{'AB' if index % 2 else 'CD'}",
            city="Rotterdam",
        )
        db.session.add(unit)
        db.session.flush()
        # Every unit is in its building's cluster and in the neighbourhood cluster.
        db.session.add(
            ClusterMembership(cluster_id=building_cluster.id, unit_id=unit.id)
        )
        db.session.add(ClusterMembership(cluster_id=clusters[2].id, unit_id=unit.id))
        units.append(unit)
    db.session.flush()
    return units


def _seed_tenants(
    corporation: Corporation, units: list[Unit], faker: Faker, rng: random.Random
) -> list[User]:
    tenants = []
    start = today() - timedelta(days=3 * 365)
    for index in range(TENANT_COUNT):
        if index == 0:
            email, name = LOGINS[0][1], "Fatima el Amrani"
        elif index == 1:
            email, name = LOGINS[1][1], "Jan de Vries"
        else:
            name = faker.name()
            email = f"huurder{index + 1:03d}@demo.klusbank.test"
        locale = "en" if index % 10 == 7 else "nl"
        user = create_user(
            corporation,
            email=email,
            full_name=name,
            roles={Role.TENANT: "HUU"},
            locale=locale,
            password_hash=_demo_hash(),
        )
        user.date_of_birth = date(
            1950 + rng.randrange(50), rng.randrange(1, 13), rng.randrange(1, 28)
        )
        unit = units[index]
        db.session.add(
            Tenancy(
                user_id=user.id,
                unit_id=unit.id,
                reference=f"HC-{20000 + index}",
                starts_on=start + timedelta(days=rng.randrange(700)),
            )
        )
        tenants.append(user)
    # One former tenant whose tenancy has ended, to show that they can no longer claim.
    former = create_user(
        corporation,
        email="oudhuurder@demo.klusbank.test",
        full_name=faker.name(),
        roles=[Role.TENANT],
        password_hash=_demo_hash(),
    )
    db.session.add(
        Tenancy(
            user_id=former.id,
            unit_id=units[TENANT_COUNT].id,
            reference="HC-19999",
            starts_on=start,
            ends_on=today() - timedelta(days=40),
        )
    )
    db.session.flush()
    return tenants


def _seed_staff(
    corporation: Corporation, clusters: list[Cluster]
) -> tuple[list[User], User, User]:
    first = create_user(
        corporation,
        email=LOGINS[2][1],
        full_name="Henk Bakker (huismeester)",
        roles={Role.CARETAKER: "HME"},
        password_hash=_demo_hash(),
    )
    second = create_user(
        corporation,
        email=LOGINS[3][1],
        full_name="Sanne Visser (wijkbeheerder)",
        roles={Role.CARETAKER: "BEH"},
        password_hash=_demo_hash(),
    )
    db.session.add_all(
        [
            CaretakerAssignment(user_id=first.id, cluster_id=clusters[0].id),
            CaretakerAssignment(user_id=first.id, cluster_id=clusters[2].id),
            CaretakerAssignment(user_id=second.id, cluster_id=clusters[1].id),
        ]
    )
    finance = create_user(
        corporation,
        email=LOGINS[4][1],
        full_name="Mohamed Yilmaz (financiën)",
        roles={Role.FINANCE: "FIA"},
        password_hash=_demo_hash(),
    )
    admin = create_user(
        corporation,
        email=LOGINS[5][1],
        full_name="Ellen de Boer (functioneel beheer)",
        roles=[Role.ADMIN],
        password_hash=_demo_hash(),
    )
    db.session.flush()
    return [first, second], finance, admin


_DEMO_HASH: list[str] = []


def _demo_hash() -> str:
    if not _DEMO_HASH:
        _DEMO_HASH.append(hash_password(DEMO_PASSWORD))
    return _DEMO_HASH[0]


def print_logins() -> None:
    """Print the demo logins."""
    click.echo(f"Demo logins (password for all: {DEMO_PASSWORD}):")
    for role, email in LOGINS:
        click.echo(f"  {role:<16} {email}")
