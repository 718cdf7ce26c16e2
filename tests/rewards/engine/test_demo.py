"""The demo: last month closed with both choices, this month closes once after it ends."""

import time_machine
from sqlalchemy import func, select

from klusbank.demo import seed
from klusbank.extensions import db
from klusbank.timeutil import Period
from rewards.engine import queries
from rewards.engine.models import PayoutMethod, RuleVersion, SettlementLine
from rewards.ledger import services as ledger
from rewards.ledger.models import PeriodStatus
from tests.rewards.engine.helpers import amsterdam, credit

SEEDED_AT = amsterdam(2026, 11, 20, 10)
OCTOBER = Period(2026, 10)
NOVEMBER = Period(2026, 11)


def seed_demo():
    with time_machine.travel(SEEDED_AT, tick=False):
        context = seed()
    db.session.commit()
    return context


def test_demo_last_month_closed_once(app, runner):
    context = seed_demo()
    payout_login = next(
        tenant
        for tenant in context.tenants
        if tenant.email == "huurder2@demo.klusbank.test"
    )
    choices = {
        tenant.id: queries.payout_choice_for(tenant.id, OCTOBER)
        for tenant in context.tenants
    }
    before = db.session.scalar(select(func.count()).select_from(SettlementLine))

    with time_machine.travel(SEEDED_AT, tick=False):
        result = runner.invoke(
            args=["rewards", "close", "--corporation", "demo", "--period", "2026-10"]
        )

    assert db.session.scalar(select(func.count()).select_from(RuleVersion)) == 2
    assert choices[payout_login.id].method == PayoutMethod.PAYOUT
    assert any(choice is None for choice in choices.values())
    assert ledger.period_status(context.corporation.id, OCTOBER) == PeriodStatus.CLOSED
    assert result.exit_code == 0, result.output
    assert "already closed" in result.output
    assert db.session.scalar(select(func.count()).select_from(SettlementLine)) == before


def test_demo_current_month_settles_everyone_once(app, runner):
    context = seed_demo()
    # Work approved in the rest of November, on both kinds of choice.
    for tenant in context.tenants[:6]:
        credit(context.corporation, tenant, 150, amsterdam(2026, 11, 25))
    db.session.commit()
    with_points = queries.tenants_with_points(context.corporation.id)
    expected = [
        tenant_id
        for tenant_id in with_points
        if not queries.plan_settlement(
            context.corporation.id, tenant_id, NOVEMBER
        ).is_empty
    ]
    arguments = ["rewards", "close", "--corporation", "demo", "--period", "2026-11"]

    with time_machine.travel(amsterdam(2026, 12, 1, 2), tick=False):
        first = runner.invoke(args=arguments)
        second = runner.invoke(args=arguments)
    lines = db.session.scalars(
        select(SettlementLine).where(SettlementLine.period == str(NOVEMBER))
    ).all()

    assert first.exit_code == 0, first.output
    assert second.exit_code == 0, second.output
    assert "already closed" in second.output
    assert sorted(line.tenant_id for line in lines) == sorted(expected)
    assert len({line.tenant_id for line in lines}) == len(lines)
    assert {line.method for line in lines} == {
        PayoutMethod.RENT_CREDIT,
        PayoutMethod.PAYOUT,
    }
