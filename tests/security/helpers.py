"""The actors and objects that the security tests act on, and small request helpers.

Corporation 1 has clusters X and Y. Tenant A rents a unit in cluster X and
tenant B one in cluster Y; each caretaker looks after one of the clusters.
Finance 1 and the administrator work for corporation 1, finance 2 for
corporation 2. Objects that belong to tenant A, cluster X or corporation 1
carry canary strings, so a test can tell when a response shows them to
someone who may not see them.
"""

import re
from dataclasses import dataclass, field

from flask import Flask
from flask.testing import FlaskClient

from klusbank.accounts.models import ApiToken, Role, User
from klusbank.accounts.services import create_api_token, make_invitation_token
from klusbank.extensions import db
from klusbank.housing.models import Cluster, Corporation, Unit
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
    extra: dict[str, object] = field(default_factory=dict)

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
        "tenant_a": create_tenant(corporation_1, unit_a, name=CANARY_TENANT),
        "tenant_b": create_tenant(corporation_1, unit_b, name="Bram Buur"),
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
