"""Concurrent requests on PostgreSQL: places are never overfilled, approvals credit once.

Each request runs in its own thread with its own test client, app context and
database connection, released together by a barrier.
"""

import threading

import pytest
from sqlalchemy import func, select

from klusbank.accounts.services import create_api_token
from klusbank.extensions import db
from participation.models import Claim, ClaimStatus
from rewards.ledger import queries as ledger_queries
from rewards.ledger.models import AccountKind, Journal
from tests.factories import create_caretaker, create_corporation
from tests.participation.helpers import create_neighbourhood, submitted_claim

TENANTS = 20
PLACES = 3


@pytest.fixture
def backend():
    """Run these tests on PostgreSQL only; SQLite has one writer at a time."""
    return "postgresql"


@pytest.fixture
def app_config(app_config):
    """Give every racing thread its own pooled connection."""
    app_config["SQLALCHEMY_ENGINE_OPTIONS"] = {"pool_size": TENANTS + 5}
    return app_config


def _race(app, requests: list[tuple[str, str]]) -> list[tuple[int, dict]]:
    """Send each (token, path) POST from its own thread at the same moment."""
    barrier = threading.Barrier(len(requests))
    results: list[tuple[int, dict] | None] = [None] * len(requests)

    def send(index: int, token: str, path: str) -> None:
        client = app.test_client()
        barrier.wait(timeout=30)
        response = client.post(
            path, json={}, headers={"Authorization": f"Bearer {token}"}
        )
        results[index] = (response.status_code, response.get_json())

    threads = [
        threading.Thread(target=send, args=(index, token, path))
        for index, (token, path) in enumerate(requests)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert all(not thread.is_alive() for thread in threads), "a request hung"
    assert all(result is not None for result in results), results
    return results


def test_twenty_tenants_race_for_three_places(app):
    place = create_neighbourhood(create_corporation(), places=PLACES)
    tokens = [create_api_token(place.add_tenant(), "race")[1] for _ in range(TENANTS)]
    db.session.commit()
    path = f"/api/v1/chores/{place.chore.id}/claims"

    results = _race(app, [(token, path) for token in tokens])

    statuses = sorted(status for status, _body in results)
    assert statuses == [201] * PLACES + [409] * (TENANTS - PLACES)
    refusals = {body["code"] for status, body in results if status == 409}
    assert refusals == {"no_places_left"}
    db.session.expire_all()
    claims = db.session.scalars(
        select(Claim).where(Claim.chore_id == place.chore.id)
    ).all()
    assert len(claims) == PLACES
    assert sorted(claim.slot for claim in claims) == [1, 2, 3]
    assert {claim.status for claim in claims} == {ClaimStatus.CLAIMED}


def test_two_caretakers_approve_at_once(app):
    corporation = create_corporation()
    place = create_neighbourhood(corporation, points=40)
    colleague = create_caretaker(corporation, place.cluster)
    tenant = place.add_tenant()
    claim = submitted_claim(tenant, place.chore)
    tokens = [
        create_api_token(place.caretaker, "race")[1],
        create_api_token(colleague, "race")[1],
    ]
    db.session.commit()
    path = f"/api/v1/claims/{claim.id}/approve"

    results = _race(app, [(token, path) for token in tokens])

    assert [status for status, _body in results] == [200, 200]
    assert {body["status"] for _status, body in results} == {"approved"}
    db.session.expire_all()
    journals = db.session.scalar(select(func.count()).select_from(Journal))
    assert journals == 1
    balances = ledger_queries.tenant_balances(corporation.id, tenant.id)
    assert balances[AccountKind.TENANT_POINTS] == 40
