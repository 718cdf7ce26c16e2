"""A close and approval credits at the same time on PostgreSQL: no deadlock, nothing lost.

Each side runs in its own thread with its own app context, so its own session
and database connection. The tests wait for the database to report the other
side blocked on a lock (bounded polling, no timing assertion) before letting a
side go on, so each interleaving happens every run.
"""

import itertools
import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import select, text

from klusbank.accounts.access import today
from klusbank.db import utcnow
from klusbank.extensions import db
from klusbank.timeutil import Period
from rewards.engine.models import SettlementLine
from rewards.engine.rules import WorkDetails
from rewards.jobs import run_close
from rewards.ledger import services as ledger
from rewards.ledger.models import (
    AccountKind,
    Journal,
    JournalKind,
    PeriodStatus,
    Side,
)
from rewards.ledger.verify import verify_ledger
from tests.factories import create_corporation, create_finance, create_tenant
from tests.rewards.engine.helpers import (
    choose_payout,
    create_rules,
    credit,
    use_work_details,
)

WAIT_SECONDS = 60
_approval_ids = itertools.count(50_000)


class TransactionThread(threading.Thread):
    """Run a function in a thread, keeping its result or exception."""

    def __init__(self, target):
        super().__init__(daemon=True)
        self._target_function = target
        self.result = None
        self.error: BaseException | None = None
        self.backend_pid: int | None = None

    def run(self):
        try:
            self.result = self._target_function(self)
        except Exception as error:  # noqa: BLE001 (the test's asserts report it)
            self.error = error


def wait_until_blocked(side: TransactionThread) -> None:
    """Wait until the side's connection waits for a lock; fail after WAIT_SECONDS."""
    deadline = time.monotonic() + WAIT_SECONDS
    with db.engine.connect().execution_options(
        isolation_level="AUTOCOMMIT"
    ) as connection:
        while time.monotonic() < deadline:
            if side.backend_pid is not None:
                waiting = connection.scalar(
                    text(
                        "SELECT wait_event_type FROM pg_stat_activity WHERE pid = :pid"
                    ),
                    {"pid": side.backend_pid},
                )
                if waiting == "Lock":
                    return
            if not side.is_alive():
                pytest.fail(f"side ended before it blocked: {side.error!r}")
            time.sleep(0.05)
    pytest.fail(f"side did not block on a lock within {WAIT_SECONDS} seconds")


def remember_backend(side: TransactionThread) -> None:
    side.backend_pid = db.session.scalar(text("SELECT pg_backend_pid()"))


def build(app, *, bonus_only: bool = False):
    """A tenant with 40 points in the last month that has ended, in real time.

    With ``bonus_only`` the tenant is on payout below the minimum and the work
    earns a bonus, so the settlement journal moves only the tenant's points:
    it updates that account row without locking it first.
    """
    period = Period.of(today()).previous()
    corporation = create_corporation(code="postings")
    finance = create_finance(corporation)
    tenant = create_tenant(corporation)
    if bonus_only:
        create_rules(
            finance,
            minimum_payout_cents=10_000,
            category_multipliers={"trappenhuis": 1_500},
        )
        choose_payout(tenant, period.starts_at - timedelta(days=40))
    else:
        create_rules(finance)
    _, journal_id = credit(corporation, tenant, 40, period.starts_at)
    if bonus_only:
        use_work_details(
            app,
            {journal_id: WorkDetails(journal_id, "trappenhuis", period.first_day, 60)},
        )
    db.session.commit()
    # Ids read here, because the threads may not load expired attributes.
    return corporation.id, tenant.id, period


def post_credit(corporation_id: int, tenant_id: int, points: int, approved_at):
    return ledger.credit_approved_work(
        corporation_id,
        tenant_id,
        points,
        approval_id=next(_approval_ids),
        approved_at=approved_at,
        memo="approval during the close",
    )


def settlement_line(tenant_id: int, period: Period) -> SettlementLine:
    return db.session.scalar(
        select(SettlementLine).where(
            SettlementLine.tenant_id == tenant_id,
            SettlementLine.period == str(period),
        )
    )


@pytest.fixture
def postgres_only(backend):
    if backend != "postgresql":
        pytest.skip("SQLite allows one writer; the lock order needs PostgreSQL")


@pytest.mark.parametrize("bonus_only", [False, True], ids=["converts", "bonus-only"])
@pytest.mark.parametrize("paused_after", ["lock", "closing", "settle", "snapshot"])
def test_approval_during_close_lands_next_month(
    app, postgres_only, paused_after, bonus_only
):
    """The close is past a step when an approval credit of today arrives.

    Past "settle", the settlement has updated the tenant's account row. Before
    the close took the ledger lock up front, the approval then held that lock
    in shared mode and waited for the row, while the close waited for the lock
    at its snapshot: a deadlock. Past "lock" or "closing", the approval holds
    FOR KEY SHARE on the row for its postings and waits for the ledger lock,
    so the settlement must not lock the row FOR UPDATE.
    """
    corporation_id, tenant_id, period = build(app, bonus_only=bonus_only)
    paused = threading.Event()
    go_on = threading.Event()

    def pause_after_step(step):
        if step == paused_after:
            paused.set()
            go_on.wait(WAIT_SECONDS)

    def close_side(side):
        return run_close(app, corporation_id, period, after_step=pause_after_step)

    def approval_side(side):
        with app.app_context():
            try:
                remember_backend(side)
                journal = post_credit(corporation_id, tenant_id, 7, utcnow())
                db.session.commit()
                return journal.id
            finally:
                db.session.remove()

    closing = TransactionThread(close_side)
    closing.start()
    assert paused.wait(WAIT_SECONDS), closing.error
    approving = TransactionThread(approval_side)
    approving.start()
    wait_until_blocked(approving)
    go_on.set()
    closing.join(WAIT_SECONDS)
    approving.join(WAIT_SECONDS)

    assert closing.error is None
    assert approving.error is None
    assert not closing.result.already_closed
    assert ledger.period_status(corporation_id, period) == PeriodStatus.CLOSED
    line = settlement_line(tenant_id, period)
    assert line.earned_points == 40
    if bonus_only:
        assert line.bonus_points == 20
        assert line.is_below_minimum
        assert line.carried_points == 60
    else:
        assert line.amount_cents == 400
    journal = db.session.get(Journal, approving.result)
    assert journal.period == str(Period.of(today()))
    assert verify_ledger() == []


def test_approval_sealed_before_close_is_settled(app, postgres_only):
    """An approval of the closing month, sealed but not committed, when the close starts.

    The close waits for it at its lock, so the approval's points are in the
    settlement of that month.
    """
    corporation_id, tenant_id, period = build(app)
    sealed = threading.Event()
    go_on = threading.Event()

    def approval_side(side):
        with app.app_context():
            try:
                remember_backend(side)
                # 23:30 on the month's last day, Amsterdam time.
                late_evening = period.ends_at - timedelta(minutes=30)
                journal = post_credit(corporation_id, tenant_id, 25, late_evening)
                db.session.flush()
                sealed.set()
                go_on.wait(WAIT_SECONDS)
                db.session.commit()
                return journal.id
            finally:
                db.session.remove()

    def close_side(side):
        return run_close(app, corporation_id, period)

    approving = TransactionThread(approval_side)
    approving.start()
    assert sealed.wait(WAIT_SECONDS), approving.error
    closing = TransactionThread(close_side)
    closing.start()
    wait_until_close_blocked(closing)
    go_on.set()
    approving.join(WAIT_SECONDS)
    closing.join(WAIT_SECONDS)

    assert approving.error is None
    assert closing.error is None
    assert ledger.period_status(corporation_id, period) == PeriodStatus.CLOSED
    line = settlement_line(tenant_id, period)
    assert line.earned_points == 65
    assert line.converted_points == 65
    assert line.amount_cents == 650
    journal = db.session.get(Journal, approving.result)
    assert journal.period == str(period)
    assert verify_ledger() == []


def wait_until_close_blocked(side: TransactionThread) -> None:
    """Wait until a connection of the test database waits for a lock."""
    deadline = time.monotonic() + WAIT_SECONDS
    with db.engine.connect().execution_options(
        isolation_level="AUTOCOMMIT"
    ) as connection:
        while time.monotonic() < deadline:
            waiting = connection.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
            )
            if waiting:
                return
            if not side.is_alive():
                pytest.fail(f"close ended before it blocked: {side.error!r}")
            time.sleep(0.05)
    pytest.fail(f"close did not block on a lock within {WAIT_SECONDS} seconds")


def build_payee_with_hold(app):
    """A payee with 40 points in the closing month and a pending payout hold."""
    period = Period.of(today()).previous()
    corporation = create_corporation(code="payee")
    create_rules(create_finance(corporation))
    tenant = create_tenant(corporation)
    choose_payout(tenant, period.starts_at - timedelta(days=40))
    credit(corporation, tenant, 40, period.starts_at)
    payable = ledger.tenant_account(
        corporation.id, tenant.id, AccountKind.TENANT_PAYOUT
    )
    expense = ledger.corporation_account(corporation.id, AccountKind.REWARD_EXPENSE)
    ledger.post_journal(
        corporation.id,
        kind=JournalKind.CORRECTION,
        idempotency_key="payee-opening",
        effective_date=period.first_day,
        memo="payout owed from before",
        source_type="test",
        source_id=None,
        lines=[
            ledger.Line(expense, Side.DEBIT, 900),
            ledger.Line(payable, Side.CREDIT, 900),
        ],
    )
    hold = ledger.place_hold(
        payable,
        900,
        idempotency_key="payee-batch",
        memo="payout batch",
        source_type="test",
        source_id=None,
    )
    db.session.commit()
    return corporation.id, tenant.id, hold.id, period


def test_payout_during_close_not_deadlocked(app, postgres_only):
    """A paid payout batch posts while the close holds the ledger lock."""
    corporation_id, tenant_id, hold_id, period = build_payee_with_hold(app)
    paused = threading.Event()
    go_on = threading.Event()

    def pause_after_closing(step):
        if step == "closing":
            paused.set()
            go_on.wait(WAIT_SECONDS)

    def close_side(side):
        return run_close(app, corporation_id, period, after_step=pause_after_closing)

    def payout_side(side):
        with app.app_context():
            try:
                remember_backend(side)
                clearing = ledger.corporation_account(
                    corporation_id, AccountKind.PAYOUT_CLEARING
                )
                journal = ledger.post_hold(
                    hold_id,
                    effective_date=today(),
                    counter_account=clearing,
                    memo="payout batch paid",
                )
                db.session.commit()
                return journal.id
            finally:
                db.session.remove()

    closing = TransactionThread(close_side)
    closing.start()
    assert paused.wait(WAIT_SECONDS), closing.error
    paying = TransactionThread(payout_side)
    paying.start()
    wait_until_blocked(paying)
    go_on.set()
    closing.join(WAIT_SECONDS)
    paying.join(WAIT_SECONDS)

    assert closing.error is None
    assert paying.error is None
    assert settlement_line(tenant_id, period).amount_cents == 400
