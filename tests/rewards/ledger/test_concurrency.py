"""Concurrent writers on PostgreSQL: each request takes effect exactly once.

Worker processes, each with its own app and connections, post journals over a
few tenant accounts and the corporation's busy counter-accounts. Every request
is sent twice at the same moment with its key, every hold is posted and voided
at the same moment, and every journal is then reversed twice at once.
Afterwards each key has one effect, each journal at most one reversal, every
asset sums to zero, no payout payable is below zero and the caches equal the
postings.
"""

import multiprocessing
import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import case, func, select
from sqlalchemy.exc import OperationalError

from klusbank import create_app
from klusbank.errors import RuleViolation
from klusbank.extensions import db
from rewards.ledger import services as ledger
from rewards.ledger.models import (
    Account,
    AccountKind,
    Hold,
    HoldResolution,
    Journal,
    JournalKind,
    Posting,
    Side,
)
from rewards.ledger.verify import verify_ledger
from tests.factories import create_corporation, create_tenant

WORKERS = 4
TENANTS = 5
REQUESTS = 90
START_CENTS = 1500
DAY = date(2026, 11, 3)
APPROVED_AT = datetime(2026, 11, 3, 10, 0, tzinfo=UTC)
MAX_ATTEMPTS = 5  # a deadlock victim is retried, as a client would

pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class Task:
    """One request for a worker: an operation, its key and its arguments."""

    operation: str
    key: str
    corporation_id: int
    tenant_id: int = 0
    amount: int = 0
    target_id: int = 0  # the journal or hold the operation acts on


_worker_app = None


def _start_worker(config: dict) -> None:
    global _worker_app
    _worker_app = create_app(config)


def _run(task: Task) -> tuple[str, object]:
    """Run one task in its own transaction; return ('ok', id) or ('rejected', code)."""
    with _worker_app.app_context():
        for _attempt in range(MAX_ATTEMPTS):
            try:
                result = _perform(task)
                db.session.commit()
                return ("ok", result)
            except RuleViolation as rejection:
                db.session.rollback()
                return ("rejected", rejection.code)
            except OperationalError as error:
                db.session.rollback()
                if getattr(error.orig, "sqlstate", None) != "40P01":
                    raise
            finally:
                db.session.remove()
        return ("deadlocked", None)


def _perform(task: Task) -> int:
    corporation_id = task.corporation_id
    if task.operation == "reverse":
        return ledger.reverse_journal(task.target_id, reason="Undo", actor_id=None).id
    if task.operation == "post_hold":
        clearing = ledger.corporation_account(
            corporation_id, AccountKind.PAYOUT_CLEARING
        )
        journal = ledger.post_hold(
            task.target_id, effective_date=DAY, counter_account=clearing, memo="Paid"
        )
        return journal.id
    if task.operation == "void_hold":
        return ledger.void_hold(task.target_id, reason="Cancelled").id
    if task.operation == "approve":
        return ledger.credit_approved_work(
            corporation_id,
            task.tenant_id,
            task.amount,
            approval_id=task.target_id,
            approved_at=APPROVED_AT,
            memo="Approved",
        ).id
    payout = ledger.tenant_account(
        corporation_id, task.tenant_id, AccountKind.TENANT_PAYOUT
    )
    if task.operation == "hold":
        return ledger.place_hold(
            payout,
            task.amount,
            idempotency_key=task.key,
            memo="Batch",
            source_type="payout_batch",
            source_id=task.key,
        ).id
    if task.operation == "earn":
        lines = [
            ledger.Line(
                ledger.corporation_account(corporation_id, AccountKind.POINTS_ISSUED),
                Side.DEBIT,
                task.amount,
            ),
            ledger.Line(
                ledger.tenant_account(
                    corporation_id, task.tenant_id, AccountKind.TENANT_POINTS
                ),
                Side.CREDIT,
                task.amount,
            ),
        ]
        kind = JournalKind.APPROVAL
    elif task.operation == "fund":
        lines = [
            ledger.Line(
                ledger.corporation_account(corporation_id, AccountKind.REWARD_EXPENSE),
                Side.DEBIT,
                task.amount,
            ),
            ledger.Line(payout, Side.CREDIT, task.amount),
        ]
        kind = JournalKind.SETTLEMENT
    else:
        lines = [
            ledger.Line(payout, Side.DEBIT, task.amount),
            ledger.Line(
                ledger.corporation_account(corporation_id, AccountKind.PAYOUT_CLEARING),
                Side.CREDIT,
                task.amount,
            ),
        ]
        kind = JournalKind.PAYOUT
    return ledger.post_journal(
        corporation_id,
        kind=kind,
        idempotency_key=task.key,
        effective_date=DAY,
        memo=task.operation,
        source_type="test",
        source_id=task.key,
        lines=lines,
    ).id


def _twice_at_once(pool, tasks: list[Task]) -> dict[str, list[tuple[str, object]]]:
    """Send every task twice, the two copies next to each other, and group results."""
    submissions = [task for task in tasks for _copy in range(2)]
    results = pool.map(_run, submissions, chunksize=1)
    grouped: dict[str, list[tuple[str, object]]] = defaultdict(list)
    for task, result in zip(submissions, results, strict=True):
        grouped[task.key].append(result)
    return grouped


@pytest.fixture
def seeded(app):
    corporation = create_corporation()
    tenants = [create_tenant(corporation) for _ in range(TENANTS)]
    for tenant in tenants:
        for kind in (AccountKind.TENANT_POINTS, AccountKind.TENANT_PAYOUT):
            ledger.tenant_account(corporation.id, tenant.id, kind)
        ledger.post_journal(
            corporation.id,
            kind=JournalKind.SETTLEMENT,
            idempotency_key=f"start:{tenant.id}",
            effective_date=DAY,
            memo="Opening payable",
            source_type="test",
            source_id=None,
            lines=[
                ledger.Line(
                    ledger.corporation_account(
                        corporation.id, AccountKind.REWARD_EXPENSE
                    ),
                    Side.DEBIT,
                    START_CENTS,
                ),
                ledger.Line(
                    ledger.tenant_account(
                        corporation.id, tenant.id, AccountKind.TENANT_PAYOUT
                    ),
                    Side.CREDIT,
                    START_CENTS,
                ),
            ],
        )
    for kind in AccountKind:
        if not kind.is_tenant:
            ledger.corporation_account(corporation.id, kind)
    db.session.commit()
    return corporation, [tenant.id for tenant in tenants]


def test_concurrent_requests_take_effect_once(postgresql_only, app, app_config, seeded):
    # SQLite lets one writer in at a time, so only PostgreSQL runs writers at once.
    corporation, tenant_ids = seeded
    rng = random.Random(20261103)
    tasks = [
        _task(operation, index, corporation.id, rng, tenant_ids)
        for index, operation in enumerate(
            rng.choice(["earn", "approve", "fund", "payout", "payout", "hold"])
            for _ in range(REQUESTS)
        )
    ]

    context = multiprocessing.get_context("spawn")
    with context.Pool(
        WORKERS, initializer=_start_worker, initargs=(app_config,)
    ) as pool:
        first_round = _twice_at_once(pool, tasks)
        hold_ids = [
            result[1]
            for task in tasks
            if task.operation == "hold"
            for result in first_round[task.key][:1]
            if result[0] == "ok"
        ]
        resolutions = pool.map(
            _run,
            [
                Task(
                    operation,
                    f"{operation}:{hold_id}",
                    corporation.id,
                    target_id=hold_id,
                )
                for hold_id in hold_ids
                for operation in ("post_hold", "void_hold")
            ],
            chunksize=1,
        )
        journal_ids = sorted(
            db.session.scalars(
                select(Journal.id).where(Journal.corporation_id == corporation.id)
            )
        )
        reversals = _twice_at_once(
            pool,
            [
                Task(
                    "reverse",
                    f"reverse:{journal_id}",
                    corporation.id,
                    target_id=journal_id,
                )
                for journal_id in journal_ids
            ],
        )
    db.session.expire_all()

    for key, results in first_round.items():
        assert results[0] == results[1], (key, results)
        assert results[0][0] in ("ok", "rejected"), (key, results)
    for key, results in reversals.items():
        # A rejected reversal is not stored, so the copy that runs second is
        # judged again and may pass; two that pass return the same reversal.
        assert {outcome for outcome, _ in results} <= {"ok", "rejected"}, key
        assert len({value for outcome, value in results if outcome == "ok"}) <= 1, key
    assert all(outcome in ("ok", "rejected") for outcome, _ in resolutions)

    _assert_one_effect_per_key(corporation.id, tasks, first_round)
    _assert_one_resolution_per_hold(hold_ids, resolutions)
    _assert_one_reversal_per_journal(corporation.id, journal_ids, reversals)
    _assert_assets_sum_to_zero(corporation.id)
    _assert_payables_not_negative(corporation.id)
    assert verify_ledger(corporation.id) == []


def _task(operation, index, corporation_id, rng, tenant_ids) -> Task:
    points = operation in ("earn", "approve")
    return Task(
        operation=operation,
        # An approval credit is keyed by its approval: approval:<id>.
        key=f"{'approval' if operation == 'approve' else operation}:{index}",
        corporation_id=corporation_id,
        tenant_id=rng.choice(tenant_ids),
        amount=rng.randint(1, 50) if points else rng.randint(100, 700),
        target_id=index,
    )


def test_first_credits_create_one_account_each(postgresql_only, app, app_config):
    # No tenant has an account yet, so both copies of each first credit try to
    # create the tenant's account, and every credit tries the corporation's.
    corporation = create_corporation()
    tenant_ids = [create_tenant(corporation).id for _ in range(TENANTS)]
    db.session.commit()
    tasks = [
        Task(
            "approve",
            f"approval:{index}",
            corporation.id,
            tenant_id=tenant_id,
            amount=index + 1,
            target_id=index,
        )
        for index, tenant_id in enumerate(tenant_ids * 2)
    ]

    context = multiprocessing.get_context("spawn")
    with context.Pool(
        WORKERS, initializer=_start_worker, initargs=(app_config,)
    ) as pool:
        results = _twice_at_once(pool, tasks)
    db.session.expire_all()

    for key, copies in results.items():
        assert copies[0] == copies[1], (key, copies)
        assert copies[0][0] == "ok", (key, copies)
    _assert_one_effect_per_key(corporation.id, tasks, results)
    accounts = db.session.execute(
        select(Account.tenant_id, Account.kind, func.count(Account.id))
        .where(Account.corporation_id == corporation.id)
        .group_by(Account.tenant_id, Account.kind)
    ).all()
    assert sorted((row[0] or 0, row[2]) for row in accounts) == sorted(
        [(0, 1)] + [(tenant_id, 1) for tenant_id in tenant_ids]
    )
    balances = dict(
        db.session.execute(
            select(Account.tenant_id, Account.cached_balance).where(
                Account.corporation_id == corporation.id,
                Account.kind == AccountKind.TENANT_POINTS,
            )
        ).all()
    )
    expected = {tenant_id: 0 for tenant_id in tenant_ids}
    for task in tasks:
        expected[task.tenant_id] += task.amount
    assert balances == expected
    _assert_assets_sum_to_zero(corporation.id)
    assert verify_ledger(corporation.id) == []


def _assert_one_effect_per_key(corporation_id, tasks, results):
    keys = [
        key
        for key, count in db.session.execute(
            select(Journal.idempotency_key, func.count(Journal.id))
            .where(Journal.corporation_id == corporation_id)
            .group_by(Journal.idempotency_key)
        )
        if count != 1
    ]
    assert keys == []
    journal_keys = set(
        db.session.scalars(
            select(Journal.idempotency_key).where(
                Journal.corporation_id == corporation_id
            )
        )
    )
    hold_keys = set(db.session.scalars(select(Hold.idempotency_key)))
    for task in tasks:
        stored = task.key in (hold_keys if task.operation == "hold" else journal_keys)
        succeeded = results[task.key][0][0] == "ok"
        assert stored == succeeded, task.key


def _assert_one_resolution_per_hold(hold_ids, resolutions):
    counts = dict(
        db.session.execute(
            select(HoldResolution.hold_id, func.count(HoldResolution.id))
            .where(HoldResolution.hold_id.in_(hold_ids))
            .group_by(HoldResolution.hold_id)
        ).all()
    )
    assert counts == dict.fromkeys(hold_ids, 1)
    winners = [outcome for outcome, _ in resolutions if outcome == "ok"]
    assert len(winners) == len(hold_ids)


def _assert_one_reversal_per_journal(corporation_id, journal_ids, reversals):
    reversed_ids = db.session.scalars(
        select(Journal.reverses_journal_id).where(
            Journal.corporation_id == corporation_id,
            Journal.reverses_journal_id.is_not(None),
        )
    ).all()
    assert len(reversed_ids) == len(set(reversed_ids))
    for journal_id in journal_ids:
        for outcome, reversal_id in reversals[f"reverse:{journal_id}"]:
            if outcome == "ok":
                reversal = db.session.get_one(Journal, reversal_id)
                assert reversal.reverses_journal_id == journal_id


def _assert_assets_sum_to_zero(corporation_id):
    net = case((Posting.side == Side.DEBIT, Posting.amount), else_=-Posting.amount)
    totals = dict(
        db.session.execute(
            select(Posting.asset, func.sum(net))
            .join(Journal, Journal.id == Posting.journal_id)
            .where(Journal.corporation_id == corporation_id)
            .group_by(Posting.asset)
        ).all()
    )
    assert set(totals.values()) == {0}


def _assert_payables_not_negative(corporation_id):
    lowest = db.session.scalar(
        select(func.min(Account.cached_balance - Account.held_amount)).where(
            Account.corporation_id == corporation_id,
            Account.kind == AccountKind.TENANT_PAYOUT,
        )
    )
    assert lowest >= 0
