"""Hypothesis drives the ledger services against a plain-Python reference model.

Each step is one request: it calls one service and commits, or rolls back on
any error, as a view or job would. The model predicts every outcome (the
journal, the rejection and its code, or the replay of an earlier result).
After every step the invariants are checked against the database: balances
and caches equal the model, payout payables stay at zero or above, and
``verify_ledger`` finds nothing. A rejected step must leave everything as
it was, which the same invariants show.
"""

from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import pytest
import time_machine
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import case, event, func, select

from klusbank.errors import IdempotencyConflict, RuleViolation
from klusbank.extensions import db
from klusbank.timeutil import Period
from rewards.ledger import services as ledger
from rewards.ledger.models import (
    TENANT_ACCOUNT_KINDS,
    Account,
    AccountKind,
    Journal,
    JournalKind,
    Posting,
    Side,
)
from rewards.ledger.verify import verify_ledger
from tests.factories import create_corporation, create_tenant

NOW = datetime(2027, 3, 15, 12, tzinfo=UTC)
TODAY = date(2027, 3, 15)
DAYS = [
    date(2026, 11, 10),
    date(2026, 12, 10),
    date(2027, 1, 10),
    date(2027, 2, 10),
    TODAY,
]
PAST_PERIODS = [Period(2026, 11), Period(2026, 12), Period(2027, 1), Period(2027, 2)]
TENANTS = 2
OPERATIONS = ("earn", "fund", "payout", "settle")
REASON = "Entered by mistake"

# (owner, kind): owner is a tenant index, or None for the corporation.
AccountKey = tuple[int | None, AccountKind]


class InjectedFailure(Exception):
    """A failure raised by the database driver hook in the middle of a service."""


@dataclass(frozen=True)
class Request:
    """A keyed journal request as a client would send it."""

    key: str
    operation: str
    tenant: int
    amount: int
    day: date


@dataclass
class Model:
    """What the ledger should contain, kept in plain Python."""

    # Debits minus credits per account.
    net: dict[AccountKey, int] = field(default_factory=lambda: defaultdict(int))
    held: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    closed: set[str] = field(default_factory=set)
    # key -> (request, journal id or None, rejection code or None)
    requests: dict[str, tuple[Request, int | None, str | None]] = field(
        default_factory=dict
    )
    journal_nets: dict[int, dict[AccountKey, int]] = field(default_factory=dict)
    journal_days: dict[int, date] = field(default_factory=dict)
    reversals: dict[int, int] = field(default_factory=dict)
    reversal_ids: set[int] = field(default_factory=set)
    # hold key -> (tenant, amount, hold id or None, rejection code or None)
    hold_requests: dict[str, tuple[int, int, int | None, str | None]] = field(
        default_factory=dict
    )
    # hold id -> [tenant, amount, status, journal id]
    holds: dict[int, list] = field(default_factory=dict)

    def available(self, tenant: int) -> int:
        payable = -self.net[(tenant, AccountKind.TENANT_PAYOUT)]
        return payable - self.held[tenant]

    def apply(self, journal_id: int, nets: dict[AccountKey, int], day: date) -> None:
        for account, amount in nets.items():
            self.net[account] += amount
        self.journal_nets[journal_id] = nets
        self.journal_days[journal_id] = day


def lines_of(request: Request) -> list[tuple[AccountKey, Side, int]]:
    """Return the postings of a request, by account key."""
    tenant, amount = request.tenant, request.amount
    if request.operation == "earn":
        return [
            ((None, AccountKind.POINTS_ISSUED), Side.DEBIT, amount),
            ((tenant, AccountKind.TENANT_POINTS), Side.CREDIT, amount),
        ]
    if request.operation == "fund":
        return [
            ((None, AccountKind.REWARD_EXPENSE), Side.DEBIT, amount),
            ((tenant, AccountKind.TENANT_PAYOUT), Side.CREDIT, amount),
        ]
    if request.operation == "payout":
        return [
            ((tenant, AccountKind.TENANT_PAYOUT), Side.DEBIT, amount),
            ((None, AccountKind.PAYOUT_CLEARING), Side.CREDIT, amount),
        ]
    # Settle points into payout at 5 cents a point: two assets in one journal.
    return [
        ((tenant, AccountKind.TENANT_POINTS), Side.DEBIT, amount),
        ((None, AccountKind.POINTS_SETTLED), Side.CREDIT, amount),
        ((None, AccountKind.REWARD_EXPENSE), Side.DEBIT, amount * 5),
        ((tenant, AccountKind.TENANT_PAYOUT), Side.CREDIT, amount * 5),
    ]


def nets_of(lines: list[tuple[AccountKey, Side, int]]) -> dict[AccountKey, int]:
    nets: dict[AccountKey, int] = defaultdict(int)
    for account, side, amount in lines:
        nets[account] += amount if side == Side.DEBIT else -amount
    return dict(nets)


@contextmanager
def failing_statement(prefix: str):
    """Raise InjectedFailure when the service sends a statement starting with prefix."""

    def fail(connection, cursor, statement, parameters, context, executemany):
        if statement.lstrip().startswith(prefix):
            raise InjectedFailure(prefix)

    event.listen(db.engine, "before_cursor_execute", fail)
    try:
        yield
    finally:
        event.remove(db.engine, "before_cursor_execute", fail)


class LedgerMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.corporation = create_corporation()
        tenants = [create_tenant(self.corporation) for _ in range(TENANTS)]
        self.tenant_ids = [tenant.id for tenant in tenants]
        self.account_ids: dict[AccountKey, int] = {}
        for index, tenant_id in enumerate(self.tenant_ids):
            for kind in TENANT_ACCOUNT_KINDS:
                account = ledger.tenant_account(self.corporation.id, tenant_id, kind)
                self.account_ids[(index, kind)] = account.id
        for kind in AccountKind:
            if not kind.is_tenant:
                account = ledger.corporation_account(self.corporation.id, kind)
                self.account_ids[(None, kind)] = account.id
        db.session.commit()
        self.corporation_id = self.corporation.id
        self.model = Model()
        self.key_counter = 0

    # Helpers ------------------------------------------------------------

    def new_key(self, prefix: str) -> str:
        self.key_counter += 1
        return f"{prefix}:{self.key_counter}"

    def account(self, key: AccountKey) -> Account:
        return db.session.get_one(Account, self.account_ids[key])

    def send(self, request: Request) -> Journal:
        lines = [
            ledger.Line(self.account(account), side, amount)
            for account, side, amount in lines_of(request)
        ]
        kind = {
            "earn": JournalKind.APPROVAL,
            "fund": JournalKind.SETTLEMENT,
            "payout": JournalKind.PAYOUT,
            "settle": JournalKind.SETTLEMENT,
        }[request.operation]
        return ledger.post_journal(
            self.corporation_id,
            kind=kind,
            idempotency_key=request.key,
            effective_date=request.day,
            memo=f"{request.operation} {request.amount}",
            source_type="test",
            source_id=request.key,
            lines=lines,
        )

    def predicted_rejection(self, request: Request) -> str | None:
        # A closed period freezes every period before it.
        if any(closed >= str(Period.of(request.day)) for closed in self.model.closed):
            return "period_closed"
        payout_debit = nets_of(lines_of(request)).get(
            (request.tenant, AccountKind.TENANT_PAYOUT), 0
        )
        if payout_debit > 0 and payout_debit > self.model.available(request.tenant):
            return "insufficient_balance"
        return None

    def hold_id_with(self, data, status: str | None = None) -> int:
        ids = sorted(
            hold_id
            for hold_id, (_t, _a, hold_status, _j) in self.model.holds.items()
            if status is None or hold_status == status
        )
        return data.draw(st.sampled_from(ids))

    # Rules --------------------------------------------------------------

    @rule(
        operation=st.sampled_from(OPERATIONS),
        tenant=st.integers(0, TENANTS - 1),
        amount=st.integers(1, 400),
        day=st.sampled_from(DAYS),
    )
    def post(self, operation, tenant, amount, day):
        request = Request(self.new_key(operation), operation, tenant, amount, day)
        expected = self.predicted_rejection(request)

        if expected is not None:
            with pytest.raises(RuleViolation) as raised:
                self.send(request)
            db.session.rollback()
            assert raised.value.code == expected
            self.model.requests[request.key] = (request, None, expected)
            return

        journal = self.send(request)
        db.session.commit()
        self.model.apply(journal.id, nets_of(lines_of(request)), request.day)
        self.model.requests[request.key] = (request, journal.id, None)

    @precondition(lambda self: self.model.requests)
    @rule(data=st.data())
    def retry_same_request(self, data):
        key = data.draw(st.sampled_from(sorted(self.model.requests)))
        request, journal_id, code = self.model.requests[key]

        if code is not None:
            with pytest.raises(RuleViolation) as raised:
                self.send(request)
            db.session.rollback()
            assert raised.value.code == code
            return
        journal = self.send(request)
        db.session.commit()
        assert journal.id == journal_id

    @precondition(lambda self: self.model.requests)
    @rule(data=st.data())
    def retry_changed_request(self, data):
        key = data.draw(st.sampled_from(sorted(self.model.requests)))
        request, _journal_id, _code = self.model.requests[key]
        changed = Request(
            request.key,
            request.operation,
            request.tenant,
            request.amount + 1,
            request.day,
        )

        with pytest.raises(IdempotencyConflict):
            self.send(changed)
        db.session.rollback()

    @precondition(lambda self: self.model.journal_nets)
    @rule(data=st.data())
    def reverse(self, data):
        journal_id = data.draw(st.sampled_from(sorted(self.model.journal_nets)))
        nets = {
            account: -amount
            for account, amount in self.model.journal_nets[journal_id].items()
        }

        if journal_id in self.model.reversal_ids:
            with pytest.raises(RuleViolation) as raised:
                ledger.reverse_journal(journal_id, reason=REASON, actor_id=None)
            db.session.rollback()
            assert raised.value.code == "reversal_of_reversal"
            return
        if journal_id in self.model.reversals:
            reversal = ledger.reverse_journal(journal_id, reason=REASON, actor_id=None)
            db.session.commit()
            assert reversal.id == self.model.reversals[journal_id]
            return
        payout_debits = {
            account[0]: amount
            for account, amount in nets.items()
            if account[1] == AccountKind.TENANT_PAYOUT and amount > 0
        }
        if any(
            amount > self.model.available(tenant)
            for tenant, amount in payout_debits.items()
        ):
            with pytest.raises(RuleViolation) as raised:
                ledger.reverse_journal(journal_id, reason=REASON, actor_id=None)
            db.session.rollback()
            assert raised.value.code == "insufficient_balance"
            return

        reversal = ledger.reverse_journal(journal_id, reason=REASON, actor_id=None)
        db.session.commit()
        day = max(TODAY, self.model.journal_days[journal_id])
        assert reversal.effective_date == day
        self.model.apply(reversal.id, nets, day)
        self.model.reversals[journal_id] = reversal.id
        self.model.reversal_ids.add(reversal.id)

    @rule(tenant=st.integers(0, TENANTS - 1), amount=st.integers(1, 600))
    def hold(self, tenant, amount):
        key = self.new_key("hold")
        account = self.account((tenant, AccountKind.TENANT_PAYOUT))

        if amount > self.model.available(tenant):
            with pytest.raises(RuleViolation) as raised:
                self.place(account, amount, key)
            db.session.rollback()
            assert raised.value.code == "insufficient_balance"
            self.model.hold_requests[key] = (tenant, amount, None, raised.value.code)
            return

        hold = self.place(account, amount, key)
        db.session.commit()
        self.model.held[tenant] += amount
        self.model.hold_requests[key] = (tenant, amount, hold.id, None)
        self.model.holds[hold.id] = [tenant, amount, "pending", None]

    def place(self, account, amount, key):
        return ledger.place_hold(
            account,
            amount,
            idempotency_key=key,
            memo="SEPA batch",
            source_type="payout_batch",
            source_id=key,
        )

    @precondition(lambda self: self.model.hold_requests)
    @rule(data=st.data())
    def retry_hold(self, data):
        key = data.draw(st.sampled_from(sorted(self.model.hold_requests)))
        tenant, amount, hold_id, code = self.model.hold_requests[key]
        account = self.account((tenant, AccountKind.TENANT_PAYOUT))

        if code is not None:
            with pytest.raises(RuleViolation) as raised:
                self.place(account, amount, key)
            db.session.rollback()
            assert raised.value.code == code
            return
        hold = self.place(account, amount, key)
        db.session.commit()
        assert hold.id == hold_id

    @precondition(lambda self: self.model.holds)
    @rule(data=st.data())
    def post_hold(self, data):
        hold_id = self.hold_id_with(data)
        tenant, amount, status, journal_id = self.model.holds[hold_id]
        clearing = self.account((None, AccountKind.PAYOUT_CLEARING))

        if status == "voided":
            with pytest.raises(RuleViolation) as raised:
                ledger.post_hold(
                    hold_id, effective_date=TODAY, counter_account=clearing, memo="Paid"
                )
            db.session.rollback()
            assert raised.value.code == "hold_voided"
            return

        journal = ledger.post_hold(
            hold_id, effective_date=TODAY, counter_account=clearing, memo="Paid"
        )
        db.session.commit()
        if status == "posted":
            assert journal.id == journal_id
            return
        nets = {
            (tenant, AccountKind.TENANT_PAYOUT): amount,
            (None, AccountKind.PAYOUT_CLEARING): -amount,
        }
        self.model.held[tenant] -= amount
        self.model.apply(journal.id, nets, TODAY)
        self.model.holds[hold_id] = [tenant, amount, "posted", journal.id]

    @precondition(lambda self: self.model.holds)
    @rule(data=st.data())
    def void_hold(self, data):
        hold_id = self.hold_id_with(data)
        tenant, amount, status, journal_id = self.model.holds[hold_id]

        if status == "posted":
            with pytest.raises(RuleViolation) as raised:
                ledger.void_hold(hold_id, reason="Cancelled")
            db.session.rollback()
            assert raised.value.code == "hold_posted"
            return

        ledger.void_hold(hold_id, reason="Cancelled")
        db.session.commit()
        if status == "pending":
            self.model.held[tenant] -= amount
            self.model.holds[hold_id] = [tenant, amount, "voided", journal_id]

    @rule(period=st.sampled_from(PAST_PERIODS))
    def close_period(self, period):
        if str(period) in self.model.closed:
            with pytest.raises(RuleViolation) as raised:
                ledger.mark_period_closing(self.corporation_id, period)
            db.session.rollback()
            assert raised.value.code == "period_closed"
            return

        ledger.mark_period_closing(self.corporation_id, period)
        checksum = ledger.write_period_snapshot(self.corporation_id, period)
        ledger.mark_period_closed(self.corporation_id, period)
        db.session.commit()
        assert len(checksum) == 64
        self.model.closed.add(str(period))

    @rule(
        data=st.data(),
        step=st.sampled_from(
            [
                ("earn", "INSERT INTO ledger_postings"),
                ("earn", "UPDATE ledger_journals SET status"),
                ("hold", "INSERT INTO ledger_holds"),
                ("post_hold", "INSERT INTO ledger_hold_resolutions"),
                ("post_hold", "UPDATE ledger_journals SET status"),
                ("void_hold", "INSERT INTO ledger_hold_resolutions"),
            ]
        ),
    )
    def fail_midway(self, data, step):
        operation, prefix = step
        pending = [
            hold_id
            for hold_id, (_t, _a, status, _j) in self.model.holds.items()
            if status == "pending"
        ]
        if operation in ("post_hold", "void_hold") and not pending:
            return
        if operation == "hold" and self.model.available(0) < 1:
            return

        with pytest.raises(InjectedFailure), failing_statement(prefix):
            if operation == "earn":
                self.send(Request(self.new_key("earn"), "earn", 0, 7, TODAY))
            elif operation == "hold":
                self.place(
                    self.account((0, AccountKind.TENANT_PAYOUT)),
                    1,
                    self.new_key("hold"),
                )
            elif operation == "post_hold":
                ledger.post_hold(
                    data.draw(st.sampled_from(pending)),
                    effective_date=TODAY,
                    counter_account=self.account((None, AccountKind.PAYOUT_CLEARING)),
                    memo="Paid",
                )
            else:
                ledger.void_hold(data.draw(st.sampled_from(pending)), reason="x")
        db.session.rollback()

    # Invariants ---------------------------------------------------------

    @invariant()
    def balances_equal_model(self):
        # One query for every account keeps the check cheap enough to run
        # after each step.
        net = case((Posting.side == Side.DEBIT, Posting.amount), else_=-Posting.amount)
        recomputed = dict(
            db.session.execute(
                select(Posting.account_id, func.sum(net))
                .join(Journal, Journal.id == Posting.journal_id)
                .where(Journal.corporation_id == self.corporation_id)
                .group_by(Posting.account_id)
            ).all()
        )
        cached = {
            account_id: (balance, held)
            for account_id, balance, held in db.session.execute(
                select(Account.id, Account.cached_balance, Account.held_amount).where(
                    Account.corporation_id == self.corporation_id
                )
            )
        }
        for key, account_id in self.account_ids.items():
            assert recomputed.get(account_id, 0) == self.model.net[key], key
            if key[0] is not None:
                assert cached[account_id][0] == -self.model.net[key], key

        for tenant in range(TENANTS):
            account_id = self.account_ids[(tenant, AccountKind.TENANT_PAYOUT)]
            assert cached[account_id][1] == self.model.held[tenant]
            assert self.model.available(tenant) >= 0

    @invariant()
    def journal_count_equals_model(self):
        count = db.session.scalar(
            select(func.count(Journal.id)).where(
                Journal.corporation_id == self.corporation_id
            )
        )
        assert count == len(self.model.journal_nets)

    @invariant()
    def ledger_verifies(self):
        assert verify_ledger(self.corporation_id) == []


def test_ledger_matches_reference_model(app):
    with time_machine.travel(NOW, tick=False):
        run_state_machine_as_test(
            LedgerMachine,
            settings=settings(
                max_examples=8,
                stateful_step_count=25,
                deadline=None,
                suppress_health_check=[HealthCheck.too_slow],
            ),
        )
