"""Monthly ledger periods: open, then closing, then closed with a frozen snapshot.

The close job marks a period closing, posts its settlements, writes the
snapshot of every account's movements and closing balance with a checksum,
and marks the period closed. Writing the snapshot and closing both take the
corporation's close lock (see ``dialect.lock_ledger_for_close``), and closing
checks that the snapshot still equals the postings.
"""

import hashlib
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import (
    Select,
    String,
    case,
    delete,
    func,
    insert,
    literal,
    select,
    type_coerce,
    update,
)

from klusbank.db import utcnow
from klusbank.errors import RuleViolation
from klusbank.extensions import db
from klusbank.timeutil import Period
from rewards.ledger.dialect import insert_ignoring_conflicts, lock_ledger_for_close
from rewards.ledger.models import (
    Account,
    AccountKind,
    Journal,
    JournalStatus,
    LedgerPeriod,
    PeriodSnapshot,
    PeriodStatus,
    Posting,
    Side,
)

logger = logging.getLogger(__name__)

# Snapshot rows fetched at a time when they are streamed into the checksum.
SNAPSHOT_FETCH_ROWS = 1_000
DEBIT_NORMAL_KINDS = tuple(
    kind for kind in AccountKind if kind.normal_side == Side.DEBIT
)


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
    """Write every account's totals for a closing period and return their checksum.

    One INSERT ... SELECT computes and stores the rows, and the checksum is
    then streamed from the stored rows, so memory does not grow with the
    number of accounts.
    """
    row = _closing_period(corporation_id, period)
    lock_ledger_for_close(db.session, corporation_id)

    db.session.execute(
        delete(PeriodSnapshot).where(PeriodSnapshot.ledger_period_id == row.id)
    )
    db.session.execute(
        insert(PeriodSnapshot).from_select(
            [
                "ledger_period_id",
                "account_id",
                "asset",
                "period_debits",
                "period_credits",
                "closing_balance",
            ],
            _snapshot_query(corporation_id, period, ledger_period_id=row.id),
        )
    )
    checksum = stored_snapshot_checksum(row)
    db.session.execute(
        update(LedgerPeriod).where(LedgerPeriod.id == row.id).values(checksum=checksum)
    )
    logger.info(
        "ledger snapshot of %s for corporation %s written: %d accounts, checksum %s",
        period,
        corporation_id,
        db.session.scalar(
            select(func.count()).where(PeriodSnapshot.ledger_period_id == row.id)
        ),
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


def compute_snapshot(corporation_id: int, period: Period) -> Iterator[SnapshotRow]:
    """Yield each account's period totals and closing balance from the postings.

    Rows come in account order, streamed from the database.
    """
    query = _snapshot_query(corporation_id, period).execution_options(
        yield_per=SNAPSHOT_FETCH_ROWS
    )
    for account_id, asset, debits, credits, closing in db.session.execute(query):
        yield SnapshotRow(account_id, asset, int(debits), int(credits), int(closing))


def _snapshot_query(
    corporation_id: int, period: Period, *, ledger_period_id: int | None = None
) -> Select:
    """Return the select of every account's snapshot row, in account order.

    With ``ledger_period_id`` the rows start with it, as stored.
    """
    in_period = Journal.period == str(period)
    debit = Posting.side == Side.DEBIT
    debit_balance = func.sum(case((debit, Posting.amount), else_=-Posting.amount))
    closing = case(
        (Account.kind.in_(DEBIT_NORMAL_KINDS), debit_balance), else_=-debit_balance
    )
    columns = [
        Account.id,
        # Read as text: the snapshot stores and hashes the asset's value.
        type_coerce(Account.asset, String),
        func.sum(case((in_period & debit, Posting.amount), else_=0)),
        func.sum(case((in_period & ~debit, Posting.amount), else_=0)),
        closing,
    ]
    if ledger_period_id is not None:
        columns.insert(0, literal(ledger_period_id))
    return (
        select(*columns)
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


def stored_snapshot_rows(ledger_period: LedgerPeriod) -> Iterator[SnapshotRow]:
    """Yield the snapshot rows stored for a period, in account order."""
    query = (
        select(
            PeriodSnapshot.account_id,
            type_coerce(PeriodSnapshot.asset, String),
            PeriodSnapshot.period_debits,
            PeriodSnapshot.period_credits,
            PeriodSnapshot.closing_balance,
        )
        .where(PeriodSnapshot.ledger_period_id == ledger_period.id)
        .order_by(PeriodSnapshot.account_id)
        .execution_options(yield_per=SNAPSHOT_FETCH_ROWS)
    )
    for account_id, asset, debits, credits, closing in db.session.execute(query):
        yield SnapshotRow(account_id, asset, debits, credits, closing)


def stored_snapshot_checksum(ledger_period: LedgerPeriod) -> str:
    """Return the checksum of the snapshot rows as stored."""
    return snapshot_checksum(
        ledger_period.corporation_id,
        Period.parse(ledger_period.period),
        stored_snapshot_rows(ledger_period),
    )


def snapshot_checksum(
    corporation_id: int, period: Period, rows: Iterable[SnapshotRow]
) -> str:
    """Return the SHA-256 of a snapshot: one ``|``-separated line per account.

    The hashed text is a header line and then one line per row in account
    order, joined by newlines. Rows are hashed as they come, so they must
    come in account order; raises ValueError otherwise.
    """
    digest = hashlib.sha256(
        f"klusbank-ledger-snapshot|{corporation_id}|{period}".encode()
    )
    previous = None
    for row in rows:
        if previous is not None and row.account_id <= previous:
            raise ValueError(
                f"snapshot row of account {row.account_id} after account {previous};"
                " pass the rows in account order"
            )
        previous = row.account_id
        digest.update(
            f"\n{row.account_id}|{row.asset}|{row.period_debits}"
            f"|{row.period_credits}|{row.closing_balance}".encode()
        )
    return digest.hexdigest()


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
