import pytest
import time_machine

from tests.factories import login
from tests.rewards.statements.helpers import AFTER_CLOSE, create_closed_month


@pytest.fixture
def world(app):
    world = create_closed_month()
    with time_machine.travel(AFTER_CLOSE):
        yield world


def test_tenant_lists_own_statements(world, client):
    login(client, world.rent_tenant)

    body = client.get("/api/v1/statements").get_json()

    assert body["statements"] == [
        {"period": "2026-02", "download_url": "/rewards/statements/2026-02.pdf"}
    ]
    assert body["yearly_overviews"] == []


def test_statement_figures_as_json(world, client):
    login(client, world.payout_tenant)

    body = client.get("/api/v1/statements/2026-02").get_json()

    assert body["earned_points"] == 47
    assert body["payout"]["credited_cents"] == 575
    assert body["conversions"][0]["rate_points"] == 2
    assert len(body["checksum"]) == 64


def test_statement_json_without_data_is_404(world, client):
    login(client, world.idle_tenant)

    assert client.get("/api/v1/statements/2026-02").status_code == 404
    assert client.get("/api/v1/statements/garbage").status_code == 404


def test_finance_has_no_tenant_statement_api(world, client):
    login(client, world.finance)

    assert client.get("/api/v1/statements").status_code == 404
