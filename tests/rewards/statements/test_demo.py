"""The done-when checks of statements and exports, on the demo corporation."""

from decimal import Decimal

import pytest
from lxml import etree

from klusbank.demo import DEMO_PASSWORD, seed
from klusbank.extensions import db
from klusbank.formatting import format_cents, format_points
from klusbank.timeutil import Period
from rewards.ledger import queries as ledger_queries
from rewards.ledger import services as ledger
from rewards.ledger.models import AccountKind
from rewards.statements import batches, demo, queries, services
from rewards.statements.exports.csv_cells import CsvDialect
from rewards.statements.exports.sepa import NAMESPACE
from tests.rewards.statements.helpers import account_movement, pdf_text
from tests.rewards.statements.spreadsheet import DUTCH_CSV_FILTER, open_in_calc

pytestmark = pytest.mark.slow


@pytest.fixture
def demo_world(app):
    context = seed()
    # Idempotent, so it is safe whether or not the domain demo already called it.
    demo.finish(context)
    db.session.commit()
    return context


def test_demo_statements_match_ledger(demo_world):
    corporation_id = demo_world.corporation.id
    period = Period.of(demo_world.today).previous()
    tenant_ids = queries.statement_tenant_ids(corporation_id, period)

    assert tenant_ids
    for tenant_id in tenant_ids:
        record = services.ensure_statement(corporation_id, tenant_id, period)
        locale = record.locale
        text = pdf_text(record.content)
        points = ledger.tenant_account(
            corporation_id, tenant_id, AccountKind.TENANT_POINTS
        )
        closing = format_points(
            ledger_queries.balance(points.id, period.last_day), locale
        )
        for kind in (AccountKind.TENANT_RENT_CREDIT, AccountKind.TENANT_PAYOUT):
            cents = account_movement(corporation_id, tenant_id, kind, period)
            assert format_cents(cents, locale).replace("\xa0", " ") in text, tenant_id
        assert f" {closing} " in text, tenant_id


def test_demo_exports_match_ledger(demo_world, tmp_path):
    corporation_id = demo_world.corporation.id
    period = Period.of(demo_world.today).previous()

    assert_sepa_equals_month_payouts(demo_world, period)
    assert_rent_credit_in_calc(demo_world, period, tmp_path)
    assert_payees_equal_year_payouts(demo_world)
    assert queries.closed_ledger_period(corporation_id, period).checksum


def test_demo_access_rules(demo_world, app):
    period = Period.of(demo_world.today).previous()
    tenant_ids = queries.statement_tenant_ids(demo_world.corporation.id, period)
    owner = next(t for t in demo_world.tenants if t.id in tenant_ids)
    other = next(t for t in demo_world.tenants if t.id != owner.id)
    statement_url = f"/rewards/finance/statements/{period}/{owner.id}.pdf"
    export_url = f"/rewards/finance/exports/{period}/rent-credit.csv"

    tenant = app.test_client()
    tenant.post("/login", data={"email": other.email, "password": DEMO_PASSWORD})
    finance = app.test_client()
    finance.post(
        "/login", data={"email": demo_world.finance.email, "password": DEMO_PASSWORD}
    )

    assert tenant.get(statement_url).status_code == 404
    assert tenant.get(export_url).status_code == 404
    assert finance.get(statement_url).status_code == 200
    assert finance.get(export_url).status_code == 200


def assert_sepa_equals_month_payouts(context, period: Period) -> None:
    corporation_id = context.corporation.id
    batch = batches.live_batch(corporation_id, period)
    granted = queries.granted_cents_by_tenant(
        corporation_id, AccountKind.TENANT_PAYOUT, period
    )
    if batch is None:
        assert sum(granted.values()) == 0
        return
    exported = batches.export_sepa(context.finance, corporation_id, batch.id)
    [control_sum] = etree.fromstring(exported.content).xpath(
        "//p:GrpHdr/p:CtrlSum/text()", namespaces={"p": NAMESPACE}
    )
    assert Decimal(control_sum) == Decimal(sum(granted.values())).scaleb(-2)


def assert_rent_credit_in_calc(context, period: Period, tmp_path) -> None:
    corporation_id = context.corporation.id
    exported = services.export_rent_credit(
        context.finance, corporation_id, period, CsvDialect.NL
    )
    path = tmp_path / exported.filename
    path.write_bytes(exported.content)
    rows = open_in_calc(path, tmp_path, DUTCH_CSV_FILTER)
    granted = queries.granted_cents_by_tenant(
        corporation_id, AccountKind.TENANT_RENT_CREDIT, period
    )
    references = queries.tenancy_references(corporation_id, period.last_day)
    expected = {
        references[tenant_id]: Decimal(cents).scaleb(-2)
        for tenant_id, cents in granted.items()
    }
    assert all(row[3].value_type == "float" for row in rows[1:])
    assert {row[1].value: Decimal(row[3].value) for row in rows[1:]} == expected


def assert_payees_equal_year_payouts(context) -> None:
    exported = services.export_payees(
        context.finance, context.corporation.id, context.today.year, CsvDialect.PLAIN
    )
    lines = [line for line in exported.content.decode().split("\r\n")[1:] if line]
    clearing = ledger.corporation_account(
        context.corporation.id, AccountKind.PAYOUT_CLEARING
    )
    total = sum(Decimal(line.rsplit(",", 1)[1]) for line in lines)
    assert total == Decimal(ledger_queries.balance(clearing.id)).scaleb(-2)
