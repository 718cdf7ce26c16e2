"""The monthly close: exactly once, restartable after a failure at any step."""

from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import func, select, text
from sqlalchemy.exc import DatabaseError

from klusbank import create_app
from klusbank.errors import RuleViolation
from klusbank.extensions import db
from klusbank.timeutil import Period
from rewards.engine import services
from rewards.engine.models import CloseRun, SettlementKind, SettlementLine
from rewards.jobs import CLOSE_STEPS
from rewards.ledger import services as ledger
from rewards.ledger.models import (
    Account,
    Journal,
    LedgerPeriod,
    PeriodSnapshot,
    PeriodStatus,
)
from rewards.ledger.verify import verify_ledger
from tests.conftest import build_test_config
from tests.factories import create_corporation, create_finance, create_tenant
from tests.rewards.engine.helpers import (
    amsterdam,
    choose_payout,
    close,
    create_rules,
    credit,
)

NOVEMBER = Period(2026, 11)


def build_november(app):
    """Two tenants with work in November, one on payout; return the corporation."""
    corporation = create_corporation(code="close")
    finance = create_finance(corporation)
    create_rules(finance, payout_cap_month_cents=2_000, minimum_payout_cents=500)
    first = create_tenant(corporation, name="Anna")
    second = create_tenant(corporation, name="Bram")
    choose_payout(second, amsterdam(2026, 11, 2))
    credit(corporation, first, 120, amsterdam(2026, 11, 5))
    credit(corporation, second, 300, amsterdam(2026, 11, 12))
    credit(corporation, second, 45, amsterdam(2026, 11, 30, 23, 30))
    db.session.commit()
    return corporation


def counts():
    return (
        db.session.scalar(select(func.count()).select_from(Journal)),
        db.session.scalar(select(func.count()).select_from(SettlementLine)),
        db.session.scalar(select(func.count()).select_from(CloseRun)),
    )


def snapshot_rows(corporation_id: int, period: Period):
    query = (
        select(
            PeriodSnapshot.account_id,
            PeriodSnapshot.period_debits,
            PeriodSnapshot.period_credits,
            PeriodSnapshot.closing_balance,
        )
        .join(LedgerPeriod)
        .where(
            LedgerPeriod.corporation_id == corporation_id,
            LedgerPeriod.period == str(period),
        )
        .order_by(PeriodSnapshot.account_id)
    )
    return [tuple(row) for row in db.session.execute(query)]


def test_close_settles_and_freezes_month(app):
    corporation = build_november(app)

    result = close(app, corporation, NOVEMBER)

    assert not result.already_closed
    assert result.tenants_settled == 2
    assert result.rent_credit_cents == 1_200
    assert result.payout_cents == 2_000
    assert result.carried_points == 145
    assert ledger.period_status(corporation.id, NOVEMBER) == PeriodStatus.CLOSED
    assert len(result.checksum) == 64


def test_close_twice_changes_nothing(app):
    corporation = build_november(app)
    first = close(app, corporation, NOVEMBER)
    before = counts()
    rows = snapshot_rows(corporation.id, NOVEMBER)

    second = close(app, corporation, NOVEMBER, at=NOVEMBER.ends_at + timedelta(days=3))

    assert second.already_closed
    assert second.checksum == first.checksum
    assert second.tenants_settled == first.tenants_settled
    assert counts() == before
    assert snapshot_rows(corporation.id, NOVEMBER) == rows


def reference_close(database_factory, tmp_path):
    """Build November on a second fresh database and close it without failures."""
    url = database_factory.copy_of_template()
    other = create_app(build_test_config(url, tmp_path))
    try:
        with other.app_context():
            corporation = build_november(other)
            result = close(other, corporation, NOVEMBER)
            rows = snapshot_rows(corporation.id, NOVEMBER)
            db.session.remove()
            db.engine.dispose()
        return result, rows
    finally:
        database_factory.drop(url)


class InjectedFailure(Exception):
    """Stands for the process dying after a step of the close."""


@pytest.mark.parametrize("failing_step", CLOSE_STEPS)
def test_failure_after_step_then_rerun(app, database_factory, tmp_path, failing_step):
    expected, expected_rows = reference_close(database_factory, tmp_path / "ref")
    corporation = build_november(app)
    before = counts()

    def fail_after(step):
        if step == failing_step:
            raise InjectedFailure(step)

    with pytest.raises(InjectedFailure):
        close(app, corporation, NOVEMBER, after_step=fail_after)
    db.session.expire_all()

    assert counts() == before
    assert ledger.period_status(corporation.id, NOVEMBER) == PeriodStatus.OPEN

    result = close(app, corporation, NOVEMBER)

    assert not result.already_closed
    assert result.checksum == expected.checksum
    assert result.tenants_settled == expected.tenants_settled
    assert snapshot_rows(corporation.id, NOVEMBER) == expected_rows


def test_close_refuses_month_not_ended(app):
    corporation = build_november(app)

    accounts_before = db.session.scalar(select(func.count()).select_from(Account))

    with pytest.raises(RuleViolation) as error:
        close(app, corporation, NOVEMBER, at=amsterdam(2026, 11, 30, 23, 59))

    assert error.value.code == "period_not_ended"
    db.session.expire_all()
    accounts_after = db.session.scalar(select(func.count()).select_from(Account))
    assert accounts_after == accounts_before


def test_close_refuses_when_earlier_month_open(app):
    corporation = build_november(app)
    tenant = create_tenant(corporation)
    credit(corporation, tenant, 10, amsterdam(2026, 10, 20))
    db.session.commit()

    with pytest.raises(RuleViolation) as error:
        close(app, corporation, NOVEMBER)

    assert error.value.code == "earlier_period_open"


def test_closed_month_refuses_new_rules(app):
    corporation = build_november(app)
    close(app, corporation, NOVEMBER)
    finance = create_finance(corporation)

    with (
        time_machine.travel(amsterdam(2026, 12, 3), tick=False),
        pytest.raises(RuleViolation) as error,
    ):
        create_rules(finance, effective_from=NOVEMBER.first_day)

    assert error.value.code == "period_closed"
    assert "effective_from" in error.value.errors


def test_closed_month_refuses_late_approval(app):
    corporation = build_november(app)
    close(app, corporation, NOVEMBER)
    tenant = create_tenant(corporation)

    with pytest.raises(RuleViolation):
        credit(corporation, tenant, 10, amsterdam(2026, 11, 29))


def test_correction_goes_into_next_open_month(app):
    corporation = build_november(app)
    close(app, corporation, NOVEMBER)
    finance = create_finance(corporation)
    original = db.session.scalar(
        select(SettlementLine).where(SettlementLine.amount_cents == 1_200)
    )
    checksum = db.session.scalar(
        select(LedgerPeriod.checksum).where(LedgerPeriod.period == "2026-11")
    )

    with time_machine.travel(amsterdam(2026, 12, 3), tick=False):
        correction = services.record_correction(
            finance,
            original.id,
            amount_cents=150,
            reason="chore of 10 November was worth 15 more points",
            idempotency_key="test-1",
        )
        again = services.record_correction(
            finance,
            original.id,
            amount_cents=150,
            reason="chore of 10 November was worth 15 more points",
            idempotency_key="test-1",
        )
    journal = db.session.get(Journal, correction.journal_id)

    assert correction.period == "2026-12"
    assert correction.corrects_line_id == original.id
    assert correction.kind == SettlementKind.CORRECTION
    assert again.id == correction.id
    assert journal.period == "2026-12"
    assert ledger.period_status(corporation.id, NOVEMBER) == PeriodStatus.CLOSED
    assert verify_ledger(corporation.id) == []
    assert (
        db.session.scalar(
            select(LedgerPeriod.checksum).where(LedgerPeriod.period == "2026-11")
        )
        == checksum
    )


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE reward_settlement_lines SET amount_cents = amount_cents + 1",
        "DELETE FROM reward_settlement_lines",
        "UPDATE reward_close_runs SET checksum = 'x'",
        "DELETE FROM reward_close_runs",
        "UPDATE reward_rule_versions SET payout_rate_cents = 99",
        "DELETE FROM reward_rule_versions",
    ],
)
def test_settlement_records_are_append_only(app, statement):
    corporation = build_november(app)
    close(app, corporation, NOVEMBER)

    with pytest.raises(DatabaseError) as error:
        db.session.execute(text(statement))
    db.session.rollback()

    assert "not allowed" in str(error.value)
    assert db.session.scalar(select(func.count()).select_from(SettlementLine)) == 2
