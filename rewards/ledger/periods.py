"""Monthly ledger periods: open, then closing, then closed with a frozen snapshot.

The close job marks a period closing, posts its settlements, writes the
snapshot of every account's movements and closing balance with a checksum,
and marks the period closed. Writing the snapshot and closing both take the
corporation's close lock (see ``dialect.lock_ledger_for_close``), and closing
checks that the snapshot still equals the postings.
"""

import hashlib
import logging
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import case, delete, func, insert, select, update

from klusbank.db import utcnow
from klusbank.errors import RuleViolation
from klusbank.extensions import db
from klusbank.timeutil import Period
from rewards.ledger.dialect import insert_ignoring_conflicts, lock_ledger_for_close
from rewards.ledger.models import (
    Account,
    Journal,
    JournalStatus,
    LedgerPeriod,
    PeriodSnapshot,
    PeriodStatus,
    Posting,
    Side,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True, order=True)
class SnapshotRow:
    """One account's totals for a period, as stored and as checksummed."""

    account_id: int
    asset: str
    period_debits: int
    period_credits: int
    closing_balance: int


def period_status(corporation_id: int, period: Period) -> PeriodStatus:
    """Return the status of a corporation's period; a period without a row is open."""
    status = db.session.scalar(
        select(LedgerPeriod.status)
        .where(
            LedgerPeriod.corporation_id == corporation_id,
            LedgerPeriod.period == str(period),
        )
        .execution_options(populate_existing=True)
    )
    return status or PeriodStatus.OPEN


def mark_period_closing(corporation_id: int, period: Period) -> None:
    """Mark a period that has ended as closing; a closing period stays closing."""
    if period.ends_at > utcnow():
        raise RuleViolation(
            _("Period %(period)s has not ended yet.", period=str(period)),
            code="period_not_ended",
        )
    db.session.execute(
        insert_ignoring_conflicts(db.session, LedgerPeriod).values(
            corporation_id=corporation_id,
            period=str(period),
            status=PeriodStatus.CLOSING,
            closing_at=utcnow(),
        )
    )
    row = _locked_period(corporation_id, period)
    if row.status == PeriodStatus.CLOSED:
        raise RuleViolation(
            _("Period %(period)s is closed already.", period=str(period)),
            code="period_closed",
        )
    if row.status == PeriodStatus.OPEN:
        db.session.execute(
            update(LedgerPeriod)
            .where(LedgerPeriod.id == row.id)
            .values(status=PeriodStatus.CLOSING, closing_at=utcnow())
        )
    logger.info("ledger period %s of corporation %s closing", period, corporation_id)


def write_period_snapshot(corporation_id: int, period: Period) -> str:
    """Write every account's totals for a closing period and return their checksum."""
    row = _closing_period(corporation_id, period)
    lock_ledger_for_close(db.session, corporation_id)
    rows = compute_snapshot(corporation_id, period)
    checksum = snapshot_checksum(corporation_id, period, rows)

    db.session.execute(
        delete(PeriodSnapshot).where(PeriodSnapshot.ledger_period_id == row.id)
    )
    if rows:
        db.session.execute(
            insert(PeriodSnapshot),
            [
                {
                    "ledger_period_id": row.id,
                    "account_id": snapshot.account_id,
                    "asset": snapshot.asset,
                    "period_debits": snapshot.period_debits,
                    "period_credits": snapshot.period_credits,
                    "closing_balance": snapshot.closing_balance,
                }
                for snapshot in rows
            ],
        )
    db.session.execute(
        update(LedgerPeriod).where(LedgerPeriod.id == row.id).values(checksum=checksum)
    )
    logger.info(
        "ledger snapshot of %s for corporation %s written: %d accounts, checksum %s",
        period,
        corporation_id,
        len(rows),
        checksum,
    )
    return checksum


def mark_period_closed(corporation_id: int, period: Period) -> None:
    """Close a closing period whose snapshot still equals its postings."""
    if period_status(corporation_id, period) == PeriodStatus.CLOSED:
        return
    row = _closing_period(corporation_id, period)
    lock_ledger_for_close(db.session, corporation_id)
    if row.checksum is None:
        raise RuleViolation(
            _(
                "Write the snapshot of %(period)s before closing it.",
                period=str(period),
            ),
            code="snapshot_missing",
        )
    current = snapshot_checksum(
        corporation_id, period, compute_snapshot(corporation_id, period)
    )
    if current != row.checksum or current != stored_snapshot_checksum(row):
        raise RuleViolation(
            _(
                "Entries of %(period)s changed after its snapshot; write it again.",
                period=str(period),
            ),
            code="snapshot_stale",
        )

    db.session.execute(
        update(LedgerPeriod)
        .where(LedgerPeriod.id == row.id)
        .values(status=PeriodStatus.CLOSED, closed_at=utcnow())
    )
    logger.info(
        "ledger period %s of corporation %s closed, checksum %s",
        period,
        corporation_id,
        row.checksum,
    )


def compute_snapshot(corporation_id: int, period: Period) -> list[SnapshotRow]:
    """Return each account's period totals and closing balance from the postings."""
    in_period = Journal.period == str(period)
    debit = Posting.side == Side.DEBIT
    movement = case((debit, Posting.amount), else_=-Posting.amount)
    query = (
        select(
            Account.id,
            Account.asset,
            Account.kind,
            func.sum(case((in_period & debit, Posting.amount), else_=0)),
            func.sum(case((in_period & ~debit, Posting.amount), else_=0)),
            func.sum(movement),
        )
        .join(Posting, Posting.account_id == Account.id)
        .join(Journal, Journal.id == Posting.journal_id)
        .where(
            Account.corporation_id == corporation_id,
            Journal.status == JournalStatus.POSTED,
            Journal.period <= str(period),
        )
        .group_by(Account.id, Account.asset, Account.kind)
        .order_by(Account.id)
    )
    rows = []
    for account_id, asset, kind, debits, credits, debit_balance in db.session.execute(
        query
    ):
        closing = debit_balance if kind.normal_side == Side.DEBIT else -debit_balance
        rows.append(
            SnapshotRow(
                account_id, asset.value, int(debits), int(credits), int(closing)
            )
        )
    return rows


def stored_snapshot_rows(ledger_period: LedgerPeriod) -> list[SnapshotRow]:
    """Return the snapshot rows stored for a period, in account order."""
    query = (
        select(PeriodSnapshot)
        .where(PeriodSnapshot.ledger_period_id == ledger_period.id)
        .order_by(PeriodSnapshot.account_id)
    )
    return [
        SnapshotRow(
            row.account_id,
            row.asset.value,
            row.period_debits,
            row.period_credits,
            row.closing_balance,
        )
        for row in db.session.scalars(query)
    ]


def stored_snapshot_checksum(ledger_period: LedgerPeriod) -> str:
    """Return the checksum of the snapshot rows as stored."""
    return snapshot_checksum(
        ledger_period.corporation_id,
        Period.parse(ledger_period.period),
        stored_snapshot_rows(ledger_period),
    )


def snapshot_checksum(
    corporation_id: int, period: Period, rows: list[SnapshotRow]
) -> str:
    """Return the SHA-256 of a snapshot: one ``|``-separated line per account."""
    lines = [f"klusbank-ledger-snapshot|{corporation_id}|{period}"]
    for row in sorted(rows):
        lines.append(
            f"{row.account_id}|{row.asset}|{row.period_debits}"
            f"|{row.period_credits}|{row.closing_balance}"
        )
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def _locked_period(corporation_id: int, period: Period) -> LedgerPeriod:
    return db.session.scalars(
        select(LedgerPeriod)
        .where(
            LedgerPeriod.corporation_id == corporation_id,
            LedgerPeriod.period == str(period),
        )
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()


def _closing_period(corporation_id: int, period: Period) -> LedgerPeriod:
    row = db.session.scalars(
        select(LedgerPeriod)
        .where(
            LedgerPeriod.corporation_id == corporation_id,
            LedgerPeriod.period == str(period),
        )
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one_or_none()
    if row is None or row.status != PeriodStatus.CLOSING:
        status = row.status.value if row else PeriodStatus.OPEN.value
        raise RuleViolation(
            _(
                "Period %(period)s is %(status)s; mark it closing first.",
                period=str(period),
                status=status,
            ),
            code="period_not_closing",
        )
    return row
