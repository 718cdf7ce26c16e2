"""Approval credits: the one-statement path on PostgreSQL and the general one on SQLite.

Both databases run every test, so the two paths are held to the same rows,
replays, rejections and errors.
"""

from datetime import UTC, date, datetime

import pytest
import time_machine
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from klusbank.errors import IdempotencyConflict, InvalidInput, NotFound, RuleViolation
from klusbank.extensions import db
from klusbank.timeutil import Period
from rewards.ledger import services as ledger
from rewards.ledger.idempotency import request_hash
from rewards.ledger.models import (
    Account,
    AccountKind,
    Journal,
    JournalKind,
    JournalStatus,
    Posting,
    Rejection,
    Side,
)
from rewards.ledger.verify import verify_ledger
from tests.factories import create_corporation, create_tenant

APPROVED_AT = datetime(2026, 11, 3, 10, 0, tzinfo=UTC)


def _credit(corporation_id, tenant_id, points=8, *, approval_id=41, memo="Bins"):
    return ledger.credit_approved_work(
        corporation_id,
        tenant_id,
        points,
        approval_id=approval_id,
        approved_at=APPROVED_AT,
        memo=memo,
    )


def _count(model) -> int:
    return db.session.scalar(select(func.count(model.id)))


def _close_november(corporation_id: int) -> None:
    with time_machine.travel(datetime(2026, 12, 2, tzinfo=UTC), tick=False):
        ledger.mark_period_closing(corporation_id, Period(2026, 11))
        ledger.write_period_snapshot(corporation_id, Period(2026, 11))
        ledger.mark_period_closed(corporation_id, Period(2026, 11))
    db.session.commit()


def test_credit_creates_accounts_on_first_use(corporation, tenant):
    assert _count(Account) == 0

    journal = _credit(corporation.id, tenant.id, 8)
    db.session.commit()

    points = ledger.tenant_account(corporation.id, tenant.id, AccountKind.TENANT_POINTS)
    issued = ledger.corporation_account(corporation.id, AccountKind.POINTS_ISSUED)
    assert _count(Account) == 2
    assert points.cached_balance == 8
    assert issued.cached_balance is None
    postings = db.session.scalars(
        select(Posting).where(Posting.journal_id == journal.id).order_by(Posting.id)
    ).all()
    assert [(p.account_id, p.side, p.amount) for p in postings] == [
        (issued.id, Side.DEBIT, 8),
        (points.id, Side.CREDIT, 8),
    ]
    assert verify_ledger(corporation.id) == []


def test_credit_returns_stored_journal(corporation, tenant):
    tenant_id = tenant.id
    journal = _credit(corporation.id, tenant_id, 8)
    returned = {
        column.key: getattr(journal, column.key) for column in Journal.__table__.columns
    }
    db.session.commit()
    db.session.expunge_all()

    stored = db.session.get_one(Journal, returned["id"])
    for column, value in returned.items():
        assert getattr(stored, column) == value, column
    assert stored.status == JournalStatus.POSTED
    assert stored.kind == JournalKind.APPROVAL
    assert stored.source_type == "approval"
    assert stored.request_hash == request_hash(
        {
            "operation": "credit_approved_work",
            "tenant_id": tenant_id,
            "points": 8,
            "approval_id": 41,
            "approved_at": "2026-11-03",
        }
    )


def test_credit_refreshes_loaded_account(corporation, tenant):
    account = ledger.tenant_account(
        corporation.id, tenant.id, AccountKind.TENANT_POINTS
    )
    db.session.commit()
    assert account.cached_balance == 0

    _credit(corporation.id, tenant.id, 8)

    assert account.cached_balance == 8


def test_credit_of_other_corporations_tenant_not_found(corporation, tenant):
    other = create_corporation()
    db.session.commit()

    with pytest.raises(NotFound) as raised:
        _credit(other.id, tenant.id, 8)
    db.session.rollback()

    assert str(tenant.id) in raised.value.message
    assert _count(Account) == 0
    assert _count(Journal) == 0


def test_credit_same_approval_other_points_conflicts(corporation, tenant):
    first = _credit(corporation.id, tenant.id, 8)
    db.session.commit()

    with pytest.raises(IdempotencyConflict) as raised:
        _credit(corporation.id, tenant.id, 9)
    db.session.rollback()

    assert raised.value.code == "idempotency_conflict"
    assert _count(Journal) == 1
    assert db.session.get_one(Journal, first.id).status == JournalStatus.POSTED
    assert (
        ledger.tenant_account(
            corporation.id, tenant.id, AccountKind.TENANT_POINTS
        ).cached_balance
        == 8
    )


def test_credit_same_approval_other_memo_replays(corporation, tenant):
    first = _credit(corporation.id, tenant.id, 8, memo="Bins")
    db.session.commit()

    second = _credit(corporation.id, tenant.id, 8, memo="Bins outside")
    db.session.commit()

    assert second.id == first.id
    assert second.memo == "Bins"
    assert _count(Journal) == 1


def test_credit_rejects_blank_memo(corporation, tenant):
    with pytest.raises(InvalidInput) as raised:
        _credit(corporation.id, tenant.id, 8, memo="  ")
    db.session.rollback()

    assert "memo" in raised.value.errors
    assert _count(Journal) == 0
    assert _count(Account) == 0


def test_credit_into_closed_period_is_stored(corporation, tenant):
    _credit(corporation.id, tenant.id, 8, approval_id=1)
    db.session.commit()
    _close_november(corporation.id)

    with pytest.raises(RuleViolation) as first:
        _credit(corporation.id, tenant.id, 5, approval_id=2)
    db.session.rollback()
    with pytest.raises(RuleViolation) as retry:
        _credit(corporation.id, tenant.id, 5, approval_id=2)
    db.session.rollback()
    with pytest.raises(IdempotencyConflict):
        _credit(corporation.id, tenant.id, 6, approval_id=2)
    db.session.rollback()

    assert first.value.code == "period_closed"
    assert "2026-11" in first.value.message
    assert retry.value.code == "period_closed"
    assert retry.value.message == first.value.message
    assert _count(Rejection) == 1
    assert _count(Journal) == 1
    assert verify_ledger(corporation.id) == []


def test_credit_after_other_path_replays(corporation, tenant):
    # The general path stores an approval under the same key and hash.
    first = _credit(corporation.id, tenant.id, 8)
    db.session.commit()
    points = ledger.tenant_account(corporation.id, tenant.id, AccountKind.TENANT_POINTS)
    issued = ledger.corporation_account(corporation.id, AccountKind.POINTS_ISSUED)
    payload = {
        "operation": "credit_approved_work",
        "tenant_id": tenant.id,
        "points": 8,
        "approval_id": 41,
        "approved_at": "2026-11-03",
    }

    replayed = ledger.post_journal(
        corporation.id,
        kind=JournalKind.APPROVAL,
        idempotency_key="approval:41",
        effective_date=date(2026, 11, 3),
        memo="Bins",
        source_type="approval",
        source_id="41",
        lines=[
            ledger.Line(issued, Side.DEBIT, 8),
            ledger.Line(points, Side.CREDIT, 8),
        ],
        payload=payload,
    )

    assert replayed.id == first.id


def test_credit_function_keeps_database_rules(postgresql_only, corporation, tenant):
    # A caller that skips the service still meets the CHECK and the triggers.
    statement = text(
        "SELECT outcome FROM ledger_credit_approved_work(:corporation, :tenant,"
        " :points, 'approval:9', :hash, :day, 'Bins', '9', now())"
    )
    arguments = {
        "corporation": corporation.id,
        "tenant": tenant.id,
        "hash": "0" * 64,
        "day": date(2026, 11, 3),
    }

    with pytest.raises(IntegrityError) as raised:
        db.session.execute(statement, {**arguments, "points": 0})
    db.session.rollback()

    assert "ck_ledger_postings_amount_positive" in str(raised.value)
    assert _count(Journal) == 0
    outcome = db.session.scalar(statement, {**arguments, "points": 3})
    db.session.commit()
    assert outcome == "posted"
    assert verify_ledger(corporation.id) == []


def test_credit_of_second_tenant_uses_own_account(corporation, tenant):
    neighbour = create_tenant(corporation)
    db.session.commit()

    _credit(corporation.id, tenant.id, 8, approval_id=1)
    _credit(corporation.id, neighbour.id, 3, approval_id=2)
    db.session.commit()

    balances = {
        account.tenant_id: account.cached_balance
        for account in db.session.scalars(
            select(Account).where(Account.kind == AccountKind.TENANT_POINTS)
        )
    }
    assert balances == {tenant.id: 8, neighbour.id: 3}
    assert verify_ledger(corporation.id) == []
