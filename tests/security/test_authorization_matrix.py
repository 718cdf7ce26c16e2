"""Every route of the URL map, requested by every actor, returns the status in EXPECTED.

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
from datetime import timedelta
from typing import Any

from flask import Flask, url_for
from werkzeug.routing import IntegerConverter, Rule

from klusbank.db import utcnow
from tests.security.helpers import ACTORS, OUTSIDERS, ActorClients, SecurityWorld

WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
ENDS_SESSION = frozenset({"accounts.logout"})
# Anonymous requests to these endpoints redirect somewhere else than the login page.
ANONYMOUS_REDIRECTS_ELSEWHERE = frozenset({"core.set_language"})


@dataclass(frozen=True)
class Case:
    """Expected statuses per actor, and what to send.

    Parameter values and bodies may be functions of the SecurityWorld.
    """

    statuses: tuple[int, ...]
    params: dict[str, Any] = field(default_factory=dict)
    data: dict[str, Any] | None = None
    json: Any = None


def _value(value: Any, world: SecurityWorld) -> Any:
    return value(world) if callable(value) else value


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
    "category_id": lambda world: world.participation.category.id,
    "chore_id": lambda world: world.participation.chore.id,
    "claim_id": lambda world: world.participation.submitted_claim.id,
    "period": lambda world: str(world.rewards.period),
    "year": lambda world: world.rewards.year,
    "tenant_id": lambda world: world.tenant_a.id,
    "batch_id": lambda world: world.rewards.batch.id,
    "briefing_id": lambda world: world.liability.briefing.id,
    "version_id": lambda world: world.liability.version.id,
    "acceptance_id": lambda world: world.liability.acceptance.id,
}


def SPARE_CHORE(world):  # noqa: N802 (reads as a constant in the table)
    return world.participation.spare_chore.id


def SPARE_SUBMITTED_CLAIM(world):  # noqa: N802 (reads as a constant in the table)
    return world.participation.spare_submitted_claim.id


def chore_in_cluster_x(world: SecurityWorld) -> dict[str, Any]:
    """Return an API body that posts a chore to cluster X."""
    now = utcnow()
    return {
        "cluster_id": world.cluster_x.id,
        "category_id": world.participation.category.id,
        "title": "Bladeren harken",
        "reward_points": 15,
        "claim_opens_at": now.isoformat(),
        "claim_closes_at": (now + timedelta(days=3)).isoformat(),
        "deadline_at": (now + timedelta(days=5)).isoformat(),
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
        "api_v1.rewards_engine_api.list_rules":
                                   case(401, 404, 404, 404, 404, 200, 200, 404),
        "api_v1.openapi":          case(200, 200, 200, 200, 200, 200, 200, 200),
        # Participation: tenants see chores of their clusters and their own
        # claims, staff see the claims of clusters they look after.
        "participation.chores":    case(302, 200, 200, 404, 404, 404, 404, 404),
        "participation.chore":     case(302, 200, 404, 404, 404, 404, 404, 404),
        "participation.my_claims": case(302, 200, 200, 404, 404, 404, 404, 404),
        "participation.my_claim":  case(302, 200, 404, 404, 404, 404, 404, 404),
        "participation.photo":     case(302, 200, 404, 200, 404, 200, 404, 200),
        "participation.staff_chores":
                                   case(302, 404, 404, 200, 200, 200, 200, 200),
        "participation.staff_chore":
                                   case(302, 404, 404, 200, 404, 200, 404, 200),
        "participation.post_chore":
                                   case(302, 404, 404, 200, 200, 404, 404, 404),
        "participation.edit_chore":
                                   case(302, 404, 404, 200, 404, 404, 404, 404),
        "participation.review_queue":
                                   case(302, 404, 404, 200, 200, 200, 200, 404),
        "participation.review_claim":
                                   case(302, 404, 404, 200, 404, 200, 404, 200),
        "participation.categories":
                                   case(302, 404, 404, 404, 404, 404, 404, 200),
        "participation.new_category":
                                   case(302, 404, 404, 404, 404, 404, 404, 200),
        "participation.edit_category":
                                   case(302, 404, 404, 404, 404, 404, 404, 200),
        "participation.settings":  case(302, 404, 404, 404, 404, 200, 200, 200),
        "api_v1.participation_api.list_chores":
                                   case(401, 200, 200, 404, 404, 404, 404, 404),
        "api_v1.participation_api.get_chore":
                                   case(401, 200, 404, 200, 404, 200, 404, 200),
        "api_v1.participation_api.my_claims":
                                   case(401, 200, 200, 404, 404, 404, 404, 404),
        "api_v1.participation_api.get_claim":
                                   case(401, 200, 404, 200, 404, 200, 404, 200),
        "api_v1.participation_api.claim_photo":
                                   case(401, 200, 404, 200, 404, 200, 404, 200),
        "api_v1.participation_api.review_queue":
                                   case(401, 404, 404, 200, 200, 200, 200, 404),
        # Liability: tenants of the corporation read its briefings; caretakers
        # manage them and see acceptances of their own clusters' tenants.
        "liability.index":         case(302, 200, 200, 404, 404, 404, 404, 404),
        "liability.briefing":      case(302, 200, 200, 404, 404, 404, 404, 404),
        "liability.receipt":       case(302, 200, 404, 200, 404, 404, 404, 200),
        "liability_staff.index":   case(302, 404, 404, 200, 200, 404, 404, 200),
        "liability_staff.briefing":
                                   case(302, 404, 404, 200, 200, 404, 404, 200),
        "liability_staff.version": case(302, 404, 404, 200, 200, 404, 404, 200),
        "liability_staff.paper_form":
                                   case(302, 404, 404, 200, 200, 404, 404, 200),
        "liability_staff.export":  case(302, 404, 404, 200, 200, 404, 404, 200),
        "liability_staff.new_briefing":
                                   case(302, 404, 404, 404, 404, 404, 404, 200),
        "liability_staff.publish": case(302, 404, 404, 404, 404, 404, 404, 200),
        "liability_staff.acceptance":
                                   case(302, 404, 404, 200, 404, 404, 404, 200),
        "liability_staff.scan":    case(302, 404, 404, 200, 404, 404, 404, 200),
        "api_v1.liability_api.list_briefings":
                                   case(401, 200, 200, 404, 404, 404, 404, 404),
        "api_v1.liability_api.get_briefing":
                                   case(401, 200, 200, 404, 404, 404, 404, 404),
        "api_v1.liability_api.get_acceptance":
                                   case(401, 200, 404, 200, 404, 404, 404, 200),
        # Rewards: tenants see their own balance and statements, finance the
        # statements and exports of its own corporation. A period that
        # corporation 2 has not closed is a 409 for finance 2.
        "rewards_ledger.balance":  case(302, 200, 200, 404, 404, 404, 404, 404),
        "rewards_statements.my_statements":
                                   case(302, 200, 200, 404, 404, 404, 404, 404),
        "rewards_statements.my_statement_pdf":
                                   case(302, 200, 404, 404, 404, 404, 404, 404),
        "rewards_statements.my_yearly_pdf":
                                   case(302, 200, 404, 404, 404, 404, 404, 404),
        "rewards_statements.finance_statements":
                                   case(302, 404, 404, 404, 404, 200, 200, 404),
        "rewards_statements.finance_statement_pdf":
                                   case(302, 404, 404, 404, 404, 200, 404, 404),
        "rewards_statements.finance_statements_zip":
                                   case(302, 404, 404, 404, 404, 200, 409, 404),
        "rewards_statements.finance_exports":
                                   case(302, 404, 404, 404, 404, 200, 200, 404),
        "rewards_statements.export_rent_credit":
                                   case(302, 404, 404, 404, 404, 200, 409, 404),
        "rewards_statements.export_ledger":
                                   case(302, 404, 404, 404, 404, 200, 409, 404),
        "rewards_statements.export_payees":
                                   case(302, 404, 404, 404, 404, 200, 200, 404),
        "rewards_statements.export_sepa":
                                   case(302, 404, 404, 404, 404, 200, 404, 404),
        "rewards_statements.payout_account":
                                   case(302, 404, 404, 404, 404, 200, 200, 404),
        "api_v1.rewards_ledger_api.my_balance":
                                   case(401, 200, 200, 404, 404, 404, 404, 404),
        "api_v1.rewards_statements_api.list_statements":
                                   case(401, 200, 200, 404, 404, 404, 404, 404),
        "api_v1.rewards_statements_api.get_statement":
                                   case(401, 200, 404, 404, 404, 404, 404, 404),
    },
    "POST": {
        #                               anon tenA tenB carX carY fin1 fin2 admin
        "core.set_language":       case(302, 302, 302, 302, 302, 302, 302, 302),
        "accounts.login":          case(422, 302, 302, 302, 302, 302, 302, 302),
        "accounts.logout":         case(302, 302, 302, 302, 302, 302, 302, 302),
        "accounts.change_password":
                                   case(302, 422, 422, 422, 422, 422, 422, 422),
        "accounts.create_token":   case(302, 422, 422, 422, 422, 422, 422, 422),
        "accounts.revoke_token":   case(302, 302, 404, 404, 404, 404, 404, 404),
        "accounts.accept_invitation":
                                   case(422, 422, 422, 422, 422, 422, 422, 422),
        "admin.create_user":       case(302, 404, 404, 404, 404, 404, 404, 422),
        "admin.change_roles":      case(302, 404, 404, 404, 404, 404, 404, 422),
        "admin.assign_clusters":   case(302, 404, 404, 404, 404, 404, 404, 422),
        "admin.reset_password":    case(302, 404, 404, 404, 404, 404, 404, 422),
        "admin.deactivate_user":   case(302, 404, 404, 404, 404, 404, 404, 422),
        "rewards_engine.payout_choice":
                                   case(302, 422, 422, 404, 404, 404, 404, 404),
        "rewards_engine.rules":    case(302, 404, 404, 404, 404, 422, 422, 404),
        "rewards_engine.run_close":
                                   case(302, 404, 404, 404, 404, 302, 302, 404),
        "api_v1.rewards_engine_api.create_rule":
                                   case(401, 404, 404, 404, 404, 422, 422, 404),
        # Participation. Tenant A already has the claims, so her own
        # requests meet rules (409) rather than permissions.
        "participation.claim":     case(302, 409, 404, 404, 404, 404, 404, 404),
        "participation.submit":    case(302, 409, 404, 404, 404, 404, 404, 404),
        "participation.withdraw":  case(302, 409, 404, 404, 404, 404, 404, 404),
        "participation.post_chore":
                                   case(302, 404, 404, 422, 422, 404, 404, 404),
        "participation.edit_chore":
                                   case(302, 404, 404, 422, 404, 404, 404, 404),
        "participation.cancel_chore":
                                   case(302, 404, 404, 302, 404, 404, 404, 404,
                                        params={"chore_id": SPARE_CHORE},
                                        data={"reason": "Niet meer nodig."}),
        "participation.approve":   case(302, 404, 404, 302, 404, 302, 404, 404),
        # A second rejection of a rejected claim succeeds without a change,
        # like a repeated click, because the requested outcome is in place.
        "participation.reject":    case(302, 404, 404, 302, 404, 302, 404, 404,
                                        params={"claim_id": SPARE_SUBMITTED_CLAIM},
                                        data={"reason": "De trap is nog vies."}),
        "participation.new_category":
                                   case(302, 404, 404, 404, 404, 404, 404, 422),
        "participation.edit_category":
                                   case(302, 404, 404, 404, 404, 404, 404, 422),
        "participation.settings":  case(302, 404, 404, 404, 404, 302, 302, 302),
        "api_v1.participation_api.post_chore":
                                   case(401, 404, 404, 201, 404, 404, 404, 404,
                                        json=chore_in_cluster_x),
        "api_v1.participation_api.claim_chore":
                                   case(401, 409, 404, 404, 404, 404, 404, 404),
        "api_v1.participation_api.submit_claim":
                                   case(401, 409, 404, 404, 404, 404, 404, 404),
        "api_v1.participation_api.withdraw_claim":
                                   case(401, 409, 404, 404, 404, 404, 404, 404),
        "api_v1.participation_api.approve_claim":
                                   case(401, 404, 404, 200, 404, 200, 404, 404),
        "api_v1.participation_api.reject_claim":
                                   case(401, 404, 404, 200, 404, 200, 404, 404,
                                        params={"claim_id": SPARE_SUBMITTED_CLAIM},
                                        json={"reason": "De trap is nog vies."}),
        # Liability. Tenant A withdraws her acceptance in the portal first.
        "liability.accept":        case(302, 422, 422, 404, 404, 404, 404, 404),
        "liability.withdraw":      case(302, 302, 409, 404, 404, 404, 404, 404),
        "liability_staff.new_briefing":
                                   case(302, 404, 404, 404, 404, 404, 404, 422),
        "liability_staff.publish": case(302, 404, 404, 404, 404, 404, 404, 422),
        "liability_staff.record_paper_acceptance":
                                   case(302, 404, 404, 422, 422, 404, 404, 422),
        "liability_staff.record_paper_withdrawal":
                                   case(302, 404, 404, 422, 422, 404, 404, 422),
        "api_v1.liability_api.accept":
                                   case(401, 422, 422, 404, 404, 404, 404, 404),
        "api_v1.liability_api.withdraw":
                                   case(401, 409, 409, 404, 404, 404, 404, 404),
        # Rewards statements: only finance of corporation 1 reaches its batch.
        # Corporation 2 has not closed the month, so it has no exports page
        # to show the rejected form on.
        "rewards_statements.create_batch":
                                   case(302, 404, 404, 404, 404, 409, 404, 404),
        "rewards_statements.batch_paid":
                                   case(302, 404, 404, 404, 404, 409, 404, 404),
        "rewards_statements.batch_failed":
                                   case(302, 404, 404, 404, 404, 422, 404, 404),
        "rewards_statements.payout_account":
                                   case(302, 404, 404, 404, 404, 302, 422, 404),
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
    params.update({name: _value(value, world) for name, value in given.items()})
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


def test_routes_answer_each_actor_as_expected(app, full_world, actors):
    world = full_world
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
                response = _request(app, actors, actor, method, path, expected, world)
                body = response.get_data().decode("utf-8", "replace")
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


def _request(app, actors: ActorClients, actor, method, path, expected: Case, world):
    if path.startswith("/api/"):
        client = app.test_client()
        headers = actors.bearer_headers(actor)
    else:
        client = actors.client(actor)
        headers = {}
    return client.open(
        path,
        method=method,
        headers=headers,
        data=_value(expected.data, world),
        json=_value(expected.json, world),
    )


def _redirects_anonymous_elsewhere(actor, endpoint, path, response) -> bool:
    if actor != "anonymous" or response.status_code != 302:
        return False
    if endpoint in ANONYMOUS_REDIRECTS_ELSEWHERE or path.startswith("/api/"):
        return False
    return not response.location.startswith("/login")


def test_oversized_ids_not_found(app, full_world, actors):
    world = full_world
    # Ids beyond PostgreSQL's integer range must not reach the database.
    errors = []

    for method, endpoints in routes_by_method(app).items():
        for rule in endpoints.values():
            int_arguments = {
                name
                for name, converter in rule._converters.items()
                if isinstance(converter, IntegerConverter)
            }
            if not int_arguments:
                continue
            path = path_for(app, world, rule, **dict.fromkeys(int_arguments, 2**40))
            actor = "admin" if not path.startswith("/api/") else "tenant_a"
            response = _request(app, actors, actor, method, path, Case(()), world)
            if response.status_code != 404:
                errors.append(f"{method} {path}: {response.status_code}")

    assert not errors, "Oversized ids not answered with 404:\n  " + "\n  ".join(errors)
