"""The batched close: a mixed corporation's figures and statements per close."""

from datetime import date

import pytest
from sqlalchemy import event, func, select

from klusbank.extensions import db
from klusbank.timeutil import Period
from rewards.engine.models import PayoutMethod, SettlementLine
from rewards.ledger import services as ledger
from rewards.ledger.models import AccountKind, Journal, JournalKind
from rewards.ledger.queries import tenant_balances
from rewards.ledger.verify import verify_ledger
from tests.factories import create_corporation, create_finance, create_tenant
from tests.rewards.engine.helpers import (
    amsterdam,
    choose_payout,
    close,
    create_rules,
    credit,
)

OCTOBER = Period(2026, 10)
NOVEMBER = Period(2026, 11)


def build_mixed(app):
    """Seven tenants over October and November; return corporation, rules, tenants.

    Rent credit is 10 cents a point with a month cap of 10 euros. Payouts are
    25 cents per 10 points (2 points make 5 cents) with a month cap of 20
    euros, a year cap of 30 euros and a minimum of 5 euros. Weekend work
    counts 1.5 times, and points expire a month after the month they were
    earned in.
    """
    corporation = create_corporation(code="mixed")
    finance = create_finance(corporation)
    rules = create_rules(
        finance,
        effective_from=date(2026, 1, 1),
        rent_credit_rate_cents=10,
        rent_credit_cap_month_cents=1_000,
        payout_rate_cents=25,
        payout_rate_points=10,
        payout_cap_month_cents=2_000,
        payout_cap_year_cents=3_000,
        minimum_payout_cents=500,
        weekend_multiplier_permille=1_500,
        expiry_months=1,
    )
    names = ("Anna", "Bram", "Cees", "Dirk", "Eva", "Fenna", "Gijs")
    tenants = {name: create_tenant(corporation, name=name) for name in names}
    for name in ("Cees", "Dirk", "Fenna"):
        choose_payout(tenants[name], amsterdam(2026, 9, 20))

    # Monday 5 and Tuesday 6 October are weekdays, Saturday 3 and 10 October
    # and Sunday 8 November weekend days.
    credit(corporation, tenants["Anna"], 80, amsterdam(2026, 10, 5))
    credit(corporation, tenants["Anna"], 50, amsterdam(2026, 11, 10))
    credit(corporation, tenants["Bram"], 150, amsterdam(2026, 10, 6))
    credit(corporation, tenants["Bram"], 20, amsterdam(2026, 11, 10))
    credit(corporation, tenants["Cees"], 100, amsterdam(2026, 10, 5))
    credit(corporation, tenants["Cees"], 30, amsterdam(2026, 11, 12))
    credit(corporation, tenants["Dirk"], 1_000, amsterdam(2026, 10, 6))
    credit(corporation, tenants["Dirk"], 600, amsterdam(2026, 11, 12))
    credit(corporation, tenants["Eva"], 40, amsterdam(2026, 10, 3))
    credit(corporation, tenants["Fenna"], 45, amsterdam(2026, 10, 6))
    credit(corporation, tenants["Fenna"], 200, amsterdam(2026, 11, 8))
    _, reversed_journal = credit(
        corporation, tenants["Gijs"], 30, amsterdam(2026, 10, 3)
    )
    ledger.reverse_journal(
        reversed_journal,
        reason="approved by mistake",
        actor_id=None,
        effective_date=date(2026, 10, 10),
    )
    db.session.commit()
    return corporation, rules, tenants


def lines_of(period: Period, tenants) -> dict[str, SettlementLine]:
    names = {tenant.id: name for name, tenant in tenants.items()}
    query = select(SettlementLine).where(SettlementLine.period == str(period))
    return {names[line.tenant_id]: line for line in db.session.scalars(query)}


@pytest.mark.parametrize("batch_size", [3, 500], ids=["batches-of-3", "one-batch"])
def test_mixed_corporation_october(app, batch_size):
    app.config["REWARDS_CLOSE_BATCH_TENANTS"] = batch_size
    corporation, rules, tenants = build_mixed(app)

    result = close(app, corporation, OCTOBER)
    lines = lines_of(OCTOBER, tenants)

    # Gijs's only approval was reversed, so he has nothing to settle.
    assert sorted(lines) == ["Anna", "Bram", "Cees", "Dirk", "Eva", "Fenna"]
    assert result.tenants_settled == 6
    assert result.rent_credit_cents == 2_400
    assert result.payout_cents == 2_000
    assert result.converted_points == 1_040
    assert result.expired_points == 0
    assert result.carried_points == 395
    assert lines["Anna"].amount_cents == 800
    assert lines["Anna"].carried_points == 0
    # Bram: 150 points are worth 15 euros, the month cap allows 10.
    assert lines["Bram"].amount_cents == 1_000
    assert lines["Bram"].limited_by == "month_cap"
    assert lines["Bram"].capped_points == 50
    assert lines["Bram"].carried_points == 50
    # Cees: 100 points make 2.50 euros, below the 5 euro minimum.
    assert lines["Cees"].is_below_minimum
    assert lines["Cees"].amount_cents == 0
    assert lines["Cees"].journal_id is None
    assert lines["Cees"].carried_points == 100
    # Dirk: 1,000 points are worth 25 euros; the month cap pays 20 for 800.
    assert lines["Dirk"].method == PayoutMethod.PAYOUT
    assert lines["Dirk"].amount_cents == 2_000
    assert lines["Dirk"].converted_points == 800
    assert lines["Dirk"].carried_points == 200
    # Eva: 40 points on a Saturday earn 20 bonus points.
    assert lines["Eva"].earned_points == 40
    assert lines["Eva"].bonus_points == 20
    assert lines["Eva"].amount_cents == 600
    assert lines["Eva"].details["approvals"][0]["weekend_multiplier_permille"] == 1500
    assert lines["Fenna"].is_below_minimum
    assert lines["Fenna"].carried_points == 45
    for line in lines.values():
        assert line.rule_version_id == rules.id


@pytest.mark.parametrize("batch_size", [3, 500], ids=["batches-of-3", "one-batch"])
def test_mixed_corporation_november(app, batch_size):
    app.config["REWARDS_CLOSE_BATCH_TENANTS"] = batch_size
    corporation, rules, tenants = build_mixed(app)
    close(app, corporation, OCTOBER)

    result = close(app, corporation, NOVEMBER)
    lines = lines_of(NOVEMBER, tenants)

    assert sorted(lines) == ["Anna", "Bram", "Cees", "Dirk", "Fenna"]
    assert result.tenants_settled == 5
    assert result.rent_credit_cents == 1_200
    assert result.payout_cents == 1_860
    assert result.converted_points == 864
    assert result.expired_points == 100
    assert result.carried_points == 431
    assert lines["Anna"].amount_cents == 500
    # Bram: 50 carried from October and 20 earned.
    assert lines["Bram"].opening_points == 70
    assert lines["Bram"].amount_cents == 700
    assert lines["Bram"].expired_points == 0
    # Cees: 130 points are still below the minimum; October's 100 expire.
    assert lines["Cees"].is_below_minimum
    assert lines["Cees"].expired_points == 100
    assert lines["Cees"].carried_points == 30
    # Dirk: 800 points are worth 20 euros, but 10 remain of the year cap.
    assert lines["Dirk"].year_to_date_cents == 2_000
    assert lines["Dirk"].limited_by == "year_cap"
    assert lines["Dirk"].amount_cents == 1_000
    assert lines["Dirk"].converted_points == 400
    assert lines["Dirk"].expired_points == 0
    assert lines["Dirk"].carried_points == 400
    # Fenna: 45 carried, 200 earned on a Sunday with 100 bonus points; 345
    # points make 172 steps of 2 points, and 1 point is left over.
    assert lines["Fenna"].opening_points == 245
    assert lines["Fenna"].bonus_points == 100
    assert lines["Fenna"].amount_cents == 860
    assert lines["Fenna"].remainder_points == 1
    assert lines["Fenna"].carried_points == 1
    for line in lines.values():
        assert line.rule_version_id == rules.id
        assert str(rules.id) in line.memo


def test_mixed_corporation_ledger(app):
    app.config["REWARDS_CLOSE_BATCH_TENANTS"] = 2
    corporation, rules, tenants = build_mixed(app)
    close(app, corporation, OCTOBER)
    close(app, corporation, NOVEMBER)
    journals = db.session.scalars(
        select(Journal).where(
            Journal.kind == JournalKind.SETTLEMENT, Journal.period == str(NOVEMBER)
        )
    ).all()
    keys = {journal.idempotency_key for journal in journals}

    assert verify_ledger(corporation.id) == []
    assert keys == {
        f"settle:mixed:2026-11:{tenants[name].id}"
        for name in ("Anna", "Bram", "Cees", "Dirk", "Fenna")
    }
    assert {journal.rule_version_id for journal in journals} == {rules.id}
    assert tenant_balances(corporation.id, tenants["Anna"].id) == {
        AccountKind.TENANT_POINTS: 0,
        AccountKind.TENANT_RENT_CREDIT: 1_300,
        AccountKind.TENANT_PAYOUT: 0,
    }
    assert tenant_balances(corporation.id, tenants["Dirk"].id) == {
        AccountKind.TENANT_POINTS: 400,
        AccountKind.TENANT_RENT_CREDIT: 0,
        AccountKind.TENANT_PAYOUT: 3_000,
    }
    assert (
        tenant_balances(corporation.id, tenants["Cees"].id)[AccountKind.TENANT_POINTS]
        == 30
    )
    assert tenant_balances(corporation.id, tenants["Fenna"].id) == {
        AccountKind.TENANT_POINTS: 1,
        AccountKind.TENANT_RENT_CREDIT: 0,
        AccountKind.TENANT_PAYOUT: 860,
    }


def test_mixed_corporation_second_close_changes_nothing(app):
    app.config["REWARDS_CLOSE_BATCH_TENANTS"] = 3
    corporation, _, _ = build_mixed(app)
    first = close(app, corporation, OCTOBER)
    journals = db.session.scalar(select(func.count()).select_from(Journal))
    lines = db.session.scalar(select(func.count()).select_from(SettlementLine))

    second = close(app, corporation, OCTOBER, at=amsterdam(2026, 11, 3))

    assert second.already_closed
    assert second.checksum == first.checksum
    assert second.tenants_settled == first.tenants_settled
    assert db.session.scalar(select(func.count()).select_from(Journal)) == journals
    assert db.session.scalar(select(func.count()).select_from(SettlementLine)) == lines


def build_uniform(code: str, tenant_count: int):
    """A corporation whose tenants each earn points in November, every fifth on payout."""
    corporation = create_corporation(code=code)
    create_rules(
        create_finance(corporation),
        rent_credit_cap_month_cents=1_000,
        payout_cap_month_cents=2_000,
        minimum_payout_cents=500,
        weekend_multiplier_permille=1_200,
        expiry_months=2,
    )
    for index in range(tenant_count):
        tenant = create_tenant(corporation)
        if index % 5 == 0:
            choose_payout(tenant, amsterdam(2026, 10, 20))
        credit(corporation, tenant, 40 + index, amsterdam(2026, 11, 4 + index % 7))
    db.session.commit()
    return corporation


def statements_of_close(app, corporation) -> int:
    """Close November and return how many SQL statements the close sent."""
    statements = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        result = close(app, corporation, NOVEMBER)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert not result.already_closed
    return len(statements)


def test_close_statements_do_not_grow_with_tenants(app):
    small = build_uniform("small", 10)
    large = build_uniform("large", 50)

    small_count = statements_of_close(app, small)
    large_count = statements_of_close(app, large)

    assert large_count == small_count
    # The close before batching sent about 29 statements per tenant.
    assert large_count < 100


def test_close_statements_grow_per_batch(app):
    app.config["REWARDS_CLOSE_BATCH_TENANTS"] = 10
    one_batch = build_uniform("one", 10)
    three_batches = build_uniform("three", 30)
    five_batches = build_uniform("five", 50)

    one = statements_of_close(app, one_batch)
    three = statements_of_close(app, three_batches)
    five = statements_of_close(app, five_batches)

    assert three > one
    assert five - three == three - one
