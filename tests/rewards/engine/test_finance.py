"""Finance pages and commands: preview, close with confirmation, history, rules."""

from datetime import date

import time_machine
from sqlalchemy import func, select

from klusbank.extensions import db
from klusbank.timeutil import Period
from rewards.engine.models import (
    CloseRun,
    RuleVersion,
    SettlementLine,
    VolunteerAllowanceLimit,
)
from rewards.ledger import services as ledger
from rewards.ledger.models import PeriodStatus
from tests.factories import create_corporation, create_finance, create_tenant, login
from tests.rewards.engine.helpers import amsterdam, choose_payout, create_rules, credit

NOVEMBER = Period(2026, 11)
AFTER_NOVEMBER = amsterdam(2026, 12, 3, 9)
RULE_FORM = {
    "effective_from": "2027-01-01",
    "rent_credit_rate_cents": "12",
    "rent_credit_rate_points": "1",
    "payout_rate_cents": "25",
    "payout_rate_points": "1",
    "weekend_multiplier_permille": "1000",
    "minimum_payout_cents": "0",
}


def build(app):
    corporation = create_corporation(code="fin")
    finance = create_finance(corporation)
    create_rules(finance, payout_cap_month_cents=1_000)
    renter = create_tenant(corporation, name="Renter Rent")
    payee = create_tenant(corporation, name="Payee Paid")
    choose_payout(payee, amsterdam(2026, 11, 1))
    credit(corporation, renter, 80, amsterdam(2026, 11, 5))
    credit(corporation, payee, 150, amsterdam(2026, 11, 6))
    db.session.commit()
    return corporation, finance


def test_preview_shows_amounts_and_caps(app, client):
    _, finance = build(app)

    with time_machine.travel(AFTER_NOVEMBER, tick=False):
        login(client, finance)
        page = client.get("/rewards/finance/close").get_data(as_text=True)

    assert "Renter Rent" in page
    assert "Payee Paid" in page
    assert "maandgrens" in page
    assert db.session.scalar(select(func.count()).select_from(SettlementLine)) == 0


def test_close_needs_confirmation(app, client):
    corporation, finance = build(app)

    with time_machine.travel(AFTER_NOVEMBER, tick=False):
        login(client, finance)
        response = client.post("/rewards/finance/close", data={"period": "2026-11"})

    assert response.status_code == 302
    assert ledger.period_status(corporation.id, NOVEMBER) == PeriodStatus.OPEN


def test_close_by_hand_and_history(app, client):
    corporation, finance = build(app)

    with time_machine.travel(AFTER_NOVEMBER, tick=False):
        login(client, finance)
        response = client.post(
            "/rewards/finance/close", data={"period": "2026-11", "confirm": "y"}
        )
        history = client.get("/rewards/finance/closes").get_data(as_text=True)

    assert response.status_code == 302
    assert ledger.period_status(corporation.id, NOVEMBER) == PeriodStatus.CLOSED
    run = db.session.scalar(select(CloseRun))
    assert run.tenants_settled == 2
    assert run.rent_credit_cents == 800
    assert run.payout_cents == 1_000
    assert run.trigger == "portal"
    assert run.actor_id == finance.id
    assert "2026-11" in history


def test_rules_page_adds_version(app, client):
    corporation, finance = build(app)

    with time_machine.travel(AFTER_NOVEMBER, tick=False):
        login(client, finance)
        response = client.post(
            "/rewards/finance/rules",
            data={
                **RULE_FORM,
                "payout_rate_points": "3",
                "weekend_multiplier_permille": "1200",
                "category_multipliers": "trappenhuis = 1500\ntuin=1100",
                "minimum_payout_cents": "1000",
                "expiry_months": "12",
            },
        )

    assert response.status_code == 302
    version = db.session.scalar(
        select(RuleVersion).where(RuleVersion.effective_from == date(2027, 1, 1))
    )
    assert version.payout_rate_points == 3
    assert version.multiplier_for("trappenhuis") == 1500
    assert version.multiplier_for("tuin") == 1100
    assert version.expiry_months == 12


def test_rules_page_rejects_mid_month_start(app, client):
    _, finance = build(app)

    with time_machine.travel(AFTER_NOVEMBER, tick=False):
        login(client, finance)
        response = client.post(
            "/rewards/finance/rules",
            data={**RULE_FORM, "effective_from": "2027-01-15"},
        )
    page = response.get_data(as_text=True)

    assert response.status_code == 422
    assert 'id="effective_from-error"' in page
    assert db.session.scalar(select(func.count()).select_from(RuleVersion)) == 1


def test_cli_preview_and_close(app, runner):
    build(app)

    with time_machine.travel(AFTER_NOVEMBER, tick=False):
        preview = runner.invoke(
            args=["rewards", "preview", "--corporation", "fin", "--period", "2026-11"]
        )
        first = runner.invoke(
            args=["rewards", "close", "--corporation", "fin", "--period", "2026-11"]
        )
        second = runner.invoke(
            args=["rewards", "close", "--corporation", "fin", "--period", "2026-11"]
        )

    assert preview.exit_code == 0, preview.output
    assert "Payee Paid" in preview.output
    assert "month_cap" in preview.output
    assert first.exit_code == 0, first.output
    assert "closed 2026-11 of fin: 2 tenants settled" in first.output
    assert second.exit_code == 0, second.output
    assert "already closed" in second.output


def test_cli_rejects_bad_period(app, runner):
    build(app)

    result = runner.invoke(
        args=["rewards", "close", "--corporation", "fin", "--period", "2026-13"]
    )

    assert result.exit_code == 2
    assert "YYYY-MM" in result.output


def test_cli_options_have_help(app, runner):
    for command in ("preview", "close"):
        result = runner.invoke(args=["rewards", command, "--help"])

        assert "Short code of the corporation" in result.output
        assert "YYYY-MM" in result.output


def test_cli_adds_volunteer_limits_once(app, runner):
    arguments = [
        "rewards",
        "volunteer-limits",
        "--year",
        "2026",
        "--hourly-21-plus-cents",
        "570",
        "--hourly-under-21-cents",
        "340",
        "--month-cents",
        "21000",
        "--year-cents",
        "210000",
    ]

    first = runner.invoke(args=arguments)
    second = runner.invoke(args=arguments)

    assert first.exit_code == 0, first.output
    assert db.session.get(VolunteerAllowanceLimit, 2026).hourly_21_plus_cents == 570
    assert second.exit_code == 1
    assert "bestaan al" in second.output
