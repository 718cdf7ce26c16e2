"""Holds on tenant accounts and the monthly period close of the ledger."""

from datetime import UTC, date, datetime

import pytest
import time_machine
from sqlalchemy import select

from klusbank.errors import IdempotencyConflict, InvalidInput, NotFound, RuleViolation
from klusbank.extensions import db
from klusbank.timeutil import Period
from rewards.ledger import queries
from rewards.ledger import services as ledger
from rewards.ledger.models import (
    AccountKind,
    HoldStatus,
    JournalKind,
    LedgerPeriod,
    PeriodSnapshot,
    PeriodStatus,
)
from rewards.ledger.verify import verify_ledger
from tests.factories import create_corporation, create_tenant
from tests.rewards.ledger.helpers import credit_points, fund_payout, pay_out

NOV_3 = date(2026, 11, 3)
NOVEMBER = Period(2026, 11)
AFTER_NOVEMBER = datetime(2026, 12, 2, 9, tzinfo=UTC)


@pytest.fixture
def payout_account(corporation, tenant):
    fund_payout(corporation, tenant, 1000, on=NOV_3)
    db.session.commit()
    return ledger.tenant_account(corporation.id, tenant.id, AccountKind.TENANT_PAYOUT)


def _hold(account, amount, key="batch:1:tenant"):
    return ledger.place_hold(
        account,
        amount,
        idempotency_key=key,
        memo="SEPA batch 1",
        source_type="payout_batch",
        source_id="1",
    )


def _clearing(corporation):
    return ledger.corporation_account(corporation.id, AccountKind.PAYOUT_CLEARING)


def test_hold_reduces_available_not_balance(payout_account):
    hold = _hold(payout_account, 600)
    db.session.commit()

    assert hold.status == HoldStatus.PENDING
    assert queries.balance(payout_account.id) == 1000
    assert queries.available_balance(payout_account.id) == 400
    assert queries.pending_hold_total(payout_account.id) == 600


def test_hold_above_available_is_rejected(payout_account):
    _hold(payout_account, 600, key="h1")
    db.session.commit()

    with pytest.raises(RuleViolation) as raised:
        _hold(payout_account, 401, key="h2")
    db.session.rollback()

    assert raised.value.code == "insufficient_balance"
    assert queries.available_balance(payout_account.id) == 400


def test_hold_rejection_is_replayed(corporation, tenant, payout_account):
    with pytest.raises(RuleViolation):
        _hold(payout_account, 1001, key="h1")
    db.session.rollback()
    fund_payout(corporation, tenant, 500, on=NOV_3)
    db.session.commit()

    with pytest.raises(RuleViolation) as replayed:
        _hold(payout_account, 1001, key="h1")

    assert replayed.value.code == "insufficient_balance"


def test_hold_same_key_returns_same_hold(payout_account):
    first = _hold(payout_account, 600)
    db.session.commit()

    again = _hold(payout_account, 600)

    assert again.id == first.id
    assert queries.available_balance(payout_account.id) == 400


def test_hold_same_key_other_amount_conflicts(payout_account):
    _hold(payout_account, 600)
    db.session.commit()

    with pytest.raises(IdempotencyConflict):
        _hold(payout_account, 500)


def test_hold_on_counter_account_is_rejected(corporation, payout_account):
    with pytest.raises(InvalidInput) as raised:
        _hold(_clearing(corporation), 5)

    assert "account" in raised.value.errors


def test_payout_cannot_spend_held_amount(corporation, tenant, payout_account):
    _hold(payout_account, 600)
    db.session.commit()

    with pytest.raises(RuleViolation):
        pay_out(corporation, tenant, 401, on=NOV_3)
    db.session.rollback()

    assert queries.balance(payout_account.id) == 1000


def test_post_hold_moves_amount_once(corporation, payout_account):
    hold = _hold(payout_account, 600)
    db.session.commit()

    journal = ledger.post_hold(
        hold.id,
        effective_date=NOV_3,
        counter_account=_clearing(corporation),
        memo="Paid",
    )
    db.session.commit()
    again = ledger.post_hold(
        hold.id,
        effective_date=NOV_3,
        counter_account=_clearing(corporation),
        memo="Paid",
    )

    assert again.id == journal.id
    assert journal.kind == JournalKind.PAYOUT
    assert journal.source_type == "payout_batch"
    assert db.session.get(type(hold), hold.id).status == HoldStatus.POSTED
    assert queries.balance(payout_account.id) == 400
    assert queries.available_balance(payout_account.id) == 400
    assert queries.balance(_clearing(corporation).id) == 600
    assert verify_ledger() == []


def test_void_hold_releases_amount(payout_account):
    hold = _hold(payout_account, 600)
    db.session.commit()

    voided = ledger.void_hold(hold.id, reason="IBAN rejected")
    db.session.commit()
    again = ledger.void_hold(hold.id, reason="IBAN rejected")

    assert voided.status == HoldStatus.VOIDED
    assert again.status == HoldStatus.VOIDED
    assert queries.available_balance(payout_account.id) == 1000
    assert verify_ledger() == []


def test_voided_hold_cannot_be_posted(corporation, payout_account):
    hold = _hold(payout_account, 600)
    ledger.void_hold(hold.id, reason="Cancelled")
    db.session.commit()

    with pytest.raises(RuleViolation) as raised:
        ledger.post_hold(
            hold.id,
            effective_date=NOV_3,
            counter_account=_clearing(corporation),
            memo="x",
        )

    assert raised.value.code == "hold_voided"


def test_posted_hold_cannot_be_voided(corporation, payout_account):
    hold = _hold(payout_account, 600)
    ledger.post_hold(
        hold.id, effective_date=NOV_3, counter_account=_clearing(corporation), memo="x"
    )
    db.session.commit()

    with pytest.raises(RuleViolation) as raised:
        ledger.void_hold(hold.id, reason="Too late")

    assert raised.value.code == "hold_posted"


def test_unknown_hold_not_found(app):
    with pytest.raises(NotFound):
        ledger.void_hold(424242, reason="x")


def test_post_hold_needs_matching_counter_account(corporation, payout_account):
    hold = _hold(payout_account, 600)
    points_account = ledger.corporation_account(
        corporation.id, AccountKind.POINTS_ISSUED
    )

    with pytest.raises(InvalidInput):
        ledger.post_hold(
            hold.id, effective_date=NOV_3, counter_account=points_account, memo="x"
        )


def test_new_period_is_open(corporation):
    assert ledger.period_status(corporation.id, NOVEMBER) == PeriodStatus.OPEN


@time_machine.travel(datetime(2026, 11, 20, tzinfo=UTC), tick=False)
def test_running_period_cannot_close(corporation):
    with pytest.raises(RuleViolation) as raised:
        ledger.mark_period_closing(corporation.id, NOVEMBER)

    assert raised.value.code == "period_not_ended"


@time_machine.travel(AFTER_NOVEMBER, tick=False)
def test_close_writes_snapshot_and_freezes(corporation, tenant):
    credit_points(corporation, tenant, 7, on=NOV_3)
    credit_points(corporation, tenant, 4, on=date(2026, 12, 1))
    db.session.commit()

    ledger.mark_period_closing(corporation.id, NOVEMBER)
    checksum = ledger.write_period_snapshot(corporation.id, NOVEMBER)
    ledger.mark_period_closed(corporation.id, NOVEMBER)
    db.session.commit()
    row = db.session.scalars(select(LedgerPeriod)).one()
    points = ledger.tenant_account(corporation.id, tenant.id, AccountKind.TENANT_POINTS)
    snapshot = db.session.scalars(
        select(PeriodSnapshot).where(PeriodSnapshot.account_id == points.id)
    ).one()

    assert ledger.period_status(corporation.id, NOVEMBER) == PeriodStatus.CLOSED
    assert len(checksum) == 64
    assert row.checksum == checksum
    assert snapshot.period_credits == 7
    assert snapshot.period_debits == 0
    assert snapshot.closing_balance == 7
    assert verify_ledger() == []


@time_machine.travel(AFTER_NOVEMBER, tick=False)
def test_posting_into_closed_period_is_rejected(corporation, tenant):
    ledger.mark_period_closing(corporation.id, NOVEMBER)
    ledger.write_period_snapshot(corporation.id, NOVEMBER)
    ledger.mark_period_closed(corporation.id, NOVEMBER)
    db.session.commit()

    with pytest.raises(RuleViolation) as raised:
        credit_points(corporation, tenant, 7, on=NOV_3)
    db.session.rollback()

    assert raised.value.code == "period_closed"
    assert (
        queries.tenant_balances(corporation.id, tenant.id)[AccountKind.TENANT_POINTS]
        == 0
    )


@time_machine.travel(AFTER_NOVEMBER, tick=False)
def test_close_freezes_earlier_periods(corporation, tenant):
    ledger.mark_period_closing(corporation.id, NOVEMBER)
    ledger.write_period_snapshot(corporation.id, NOVEMBER)
    ledger.mark_period_closed(corporation.id, NOVEMBER)
    db.session.commit()

    with pytest.raises(RuleViolation) as raised:
        credit_points(corporation, tenant, 7, on=date(2026, 10, 31))
    db.session.rollback()

    assert raised.value.code == "period_closed"
    assert ledger.period_status(corporation.id, Period(2026, 10)) == PeriodStatus.OPEN


@time_machine.travel(AFTER_NOVEMBER, tick=False)
def test_reversal_of_closed_period_lands_today(corporation, tenant):
    original = credit_points(corporation, tenant, 7, on=NOV_3)
    ledger.mark_period_closing(corporation.id, NOVEMBER)
    ledger.write_period_snapshot(corporation.id, NOVEMBER)
    ledger.mark_period_closed(corporation.id, NOVEMBER)
    db.session.commit()

    reversal = ledger.reverse_journal(original.id, reason="Not done", actor_id=None)
    db.session.commit()

    assert reversal.period == "2026-12"
    assert verify_ledger() == []


@time_machine.travel(AFTER_NOVEMBER, tick=False)
def test_closing_period_accepts_settlements(corporation, tenant):
    ledger.mark_period_closing(corporation.id, NOVEMBER)

    credit_points(corporation, tenant, 2, on=date(2026, 11, 30))

    assert ledger.period_status(corporation.id, NOVEMBER) == PeriodStatus.CLOSING


@time_machine.travel(AFTER_NOVEMBER, tick=False)
def test_close_needs_snapshot(corporation):
    ledger.mark_period_closing(corporation.id, NOVEMBER)

    with pytest.raises(RuleViolation) as raised:
        ledger.mark_period_closed(corporation.id, NOVEMBER)

    assert raised.value.code == "snapshot_missing"


@time_machine.travel(AFTER_NOVEMBER, tick=False)
def test_close_rejects_stale_snapshot(corporation, tenant):
    ledger.mark_period_closing(corporation.id, NOVEMBER)
    ledger.write_period_snapshot(corporation.id, NOVEMBER)
    credit_points(corporation, tenant, 2, on=date(2026, 11, 30))

    with pytest.raises(RuleViolation) as raised:
        ledger.mark_period_closed(corporation.id, NOVEMBER)

    assert raised.value.code == "snapshot_stale"


@time_machine.travel(AFTER_NOVEMBER, tick=False)
def test_snapshot_is_rewritten_while_closing(corporation, tenant):
    ledger.mark_period_closing(corporation.id, NOVEMBER)
    first = ledger.write_period_snapshot(corporation.id, NOVEMBER)
    credit_points(corporation, tenant, 2, on=date(2026, 11, 30))

    second = ledger.write_period_snapshot(corporation.id, NOVEMBER)
    ledger.mark_period_closed(corporation.id, NOVEMBER)

    assert second != first
    assert ledger.period_status(corporation.id, NOVEMBER) == PeriodStatus.CLOSED


def test_snapshot_needs_closing_period(corporation):
    with pytest.raises(RuleViolation) as raised:
        ledger.write_period_snapshot(corporation.id, NOVEMBER)

    assert raised.value.code == "period_not_closing"


@time_machine.travel(AFTER_NOVEMBER, tick=False)
def test_close_twice_changes_nothing(corporation):
    ledger.mark_period_closing(corporation.id, NOVEMBER)
    ledger.mark_period_closing(corporation.id, NOVEMBER)
    ledger.write_period_snapshot(corporation.id, NOVEMBER)
    ledger.mark_period_closed(corporation.id, NOVEMBER)
    db.session.commit()

    ledger.mark_period_closed(corporation.id, NOVEMBER)

    assert ledger.period_status(corporation.id, NOVEMBER) == PeriodStatus.CLOSED
    with pytest.raises(RuleViolation):
        ledger.mark_period_closing(corporation.id, NOVEMBER)


@time_machine.travel(AFTER_NOVEMBER, tick=False)
def test_periods_are_per_corporation(corporation, tenant):
    other = create_corporation()
    other_tenant = create_tenant(other)
    ledger.mark_period_closing(corporation.id, NOVEMBER)
    ledger.write_period_snapshot(corporation.id, NOVEMBER)
    ledger.mark_period_closed(corporation.id, NOVEMBER)
    db.session.commit()

    credit_points(other, other_tenant, 3, on=NOV_3)
    db.session.commit()

    assert ledger.period_status(other.id, NOVEMBER) == PeriodStatus.OPEN
