"""Journals posted in batches: replays, conflicts, rejections and the snapshot checksum."""

import hashlib
from datetime import UTC, date, datetime

import pytest
import time_machine
from sqlalchemy import func, select

from klusbank.errors import IdempotencyConflict, InvalidInput, RuleViolation
from klusbank.extensions import db
from klusbank.timeutil import Period
from rewards.ledger import services as ledger
from rewards.ledger.batch import BatchEntry, ensure_tenant_accounts, post_journals
from rewards.ledger.journals import JournalRequest
from rewards.ledger.models import Account, AccountKind, Journal, JournalKind, Side
from rewards.ledger.periods import SnapshotRow, snapshot_checksum
from rewards.ledger.queries import balance
from tests.factories import create_tenant
from tests.rewards.ledger.helpers import credit_points

NOVEMBER = Period(2026, 11)


def settlement_entry(corporation, tenant, points: int, *, key: str, on: date):
    """Return a batch entry that moves points from a tenant to points settled."""
    request = JournalRequest(
        corporation_id=corporation.id,
        kind=JournalKind.SETTLEMENT,
        idempotency_key=key,
        effective_date=on,
        memo="Settlement",
        source_type="settlement",
        source_id=None,
        lines=[
            ledger.Line(
                ledger.tenant_account(
                    corporation.id, tenant.id, AccountKind.TENANT_POINTS
                ),
                Side.DEBIT,
                points,
            ),
            ledger.Line(
                ledger.corporation_account(corporation.id, AccountKind.POINTS_SETTLED),
                Side.CREDIT,
                points,
            ),
        ],
    )
    return BatchEntry(request, {"tenant_id": tenant.id, "points": points})


def journal_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Journal))


def test_batch_posts_each_journal(app, corporation, tenant):
    other = create_tenant(corporation)
    credit_points(corporation, tenant, 50, on=date(2026, 11, 3))
    credit_points(corporation, other, 70, on=date(2026, 11, 3))
    entries = [
        settlement_entry(corporation, tenant, 40, key="batch:1", on=date(2026, 11, 30)),
        settlement_entry(corporation, other, 70, key="batch:2", on=date(2026, 11, 30)),
    ]

    ids = post_journals(corporation.id, entries)
    points = ledger.tenant_account(corporation.id, tenant.id, AccountKind.TENANT_POINTS)

    assert sorted(ids) == ["batch:1", "batch:2"]
    assert db.session.get(Journal, ids["batch:1"]).status.value == "posted"
    assert balance(points.id) == 10
    assert balance(points.id, as_of=date(2026, 11, 29)) == 50


def test_batch_replay_returns_first_journals(app, corporation, tenant):
    credit_points(corporation, tenant, 50, on=date(2026, 11, 3))
    entry = settlement_entry(
        corporation, tenant, 40, key="batch:1", on=date(2026, 11, 30)
    )
    first = post_journals(corporation.id, [entry])
    count = journal_count()

    again = post_journals(corporation.id, [entry])

    assert again == first
    assert journal_count() == count


def test_batch_changed_payload_conflicts(app, corporation, tenant):
    credit_points(corporation, tenant, 50, on=date(2026, 11, 3))
    post_journals(
        corporation.id,
        [
            settlement_entry(
                corporation, tenant, 40, key="batch:1", on=date(2026, 11, 30)
            )
        ],
    )

    with pytest.raises(IdempotencyConflict):
        post_journals(
            corporation.id,
            [
                settlement_entry(
                    corporation, tenant, 30, key="batch:1", on=date(2026, 11, 30)
                )
            ],
        )


def test_batch_unbalanced_journal_writes_nothing(app, corporation, tenant):
    credit_points(corporation, tenant, 50, on=date(2026, 11, 3))
    good = settlement_entry(
        corporation, tenant, 10, key="batch:1", on=date(2026, 11, 30)
    )
    bad = settlement_entry(
        corporation, tenant, 10, key="batch:2", on=date(2026, 11, 30)
    )
    bad.request.lines[1] = ledger.Line(bad.request.lines[1].account, Side.CREDIT, 9)
    count = journal_count()

    with pytest.raises(InvalidInput) as error:
        post_journals(corporation.id, [good, bad])

    assert "lines" in error.value.errors
    assert journal_count() == count


def test_batch_rejects_closed_period(app, corporation, tenant):
    credit_points(corporation, tenant, 50, on=date(2026, 11, 3))
    with time_machine.travel(datetime(2026, 12, 2, tzinfo=UTC), tick=False):
        ledger.mark_period_closing(corporation.id, NOVEMBER)
        ledger.write_period_snapshot(corporation.id, NOVEMBER)
        ledger.mark_period_closed(corporation.id, NOVEMBER)
    count = journal_count()

    with pytest.raises(RuleViolation) as error:
        post_journals(
            corporation.id,
            [
                settlement_entry(
                    corporation, tenant, 40, key="batch:1", on=date(2026, 11, 30)
                )
            ],
        )

    assert error.value.code == "period_closed"
    assert journal_count() == count


def test_batch_rejects_payout_debit(app, corporation, tenant):
    entry = settlement_entry(
        corporation, tenant, 40, key="batch:1", on=date(2026, 11, 30)
    )
    payout = ledger.tenant_account(corporation.id, tenant.id, AccountKind.TENANT_PAYOUT)
    expense = ledger.corporation_account(corporation.id, AccountKind.REWARD_EXPENSE)
    entry.request.lines[:] = [
        ledger.Line(payout, Side.DEBIT, 40),
        ledger.Line(expense, Side.CREDIT, 40),
    ]

    with pytest.raises(ValueError, match="record_journal"):
        post_journals(corporation.id, [entry])


def test_ensure_tenant_accounts_skips_existing(app, corporation, tenant):
    other = create_tenant(corporation)
    credit_points(corporation, tenant, 5, on=date(2026, 11, 3))
    credit_points(corporation, other, 5, on=date(2026, 11, 3))
    ledger.tenant_account(corporation.id, tenant.id, AccountKind.TENANT_PAYOUT)

    created = ensure_tenant_accounts(
        corporation.id, (AccountKind.TENANT_RENT_CREDIT, AccountKind.TENANT_PAYOUT)
    )
    again = ensure_tenant_accounts(
        corporation.id, (AccountKind.TENANT_RENT_CREDIT, AccountKind.TENANT_PAYOUT)
    )
    kinds = db.session.scalars(
        select(Account.kind).where(Account.tenant_id == other.id).order_by(Account.id)
    ).all()

    assert created == 3
    assert again == 0
    assert kinds == [
        AccountKind.TENANT_POINTS,
        AccountKind.TENANT_RENT_CREDIT,
        AccountKind.TENANT_PAYOUT,
    ]


def test_snapshot_checksum_format():
    rows = [SnapshotRow(3, "points", 10, 0, 10), SnapshotRow(7, "eur", 0, 250, 250)]
    text = "klusbank-ledger-snapshot|5|2026-11\n3|points|10|0|10\n7|eur|0|250|250"

    assert (
        snapshot_checksum(5, NOVEMBER, rows)
        == hashlib.sha256(text.encode()).hexdigest()
    )
    assert snapshot_checksum(5, NOVEMBER, iter(rows)) == snapshot_checksum(
        5, NOVEMBER, rows
    )


def test_snapshot_checksum_needs_account_order():
    rows = [SnapshotRow(7, "eur", 0, 250, 250), SnapshotRow(3, "points", 10, 0, 10)]

    with pytest.raises(ValueError, match="account order"):
        snapshot_checksum(5, NOVEMBER, rows)
