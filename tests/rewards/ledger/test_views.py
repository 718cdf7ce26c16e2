"""The tenant's balance page and the balance endpoint of the JSON API."""

from datetime import UTC, date, datetime

import time_machine

from klusbank.extensions import db
from klusbank.timeutil import Period
from rewards.ledger import services as ledger
from rewards.ledger.models import AccountKind
from tests.factories import (
    create_caretaker,
    create_corporation,
    create_finance,
    create_tenant,
    login,
)
from tests.rewards.engine.helpers import amsterdam, close, create_rules, credit
from tests.rewards.ledger.helpers import credit_points, fund_payout

NOV_3 = date(2026, 11, 3)


def _tenant_with_history():
    corporation = create_corporation()
    tenant = create_tenant(corporation)
    credit_points(corporation, tenant, 15, on=NOV_3)
    undone = credit_points(corporation, tenant, 4, on=NOV_3)
    ledger.reverse_journal(undone.id, reason="Photo missing", actor_id=None)
    fund_payout(corporation, tenant, 2500, on=NOV_3)
    payout = ledger.tenant_account(corporation.id, tenant.id, AccountKind.TENANT_PAYOUT)
    ledger.place_hold(
        payout,
        1000,
        idempotency_key="batch:1",
        memo="SEPA batch November",
        source_type="payout_batch",
        source_id="1",
    )
    db.session.commit()
    return corporation, tenant


@time_machine.travel(datetime(2026, 11, 20, 12, tzinfo=UTC), tick=False)
def test_balance_page_lists_movements(app, client):
    _corporation, tenant = _tenant_with_history()
    login(client, tenant)

    response = client.get("/rewards/balance")
    page = response.get_data(as_text=True)

    assert response.status_code == 200
    assert "Stairwell cleaning" in page
    assert "Photo missing" in page
    assert "Uitbetalingsbatch 1" in page
    assert "SEPA batch November" not in page
    assert 'data-testid="points-balance">15 ' in page
    assert 'data-testid="lifetime-points">15 ' in page


def test_settlement_described_in_dutch(app, client):
    corporation = create_corporation()
    create_rules(create_finance(corporation))
    tenant = create_tenant(corporation)
    credit(corporation, tenant, 12, amsterdam(2026, 11, 5))
    db.session.commit()
    close(app, corporation, Period(2026, 11))

    with time_machine.travel(datetime(2026, 12, 2, 12, tzinfo=UTC), tick=False):
        login(client, tenant)
        page = client.get("/rewards/balance").get_data(as_text=True)

    assert "Verrekening van november 2026." in page
    assert "Settlement 2026-11" not in page
    assert "cents" not in page
    assert "goedkeuring" in page


@time_machine.travel(datetime(2026, 11, 20, 12, tzinfo=UTC), tick=False)
def test_balance_page_in_tenant_menu(app, client):
    _corporation, tenant = _tenant_with_history()
    login(client, tenant)

    page = client.get("/").get_data(as_text=True)

    assert "/rewards/balance" in page


def test_balance_page_hidden_from_staff(app, client):
    caretaker = create_caretaker(create_corporation())
    db.session.commit()
    login(client, caretaker)

    response = client.get("/rewards/balance")

    assert response.status_code == 404


def test_balance_page_needs_login(app, client):
    response = client.get("/rewards/balance")

    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


@time_machine.travel(datetime(2026, 11, 20, 12, tzinfo=UTC), tick=False)
def test_api_balance_returns_figures(app, client):
    _corporation, tenant = _tenant_with_history()
    login(client, tenant)

    response = client.get("/api/v1/me/balance")
    body = response.get_json()

    assert response.status_code == 200
    assert body["points"] == 15
    assert body["lifetime_earned_points"] == 15
    assert body["payout_cents"] == 2500
    assert body["payout_available_cents"] == 1500
    assert body["rent_credit_cents"] == 0
    assert [hold["amount"] for hold in body["pending_holds"]] == [1000]
    assert len(body["movements"]) == 4
    assert body["movements"][0]["memo"] == "Photo missing"
    assert body["movements"][0]["amount"] == -4
    assert body["movements"][0]["kind"] == "reversal"


def test_api_balance_of_new_tenant_is_zero(app, client):
    tenant = create_tenant(create_corporation())
    db.session.commit()
    login(client, tenant)

    body = client.get("/api/v1/me/balance").get_json()

    assert body["points"] == 0
    assert body["movements"] == []
    assert body["pending_holds"] == []


def test_api_balance_needs_authentication(app, client):
    response = client.get("/api/v1/me/balance")

    assert response.status_code == 401


def test_api_balance_shows_only_own_movements(app, client):
    corporation = create_corporation()
    tenant = create_tenant(corporation)
    neighbour = create_tenant(corporation)
    credit_points(corporation, neighbour, 30, on=NOV_3)
    db.session.commit()
    login(client, tenant)

    body = client.get("/api/v1/me/balance").get_json()

    assert body["points"] == 0
    assert body["movements"] == []


def test_api_balance_in_openapi_document(app, client):
    document = client.get("/api/v1/openapi.json").get_json()

    operation = document["paths"]["/api/v1/me/balance"]["get"]
    assert operation["tags"] == ["ledger"]
    assert "LedgerBalance" in document["components"]["schemas"]
