"""Every route of the URL map, requested by every actor, answers as EXPECTED says.

How to add a route: put a row under its method in EXPECTED below, keyed by the
endpoint, with the status each actor gets, in the column order of ACTORS.
URL parameters are filled from the objects of tenant A, cluster X and
corporation 1 (URL_PARAMETERS); add a parameter there when a route brings a
new one. Portal routes are requested with each actor's logged-in session,
API routes with each actor's bearer token. Write routes are sent an empty
body unless the row gives one, so a permitted actor usually gets 422 and an
actor who may not act gets 404.

Rules checked on top of the table: no route ever answers 403 (other people's
objects are 404), and no response to an outsider (anonymous, tenant B,
caretaker Y, finance 2) shows tenant A's name, unit A's street or cluster X's
name.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, url_for
from werkzeug.routing import Rule

from tests.security.helpers import ACTORS, OUTSIDERS, ActorClients, SecurityWorld

WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
ENDS_SESSION = frozenset({"accounts.logout"})
# Anonymous requests to these endpoints redirect somewhere else than the login page.
ANONYMOUS_REDIRECTS_ELSEWHERE = frozenset({"core.set_language"})


@dataclass(frozen=True)
class Case:
    """Expected statuses per actor, and what to send."""

    statuses: tuple[int, ...]
    params: dict[str, Any] = field(default_factory=dict)
    data: dict[str, Any] | None = None
    json: Any = None


def case(*statuses: int, **options: Any) -> Case:
    assert len(statuses) == len(ACTORS), f"give {len(ACTORS)} statuses: {ACTORS}"
    return Case(statuses, **options)


# Default values of URL parameters, from objects of tenant A, cluster X and
# corporation 1.
URL_PARAMETERS: dict[str, Callable[[SecurityWorld], Any]] = {
    "cluster_id": lambda world: world.cluster_x.id,
    "unit_id": lambda world: world.unit_a.id,
    "user_id": lambda world: world.tenant_a.id,
    "token_id": lambda world: world.spare_token_a.id,
    "token": lambda world: world.invitation_token,
    "filename": lambda world: "css/klusbank.css",
}

# fmt: off
EXPECTED: dict[str, dict[str, Case]] = {
    "GET": {
        #                               anon tenA tenB carX carY fin1 fin2 admin
        "static":                  case(200, 200, 200, 200, 200, 200, 200, 200),
        "core.home":               case(302, 200, 200, 200, 200, 200, 200, 200),
        "core.health":             case(200, 200, 200, 200, 200, 200, 200, 200),
        "accounts.login":          case(200, 302, 302, 302, 302, 302, 302, 302),
        "accounts.account":        case(302, 200, 200, 200, 200, 200, 200, 200),
        "accounts.accept_invitation":
                                   case(200, 200, 200, 200, 200, 200, 200, 200),
        "admin.users":             case(302, 404, 404, 404, 404, 404, 404, 200),
        "admin.user":              case(302, 404, 404, 404, 404, 404, 404, 200),
        "admin.audit":             case(302, 404, 404, 404, 404, 404, 404, 200),
        "housing.clusters":        case(302, 404, 404, 200, 200, 200, 200, 200),
        "housing.cluster":         case(302, 404, 404, 200, 404, 200, 404, 200),
        "housing.unit":            case(302, 404, 404, 200, 404, 200, 404, 200),
        "rewards_engine.payout_choice":
                                   case(302, 200, 200, 404, 404, 404, 404, 404),
        "rewards_engine.close_preview":
                                   case(302, 404, 404, 404, 404, 200, 200, 404),
        "rewards_engine.close_history":
                                   case(302, 404, 404, 404, 404, 200, 200, 404),
        "rewards_engine.rules":    case(302, 404, 404, 404, 404, 200, 200, 404),
        "api_v1.rewards_engine_api.payout_choice":
                                   case(401, 200, 200, 404, 404, 404, 404, 404),
        "api_v1.rewards_engine_api.settlements":
                                   case(401, 200, 200, 404, 404, 404, 404, 404),
    },
    "POST": {
        #                               anon tenA tenB carX carY fin1 fin2 admin
        "core.set_language":       case(302, 302, 302, 302, 302, 302, 302, 302),
        "accounts.login":          case(200, 302, 302, 302, 302, 302, 302, 302),
        "accounts.logout":         case(302, 302, 302, 302, 302, 302, 302, 302),
        "accounts.change_password":
                                   case(302, 422, 422, 422, 422, 422, 422, 422),
        "accounts.create_token":   case(302, 422, 422, 422, 422, 422, 422, 422),
        "accounts.revoke_token":   case(302, 302, 404, 404, 404, 404, 404, 404),
        "accounts.accept_invitation":
                                   case(200, 200, 200, 200, 200, 200, 200, 200),
        "admin.create_user":       case(302, 404, 404, 404, 404, 404, 404, 422),
        "admin.change_roles":      case(302, 404, 404, 404, 404, 404, 404, 422),
        "admin.assign_clusters":   case(302, 404, 404, 404, 404, 404, 404, 422),
        "rewards_engine.payout_choice":
                                   case(302, 422, 422, 404, 404, 404, 404, 404),
        "rewards_engine.rules":    case(302, 404, 404, 404, 404, 422, 422, 404),
        "rewards_engine.run_close":
                                   case(302, 404, 404, 404, 404, 302, 302, 404),
    },
}
# fmt: on


def routes_by_method(app: Flask) -> dict[str, dict[str, Rule]]:
    """Return {method: {endpoint: rule}} for GET and the write methods of the URL map."""
    routes: dict[str, dict[str, Rule]] = {}
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods or ()):
            if method == "GET" or method in WRITE_METHODS:
                routes.setdefault(method, {})[rule.endpoint] = rule
    return routes


def path_for(app: Flask, world: SecurityWorld, rule: Rule, **given: Any) -> str:
    """Return the rule's path with parameters from ``given`` or URL_PARAMETERS."""
    params = {
        name: URL_PARAMETERS[name](world)
        for name in rule.arguments
        if name not in given
    }
    params.update(given)
    with app.test_request_context():
        return url_for(rule.endpoint, **params)


def test_every_route_has_expected_result(bare_app):
    missing = []
    for method, endpoints in routes_by_method(bare_app).items():
        for endpoint, rule in sorted(endpoints.items()):
            if endpoint not in EXPECTED.get(method, {}):
                missing.append(f"{method} {rule.rule} (endpoint {endpoint!r})")

    assert not missing, (
        "Routes without an expected result in the authorization matrix:\n  "
        + "\n  ".join(missing)
        + f"\nAdd a row per route to EXPECTED[method] in {__name__.replace('.', '/')}.py"
        + f" with the status each actor gets, in this order: {', '.join(ACTORS)}."
    )


def test_expected_results_name_existing_routes(bare_app):
    routes = routes_by_method(bare_app)
    stale = [
        f"{method} {endpoint}"
        for method, cases in EXPECTED.items()
        for endpoint in cases
        if endpoint not in routes.get(method, {})
    ]

    assert not stale, "EXPECTED has rows for routes that do not exist: " + ", ".join(
        stale
    )


def test_route_parameters_have_values(bare_app):
    unknown = []
    for rule in bare_app.url_map.iter_rules():
        for argument in sorted(rule.arguments):
            if argument not in URL_PARAMETERS:
                unknown.append(f"<{argument}> in {rule.rule}")

    assert not unknown, (
        "URL parameters without a value in URL_PARAMETERS: " + ", ".join(unknown)
    )


def test_routes_answer_each_actor_as_expected(app, world, actors):
    routes = routes_by_method(app)
    mismatches: list[str] = []
    forbidden: list[str] = []
    leaks: list[str] = []
    wrong_redirects: list[str] = []
    canaries_seen: set[str] = set()

    for method, cases in EXPECTED.items():
        for endpoint, expected in cases.items():
            if endpoint not in routes.get(method, {}):
                continue
            path = path_for(app, world, routes[method][endpoint], **expected.params)
            for actor, status in zip(ACTORS, expected.statuses, strict=True):
                response = _request(app, actors, actor, method, path, expected)
                body = response.get_data(as_text=True)
                response.close()
                where = f"{method} {path} ({endpoint}) as {actor}"
                if response.status_code != status:
                    mismatches.append(
                        f"{where}: expected {status}, got {response.status_code}"
                    )
                if response.status_code == 403:
                    forbidden.append(where)
                shown = {canary for canary in world.canaries if canary in body}
                if actor in OUTSIDERS and shown:
                    leaks.append(f"{where}: shows {sorted(shown)}")
                canaries_seen |= shown
                if _redirects_anonymous_elsewhere(actor, endpoint, path, response):
                    wrong_redirects.append(f"{where}: {response.location}")
                if endpoint in ENDS_SESSION:
                    actors.forget(actor)

    assert not mismatches, "Unexpected statuses:\n  " + "\n  ".join(mismatches)
    assert not forbidden, "403 instead of 404:\n  " + "\n  ".join(forbidden)
    assert not leaks, "Outsiders see tenant A's data:\n  " + "\n  ".join(leaks)
    assert not wrong_redirects, "Anonymous redirects not to the login page:\n  " + (
        "\n  ".join(wrong_redirects)
    )
    # The leak check can only fail if the permitted actors do see each canary.
    assert canaries_seen == set(world.canaries)


def _request(app, actors: ActorClients, actor, method, path, expected: Case):
    if path.startswith("/api/"):
        client = app.test_client()
        headers = actors.bearer_headers(actor)
    else:
        client = actors.client(actor)
        headers = {}
    return client.open(
        path, method=method, headers=headers, data=expected.data, json=expected.json
    )


def _redirects_anonymous_elsewhere(actor, endpoint, path, response) -> bool:
    if actor != "anonymous" or response.status_code != 302:
        return False
    if endpoint in ANONYMOUS_REDIRECTS_ELSEWHERE or path.startswith("/api/"):
        return False
    return not response.location.startswith("/login")
