"""Months close in calendar order: in the job, the CLI, the portal and the scheduler."""

import logging

import pytest
import time_machine
from sqlalchemy import func, select

from klusbank.errors import RuleViolation
from klusbank.extensions import db
from klusbank.timeutil import Period
from rewards.engine.models import CloseRun, SettlementLine
from rewards.jobs import close_previous_month, months_to_close
from rewards.ledger import services as ledger
from rewards.ledger.models import PeriodStatus
from tests.factories import create_corporation, create_finance, create_tenant, login
from tests.rewards.engine.helpers import amsterdam, close, create_rules, credit

OCTOBER = Period(2026, 10)
NOVEMBER = Period(2026, 11)
DECEMBER = Period(2026, 12)
IN_JANUARY = amsterdam(2027, 1, 4, 9)


def build(app, *months: Period):
    """A corporation with one tenant who worked in each given month."""
    corporation = create_corporation(code="order")
    finance = create_finance(corporation)
    finance.locale = "en"
    create_rules(finance)
    tenant = create_tenant(corporation)
    for month in months:
        credit(corporation, tenant, 10, amsterdam(month.year, month.month, 10))
    db.session.commit()
    return corporation, finance


def status(corporation, period: Period) -> PeriodStatus:
    return ledger.period_status(corporation.id, period)


def line_count() -> int:
    return db.session.scalar(select(func.count()).select_from(SettlementLine))


def test_empty_month_between_blocks_later(app):
    corporation, _ = build(app, OCTOBER, DECEMBER)
    close(app, corporation, OCTOBER)

    with pytest.raises(RuleViolation) as error:
        close(app, corporation, DECEMBER, at=IN_JANUARY)

    assert error.value.code == "earlier_period_open"
    assert "2026-11" in error.value.message
    assert status(corporation, DECEMBER) == PeriodStatus.OPEN
    assert line_count() == 1


def test_months_close_in_order(app):
    corporation, _ = build(app, OCTOBER, DECEMBER)

    for month in (OCTOBER, NOVEMBER, DECEMBER):
        close(app, corporation, month, at=IN_JANUARY)

    for month in (OCTOBER, NOVEMBER, DECEMBER):
        assert status(corporation, month) == PeriodStatus.CLOSED
    assert line_count() == 2


def test_earlier_month_after_later_rejected(app):
    corporation, _ = build(app, DECEMBER)
    close(app, corporation, DECEMBER, at=IN_JANUARY)

    with pytest.raises(RuleViolation) as error:
        close(app, corporation, NOVEMBER, at=IN_JANUARY)

    assert error.value.code == "later_period_closed"
    assert "2026-12" in error.value.message
    assert status(corporation, NOVEMBER) == PeriodStatus.OPEN
    assert db.session.scalar(select(func.count()).select_from(CloseRun)) == 1


def test_closed_month_stays_a_no_op(app):
    corporation, _ = build(app, OCTOBER, NOVEMBER)
    close(app, corporation, OCTOBER, at=IN_JANUARY)
    close(app, corporation, NOVEMBER, at=IN_JANUARY)

    again = close(app, corporation, OCTOBER, at=IN_JANUARY)

    assert again.already_closed


def test_cli_close_out_of_order_fails(app, runner):
    build(app, OCTOBER, NOVEMBER)

    with time_machine.travel(IN_JANUARY, tick=False):
        result = runner.invoke(
            args=["rewards", "close", "--corporation", "order", "--period", "2026-11"]
        )

    assert result.exit_code == 1
    assert "2026-10" in result.output
    assert "2026-11" in result.output
    assert line_count() == 0


def test_portal_close_out_of_order_conflict(app, client):
    corporation, finance = build(app, OCTOBER, NOVEMBER)

    with time_machine.travel(IN_JANUARY, tick=False):
        login(client, finance)
        preview = client.get("/rewards/finance/close?period=2026-11")
        response = client.post(
            "/rewards/finance/close", data={"period": "2026-11", "confirm": "y"}
        )
    preview_page = preview.get_data(as_text=True)
    page = response.get_data(as_text=True)

    assert preview.status_code == 200
    assert "close 2026-10 before 2026-11" in preview_page
    assert 'action="/rewards/finance/close"' not in preview_page
    assert response.status_code == 409
    assert "close 2026-10 before 2026-11" in page
    assert status(corporation, NOVEMBER) == PeriodStatus.OPEN
    assert line_count() == 0


def test_months_to_close_lists_missed_months(app):
    corporation, _ = build(app, OCTOBER)

    months = months_to_close(corporation.id, DECEMBER)

    assert months == [OCTOBER, NOVEMBER, DECEMBER]


def test_months_to_close_after_latest_closed(app):
    corporation, _ = build(app, OCTOBER)
    close(app, corporation, OCTOBER)

    assert months_to_close(corporation.id, DECEMBER) == [NOVEMBER, DECEMBER]
    assert months_to_close(corporation.id, OCTOBER) == [OCTOBER]


def test_scheduler_closes_missed_months_in_order(app, caplog):
    corporation, _ = build(app, OCTOBER, NOVEMBER)

    with time_machine.travel(amsterdam(2026, 12, 1, 2, 0), tick=False):
        with caplog.at_level(logging.INFO, logger="rewards.jobs"):
            first = close_previous_month(app)
        second = close_previous_month(app)

    assert first == {"closed": 2, "already_closed": 0, "failed": 0}
    assert second == {"closed": 0, "already_closed": 1, "failed": 0}
    assert status(corporation, OCTOBER) == PeriodStatus.CLOSED
    assert status(corporation, NOVEMBER) == PeriodStatus.CLOSED
    assert "closing the missed months 2026-10 first" in caplog.text
    assert line_count() == 2


def test_scheduler_stops_at_failed_month(app, caplog):
    # Rules only from November, so the close of October fails.
    corporation = create_corporation(code="norules")
    create_rules(create_finance(corporation), effective_from=NOVEMBER.first_day)
    tenant = create_tenant(corporation)
    credit(corporation, tenant, 10, amsterdam(2026, 10, 10))
    credit(corporation, tenant, 10, amsterdam(2026, 11, 10))
    other, _ = build(app, NOVEMBER)

    at_two = time_machine.travel(amsterdam(2026, 12, 1, 2, 0), tick=False)
    with at_two, caplog.at_level(logging.INFO, logger="rewards.jobs"):
        counts = close_previous_month(app)

    assert counts == {"closed": 1, "already_closed": 0, "failed": 1}
    assert status(corporation, OCTOBER) == PeriodStatus.OPEN
    assert status(corporation, NOVEMBER) == PeriodStatus.OPEN
    assert status(other, NOVEMBER) == PeriodStatus.CLOSED
    assert "close of 2026-10 for norules failed" in caplog.text
    assert "later months of norules stay open" in caplog.text
