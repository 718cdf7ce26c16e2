"""The actors and objects that the security tests act on, and small request helpers.

Corporation 1 has clusters X and Y. Tenant A rents a unit in cluster X and
tenant B one in cluster Y; each caretaker looks after one of the clusters.
Finance 1 and the administrator work for corporation 1, finance 2 for
corporation 2. Objects that belong to tenant A, cluster X or corporation 1
carry canary strings, so a test can tell when a response shows them to
someone who may not see them.
"""

import re
from dataclasses import dataclass
from datetime import date

import time_machine
from flask import Flask
from flask.testing import FlaskClient

from klusbank.accounts.models import ApiToken, Role, User
from klusbank.accounts.services import create_api_token, make_invitation_token
from klusbank.db import utcnow
from klusbank.extensions import db
from klusbank.housing.models import Cluster, Corporation, Unit
from klusbank.timeutil import Period, business_date
from liability import services as liability
from liability.models import Acceptance, Briefing, BriefingVersion
from participation import services as participation
from participation.models import Chore, ChoreCategory, Claim, ProofKind
from rewards.engine import services as engine
from rewards.statements import batches
from rewards.statements.models import PayoutBatch
from tests.factories import (
    PASSWORD,
    create_admin,
    create_caretaker,
    create_cluster,
    create_corporation,
    create_finance,
    create_tenant,
    create_unit,
    create_user_with_roles,
)
from tests.liability.helpers import create_briefing, evidence, publish
from tests.participation.helpers import create_category, create_chore, png_bytes
from tests.rewards.statements.helpers import (
    DEBTOR_IBAN,
    amsterdam,
    choose_payout,
    close_month,
    credit_chore,
)

ACTORS = (
    "anonymous",
    "tenant_a",
    "tenant_b",
    "caretaker_x",
    "caretaker_y",
    "finance_1",
    "finance_2",
    "admin",
)
# Actors who may never see tenant A's or cluster X's data on any page.
OUTSIDERS = ("anonymous", "tenant_b", "caretaker_y", "finance_2")
# Early enough that the month with rewards lies inside both tenancies.
TENANCIES_START = date(2024, 1, 1)
CANARY_CLUSTER = "Canary Cluster X"
CANARY_STREET = "Kanariestraat"
CANARY_TENANT = "Anna Kanarie"
_CSRF_INPUT = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


@dataclass
class SecurityWorld:
    """Two corporations, two clusters and one user per actor, committed."""

    corporation_1: Corporation
    corporation_2: Corporation
    cluster_x: Cluster
    cluster_y: Cluster
    unit_a: Unit
    unit_b: Unit
    users: dict[str, User]
    invited: User
    invitation_token: str
    api_tokens: dict[str, str]
    spare_token_a: ApiToken
    spare_token: str
    canaries: tuple[str, ...] = (CANARY_CLUSTER, CANARY_STREET, CANARY_TENANT)
    participation: "ParticipationObjects | None" = None
    rewards: "RewardsObjects | None" = None
    liability: "LiabilityObjects | None" = None

    @property
    def tenant_a(self) -> User:
        return self.users["tenant_a"]


def create_security_world() -> SecurityWorld:
    """Create and commit the actors and the objects owned by tenant A and cluster X."""
    corporation_1 = create_corporation(name="Woonstichting Een")
    corporation_2 = create_corporation(name="Woonstichting Twee")
    cluster_x = create_cluster(corporation_1, name=CANARY_CLUSTER)
    cluster_y = create_cluster(corporation_1, name="Cluster Y")
    create_cluster(corporation_2, name="Cluster Z")

    unit_a = create_unit(corporation_1, cluster_x)
    unit_a.street = CANARY_STREET
    unit_b = create_unit(corporation_1, cluster_y)
    users = {
        "tenant_a": create_tenant(
            corporation_1, unit_a, name=CANARY_TENANT, starts_on=TENANCIES_START
        ),
        "tenant_b": create_tenant(
            corporation_1, unit_b, name="Bram Buur", starts_on=TENANCIES_START
        ),
        "caretaker_x": create_caretaker(corporation_1, cluster_x),
        "caretaker_y": create_caretaker(corporation_1, cluster_y),
        "finance_1": create_finance(corporation_1),
        "finance_2": create_finance(corporation_2),
        "admin": create_admin(corporation_1),
    }
    invited = create_user_with_roles(corporation_1, Role.TENANT)
    invited.password_hash = None

    api_tokens = {
        actor: create_api_token(user, f"{actor} integration")[1]
        for actor, user in users.items()
    }
    spare_token_a, spare_token = create_api_token(users["tenant_a"], "spare")
    db.session.flush()

    world = SecurityWorld(
        corporation_1=corporation_1,
        corporation_2=corporation_2,
        cluster_x=cluster_x,
        cluster_y=cluster_y,
        unit_a=unit_a,
        unit_b=unit_b,
        users=users,
        invited=invited,
        invitation_token=make_invitation_token(invited),
        api_tokens=api_tokens,
        spare_token_a=spare_token_a,
        spare_token=spare_token,
    )
    db.session.commit()
    return world


class ActorClients:
    """One test client per actor, logged in through the login form on first use."""

    def __init__(self, app: Flask, world: SecurityWorld):
        self.app = app
        self.world = world
        self._clients: dict[str, FlaskClient] = {}

    def client(self, actor: str) -> FlaskClient:
        """Return the actor's client, logging it in again after a logout."""
        if actor not in self._clients:
            client = self.app.test_client()
            if actor != "anonymous":
                login_with_form(client, self.world.users[actor])
            self._clients[actor] = client
        return self._clients[actor]

    def forget(self, actor: str) -> None:
        """Drop the actor's client, so the next request logs in again."""
        self._clients.pop(actor, None)

    def bearer_headers(self, actor: str) -> dict[str, str]:
        """Return the Authorization header of the actor's API token (none if anonymous)."""
        if actor == "anonymous":
            return {}
        return {"Authorization": f"Bearer {self.world.api_tokens[actor]}"}


def csrf_token_from(client: FlaskClient, path: str = "/login", **kwargs) -> str:
    """Return the CSRF token that a portal page renders for the client's session."""
    page = client.get(path, **kwargs).get_data(as_text=True)
    match = _CSRF_INPUT.search(page)
    assert match, f"no csrf_token input on {path}"
    return match.group(1)


def login_with_form(
    client: FlaskClient, user: User, *, remember: bool = False, **kwargs
):
    """Log in through the login page with its CSRF token, as a browser does."""
    data = {
        "email": user.email,
        "password": PASSWORD,
        "csrf_token": csrf_token_from(client, "/login", **kwargs),
    }
    if remember:
        data["remember"] = "y"
    response = client.post("/login", data=data, **kwargs)
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return response


@dataclass
class ParticipationObjects:
    """A category of corporation 1, chores in cluster X and tenant A's claims.

    Each claim serves one kind of request, so that the requests of one test do
    not change the claims that another request needs.
    """

    category: ChoreCategory
    chore: Chore
    spare_chore: Chore
    open_claim: Claim
    spare_open_claim: Claim
    submitted_claim: Claim
    spare_submitted_claim: Claim


CANARY_CHORE = "Kanarieklus"


def add_participation(world: SecurityWorld) -> ParticipationObjects:
    """Post chores in cluster X; tenant A claims two and submits two with a photo."""
    caretaker, tenant = world.users["caretaker_x"], world.tenant_a
    category = create_category(world.corporation_1, name="Schoonmaak")
    chores = [
        create_chore(caretaker, world.cluster_x, category, title=title, proof=proof)
        for title, proof in (
            (CANARY_CHORE, ProofKind.NONE),
            ("Bladeren", ProofKind.NONE),
            ("Glas", ProofKind.PHOTO),
            ("Ramen", ProofKind.PHOTO),
        )
    ]
    spare_chore = create_chore(caretaker, world.cluster_x, category, title="Bank")
    claims = [participation.claim_chore(tenant, chore.id) for chore in chores]
    for claim in claims[2:]:
        participation.submit_claim(tenant, claim.id, note="Klaar.", photo=png_bytes())
    db.session.commit()
    world.canaries = (*world.canaries, CANARY_CHORE)
    world.participation = ParticipationObjects(
        category, chores[0], spare_chore, *claims
    )
    return world.participation


@dataclass
class RewardsObjects:
    """A closed month of corporation 1 in which tenant A earned a payout, and its paid batch."""

    period: Period
    year: int
    batch: PayoutBatch


REWARDS_MONTH = Period(2025, 11)


def add_rewards(world: SecurityWorld) -> RewardsObjects:
    """Credit tenant A's work in REWARDS_MONTH, close it and pay its payout batch."""
    finance, tenant = world.users["finance_1"], world.tenant_a
    with time_machine.travel(amsterdam(2025, 10, 15), tick=False):
        engine.create_rule_version(
            finance,
            effective_from=date(2025, 10, 1),
            rent_credit_rate_cents=10,
            payout_rate_cents=25,
        )
    choose_payout(tenant, amsterdam(2025, 11, 2))
    credit_chore(world.corporation_1, tenant, 40, amsterdam(2025, 11, 10), "Tuin")
    db.session.commit()
    close_month(world.corporation_1, REWARDS_MONTH)
    # Paid within the year, so that the year's payout overview exists.
    with time_machine.travel(amsterdam(2025, 12, 2), tick=False):
        batches.set_debtor_account(
            finance, world.corporation_1.id, account_holder="Een", iban=DEBTOR_IBAN
        )
        batch = batches.create_payout_batch(
            finance, world.corporation_1.id, REWARDS_MONTH
        )
        batches.mark_batch_paid(finance, world.corporation_1.id, batch.id)
        db.session.commit()
    world.rewards = RewardsObjects(REWARDS_MONTH, REWARDS_MONTH.year, batch)
    return world.rewards


@dataclass
class LiabilityObjects:
    """A published briefing of corporation 1 and tenant A's paper acceptance of it."""

    briefing: Briefing
    version: BriefingVersion
    acceptance: Acceptance


def add_liability(world: SecurityWorld) -> LiabilityObjects:
    """Publish a briefing; caretaker X records tenant A's signed form with a scan."""
    briefing = create_briefing(world.corporation_1)
    version = publish(briefing)
    acceptance = liability.record_paper_acceptance(
        world.users["caretaker_x"],
        world.tenant_a.id,
        version.id,
        typed_name=world.tenant_a.full_name,
        signed_on=business_date(utcnow()),
        scan=png_bytes(),
        evidence=evidence(),
    )
    db.session.commit()
    world.liability = LiabilityObjects(briefing, version, acceptance)
    return world.liability
