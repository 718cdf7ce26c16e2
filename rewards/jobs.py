"""Scheduled work of the rewards domain: the monthly close and the nightly verify.

``close_period`` is the close itself, a plain function that the scheduler, the
CLI, the finance portal, the demo and the tests all call. It runs inside the
caller's transaction and never commits: the caller commits once, so a close
that fails or is killed at any step leaves nothing behind, and a rerun does the
whole close again with the same result. Exactly once is guaranteed by a lock on
the corporation and month, the period status read under that lock, and the
idempotency keys of the settlement journals, never by the scheduler.
"""

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.cron import CronTrigger
from flask import Flask
from flask_babel import gettext as _
from sqlalchemy import func, select, text

from klusbank.db import utcnow
from klusbank.errors import RuleViolation
from klusbank.extensions import db
from klusbank.housing.models import Corporation
from klusbank.scheduler import run_in_app_context
from klusbank.timeutil import AMSTERDAM, Period
from klusbank.transactions import take_sqlite_write_lock
from rewards.engine import queries
from rewards.engine.models import CloseRun, PayoutMethod
from rewards.engine.plans import MonthPlanner, tenant_batches
from rewards.engine.queries import SettledLine
from rewards.engine.services import settle_tenants
from rewards.ledger import services as ledger
from rewards.ledger.batch import ensure_corporation_accounts, ensure_tenant_accounts
from rewards.ledger.dialect import lock_ledger_for_close
from rewards.ledger.models import AccountKind, Journal, LedgerPeriod, PeriodStatus

logger = logging.getLogger(__name__)

CLOSE_STEPS = ("lock", "closing", "settle", "snapshot", "closed")
SETTLEMENT_COUNTER_ACCOUNTS = (
    AccountKind.POINTS_ISSUED,
    AccountKind.POINTS_SETTLED,
    AccountKind.POINTS_EXPIRED,
    AccountKind.REWARD_EXPENSE,
)
CLOSE_JOB_ID = "rewards.close_previous_month"
VERIFY_JOB_ID = "rewards.verify_ledger"


@dataclass(frozen=True)
class CloseResult:
    """Counts and totals of a close, or of the earlier close of a closed month."""

    corporation_id: int
    period: Period
    already_closed: bool
    tenants_settled: int
    rent_credit_cents: int
    payout_cents: int
    converted_points: int
    expired_points: int
    carried_points: int
    checksum: str


def close_period(
    corporation_id: int,
    period: Period,
    *,
    trigger: str = "job",
    actor_id: int | None = None,
    after_step: Callable[[str], None] | None = None,
) -> CloseResult:
    """Close a month of a corporation: lock, mark closing, settle, snapshot, mark closed.

    Closing a closed month changes nothing and reports it. ``after_step`` is
    called with each name in CLOSE_STEPS once that step is done; tests use it
    to fail the close half-way.
    """
    started_at = utcnow()
    step_done = after_step or (lambda step: None)
    corporation = db.session.get(Corporation, corporation_id)
    if corporation is None:
        raise ValueError(f"corporation {corporation_id} not found")

    lock_period(corporation_id, period)
    step_done("lock")
    status = ledger.period_status(corporation_id, period)
    if status == PeriodStatus.CLOSED:
        logger.info("close of %s for %s: already closed", period, corporation.code)
        return _closed_result(corporation_id, period)
    _check_can_close(corporation_id, period)

    if status == PeriodStatus.OPEN:
        ledger.mark_period_closing(corporation_id, period)
    step_done("closing")

    totals = CloseTotals()
    planner = MonthPlanner(corporation_id, period)
    for tenant_ids in tenant_batches(corporation_id):
        for line in settle_tenants(corporation, planner, tenant_ids):
            totals.add(line)
    step_done("settle")

    checksum = ledger.write_period_snapshot(corporation_id, period)
    step_done("snapshot")

    ledger.mark_period_closed(corporation_id, period)
    run = _record_run(
        corporation_id,
        period,
        totals,
        checksum=checksum,
        trigger=trigger,
        actor_id=actor_id,
        started_at=started_at,
    )
    step_done("closed")
    logger.info(
        "closed %s for %s (%s): %d tenants settled, %d cents rent credit, "
        "%d cents payout, %d points converted, %d expired, %d carried",
        period,
        corporation.code,
        trigger,
        run.tenants_settled,
        run.rent_credit_cents,
        run.payout_cents,
        run.converted_points,
        run.expired_points,
        run.carried_points,
    )
    return _result(run, already_closed=False)


@dataclass
class CloseTotals:
    """Running totals of the settlement lines of a close."""

    tenants_settled: int = 0
    rent_credit_cents: int = 0
    payout_cents: int = 0
    converted_points: int = 0
    expired_points: int = 0
    carried_points: int = 0

    def add(self, line: SettledLine) -> None:
        """Count one tenant's settlement line."""
        self.tenants_settled += 1
        if line.method == PayoutMethod.PAYOUT:
            self.payout_cents += line.amount_cents
        else:
            self.rent_credit_cents += line.amount_cents
        self.converted_points += line.converted_points
        self.expired_points += line.expired_points
        self.carried_points += line.carried_points


def _record_run(
    corporation_id: int,
    period: Period,
    totals: CloseTotals,
    *,
    checksum: str,
    trigger: str,
    actor_id: int | None,
    started_at: datetime,
) -> CloseRun:
    run = CloseRun(
        corporation_id=corporation_id,
        period=str(period),
        trigger=trigger,
        actor_id=actor_id,
        tenants_settled=totals.tenants_settled,
        rent_credit_cents=totals.rent_credit_cents,
        payout_cents=totals.payout_cents,
        converted_points=totals.converted_points,
        expired_points=totals.expired_points,
        carried_points=totals.carried_points,
        checksum=checksum,
        started_at=started_at,
    )
    db.session.add(run)
    db.session.flush()
    return run


def prepare_close(corporation_id: int, period: Period) -> None:
    """Create every ledger account the close of a month will post to.

    Run it in its own transaction before ``close_period``. PostgreSQL does not
    roll back sequence values, so accounts created by a close that then fails
    would get other ids on the rerun, and the snapshot checksum covers account
    ids. With the accounts in place, a failed close leaves no trace.
    """
    if ledger.period_status(corporation_id, period) == PeriodStatus.CLOSED:
        return
    # A close that will be refused creates nothing; close_period checks again
    # under its lock.
    _check_can_close(corporation_id, period)
    ensure_corporation_accounts(corporation_id, SETTLEMENT_COUNTER_ACCOUNTS)
    created = ensure_tenant_accounts(
        corporation_id, (AccountKind.TENANT_RENT_CREDIT, AccountKind.TENANT_PAYOUT)
    )
    logger.info(
        "accounts of corporation %s ready for the close of %s: %d tenant accounts"
        " created",
        corporation_id,
        period,
        created,
    )


def run_close(
    app: Flask, corporation_id: int, period: Period, **options
) -> CloseResult:
    """Prepare the accounts and close a month, each in its own transaction."""
    run_in_app_context(app, prepare_close, corporation_id, period)
    return run_in_app_context(app, close_period, corporation_id, period, **options)


def lock_period(corporation_id: int, period: Period) -> None:
    """Hold the close locks of a corporation and month until the transaction ends.

    PostgreSQL takes two transaction-level advisory locks, in this order: the
    lock of the corporation and month, which lets one close of a month run at
    a time, then the corporation's ledger close lock in exclusive mode. The
    ledger lock waits for postings being sealed to commit, so their points are
    settled, and keeps new postings waiting until the close commits. Taking it
    before the first settlement avoids a deadlock: a posting holds the ledger
    lock in shared mode while its seal updates the tenant's cached balance,
    and the settlements update those same account rows. If the close took the
    ledger lock only at its snapshot, after locking account rows, each would
    wait for the other.

    A posting that locks tenant account rows before its seal (a paid payout,
    a journal over several tenant accounts) takes the ledger lock in shared
    mode before those row locks. It then waits for the close without holding
    a row that the close's settlement updates.

    SQLite has one writer at a time, so the transaction starts with BEGIN
    IMMEDIATE, which takes the write lock before anything is read. A
    transaction that has written already holds that lock.
    """
    connection = db.session.connection()
    dialect = connection.dialect.name
    if dialect == "postgresql":
        connection.execute(
            text("SELECT pg_advisory_xact_lock(:key)"),
            {"key": _lock_key(corporation_id, period)},
        )
        lock_ledger_for_close(db.session, corporation_id)
    elif dialect == "sqlite":
        take_sqlite_write_lock(f"the close of corporation {corporation_id} {period}")


def _lock_key(corporation_id: int, period: Period) -> int:
    digest = hashlib.sha256(f"rewards.close:{corporation_id}:{period}".encode())
    return int.from_bytes(digest.digest()[:8], "big", signed=True)


def _check_can_close(corporation_id: int, period: Period) -> None:
    if utcnow() < period.ends_at:
        raise RuleViolation(
            _(
                "%(period)s has not ended yet; it can be closed from %(day)s.",
                period=str(period),
                day=period.next().first_day.isoformat(),
            ),
            code="period_not_ended",
        )
    problem = close_order_problem(corporation_id, period)
    if problem is not None:
        raise problem


def close_order_problem(corporation_id: int, period: Period) -> RuleViolation | None:
    """Return why months closing in order forbids closing ``period`` now, or None.

    Months close in calendar order. Every month from the corporation's first
    ledger month (its first journal, or the first month it closed) up to the
    month before ``period`` must be closed. A month before a closed month is
    never closed afterwards: the ledger already takes no entries dated in it.
    """
    name = str(period)
    later_closed = db.session.scalar(
        select(func.min(LedgerPeriod.period)).where(
            LedgerPeriod.corporation_id == corporation_id,
            LedgerPeriod.period > name,
            LedgerPeriod.status == PeriodStatus.CLOSED,
        )
    )
    if later_closed is not None:
        return RuleViolation(
            _(
                "%(later)s is closed already and months close in order, so "
                "%(period)s can no longer be closed; the ledger takes no entries "
                "dated in it.",
                later=later_closed,
                period=name,
            ),
            code="later_period_closed",
        )

    first_month = first_ledger_month(corporation_id)
    if first_month is None or first_month >= name:
        return None
    closed = set(
        db.session.scalars(
            select(LedgerPeriod.period).where(
                LedgerPeriod.corporation_id == corporation_id,
                LedgerPeriod.period >= first_month,
                LedgerPeriod.period < name,
                LedgerPeriod.status == PeriodStatus.CLOSED,
            )
        )
    )
    month = Period.parse(first_month)
    while month < period:
        if str(month) not in closed:
            return RuleViolation(
                _(
                    "%(earlier)s is not closed yet and months close in order; "
                    "close %(earlier)s before %(period)s.",
                    earlier=str(month),
                    period=name,
                ),
                code="earlier_period_open",
            )
        month = month.next()
    return None


def first_ledger_month(corporation_id: int) -> str | None:
    """Return the corporation's first month with a journal or a period row (YYYY-MM)."""
    first_journal = db.session.scalar(
        select(func.min(Journal.period)).where(Journal.corporation_id == corporation_id)
    )
    first_period = db.session.scalar(
        select(func.min(LedgerPeriod.period)).where(
            LedgerPeriod.corporation_id == corporation_id
        )
    )
    months = [month for month in (first_journal, first_period) if month is not None]
    return min(months) if months else None


def _result(run: CloseRun, *, already_closed: bool) -> CloseResult:
    return CloseResult(
        corporation_id=run.corporation_id,
        period=Period.parse(run.period),
        already_closed=already_closed,
        tenants_settled=run.tenants_settled,
        rent_credit_cents=run.rent_credit_cents,
        payout_cents=run.payout_cents,
        converted_points=run.converted_points,
        expired_points=run.expired_points,
        carried_points=run.carried_points,
        checksum=run.checksum,
    )


def _closed_result(corporation_id: int, period: Period) -> CloseResult:
    run = queries.close_run(corporation_id, period)
    if run is not None:
        return _result(run, already_closed=True)
    # Closed by the ledger without a close run of the engine.
    return CloseResult(corporation_id, period, True, 0, 0, 0, 0, 0, 0, "")


def months_to_close(corporation_id: int, through: Period) -> list[Period]:
    """Return the months that must close, in order, to close ``through``.

    These are the months after the latest closed one (from the first ledger
    month when none is closed) up to ``through``. A closed ``through`` is
    returned alone, so its close reports that it is already closed.
    """
    latest_closed = db.session.scalar(
        select(func.max(LedgerPeriod.period)).where(
            LedgerPeriod.corporation_id == corporation_id,
            LedgerPeriod.status == PeriodStatus.CLOSED,
        )
    )
    if latest_closed is not None:
        month = Period.parse(latest_closed).next()
    else:
        first_month = first_ledger_month(corporation_id)
        month = Period.parse(first_month) if first_month else through
    months = []
    while month <= through:
        months.append(month)
        month = month.next()
    return months or [through]


def close_previous_month(app: Flask) -> dict[str, int]:
    """Close last month for every corporation, with any missed month before it.

    Each month is closed in its own transactions, oldest first. A failure stops
    that corporation's catch-up, because later months cannot close before it,
    and the other corporations still close. ``closed`` counts closed months.
    """
    period = Period.of(utcnow().astimezone(AMSTERDAM).date()).previous()
    with app.app_context():
        corporations = [
            (corporation_id, code, months_to_close(corporation_id, period))
            for corporation_id, code in db.session.execute(
                select(Corporation.id, Corporation.code)
            ).all()
        ]
        db.session.remove()
    counts = {"closed": 0, "already_closed": 0, "failed": 0}
    for corporation_id, code, months in corporations:
        if len(months) > 1:
            logger.warning(
                "close of %s for %s: closing the missed months %s first",
                period,
                code,
                ", ".join(str(month) for month in months[:-1]),
            )
        for month in months:
            try:
                result = run_close(app, corporation_id, month, trigger="scheduler")
            except Exception:
                # One corporation's failure must not keep the others from closing.
                logger.exception(
                    "close of %s for %s failed; later months of %s stay open",
                    month,
                    code,
                    code,
                )
                counts["failed"] += 1
                break
            counts["already_closed" if result.already_closed else "closed"] += 1
    logger.info(
        "scheduled close of %s: %d closed, %d already closed, %d failed",
        period,
        counts["closed"],
        counts["already_closed"],
        counts["failed"],
    )
    return counts


def verify_ledger_job() -> list[str]:
    """Check every ledger invariant and log the result."""
    from rewards.ledger.verify import verify_ledger

    violations = verify_ledger()
    if violations:
        for violation in violations[:100]:
            logger.error("ledger verify: %s", violation)
        logger.error("ledger verify found %d violations", len(violations))
    else:
        logger.info("ledger verify found no violations")
    return violations


def schedule(scheduler: BaseScheduler, app: Flask) -> None:
    """Add the monthly close and the nightly ledger verify to the scheduler."""
    scheduler.add_job(
        close_previous_month,
        CronTrigger(day=1, hour=2, minute=0, timezone=AMSTERDAM),
        args=[app],
        id=CLOSE_JOB_ID,
        name="Close last month for every corporation",
        replace_existing=True,
    )
    scheduler.add_job(
        run_in_app_context,
        CronTrigger(hour=3, minute=30, timezone=AMSTERDAM),
        args=[app, verify_ledger_job],
        id=VERIFY_JOB_ID,
        name="Verify the rewards ledger",
        replace_existing=True,
    )
