"""Recompute every ledger invariant from the postings and list each violation.

The triggers keep these invariants on every write. This check finds what a
write with the triggers disabled, a restore from a bad backup or a bug in a
trigger left behind. Each message names the journal (id and key), account or
period concerned.
"""

import logging

from sqlalchemy import and_, case, func, select, union_all
from sqlalchemy.orm import aliased

from klusbank.extensions import db
from klusbank.timeutil import Period
from rewards.ledger.models import (
    Account,
    AccountKind,
    Hold,
    HoldResolution,
    Journal,
    JournalStatus,
    LedgerPeriod,
    PeriodStatus,
    Posting,
    ResolutionKind,
    Side,
)
from rewards.ledger.periods import (
    compute_snapshot,
    snapshot_checksum,
    stored_snapshot_rows,
)

logger = logging.getLogger(__name__)

_DEBIT_MINUS_CREDIT = case(
    (Posting.side == Side.DEBIT, Posting.amount), else_=-Posting.amount
)
_CREDIT_MINUS_DEBIT = -_DEBIT_MINUS_CREDIT


def verify_ledger(corporation_id: int | None = None) -> list[str]:
    """Return a message for each broken ledger invariant; an empty list means sound."""
    violations: list[str] = []
    for check in (
        _unbalanced_journals,
        _journals_without_postings,
        _drafts_left_behind,
        _mismatched_postings,
        _unbalanced_assets,
        _bad_reversals,
        _stale_caches,
        _negative_payables,
        _bad_hold_postings,
        _stale_snapshots,
    ):
        violations.extend(check(corporation_id))
    logger.info(
        "ledger verified for corporation %s: %d violation(s)",
        corporation_id if corporation_id is not None else "all",
        len(violations),
    )
    return violations


def _in_scope(query, corporation_id: int | None, column=Journal.corporation_id):
    if corporation_id is None:
        return query
    return query.where(column == corporation_id)


def _name(journal_id: int, key: str) -> str:
    return f"journal {journal_id} (key {key!r})"


def _unbalanced_journals(corporation_id: int | None) -> list[str]:
    query = (
        select(
            Journal.id,
            Journal.idempotency_key,
            Posting.asset,
            func.sum(_DEBIT_MINUS_CREDIT),
        )
        .join(Posting, Posting.journal_id == Journal.id)
        .where(Journal.status == JournalStatus.POSTED)
        .group_by(Journal.id, Journal.idempotency_key, Posting.asset)
        .having(func.sum(_DEBIT_MINUS_CREDIT) != 0)
        .order_by(Journal.id)
    )
    return [
        f"{_name(journal_id, key)} does not balance in {asset.value}:"
        f" debits exceed credits by {difference}"
        for journal_id, key, asset, difference in db.session.execute(
            _in_scope(query, corporation_id)
        )
    ]


def _journals_without_postings(corporation_id: int | None) -> list[str]:
    query = (
        select(Journal.id, Journal.idempotency_key)
        .outerjoin(Posting, Posting.journal_id == Journal.id)
        .where(Journal.status == JournalStatus.POSTED, Posting.id.is_(None))
        .order_by(Journal.id)
    )
    return [
        f"{_name(journal_id, key)} is posted without postings"
        for journal_id, key in db.session.execute(_in_scope(query, corporation_id))
    ]


def _drafts_left_behind(corporation_id: int | None) -> list[str]:
    # Services seal a draft in the transaction that inserts it, so a committed
    # draft comes from a failed raw write.
    query = (
        select(Journal.id, Journal.idempotency_key)
        .where(Journal.status == JournalStatus.DRAFT)
        .order_by(Journal.id)
    )
    return [
        f"{_name(journal_id, key)} is a draft that was never sealed"
        for journal_id, key in db.session.execute(_in_scope(query, corporation_id))
    ]


def _mismatched_postings(corporation_id: int | None) -> list[str]:
    query = (
        select(Journal.id, Journal.idempotency_key, Posting.id, Account.id)
        .join(Posting, Posting.journal_id == Journal.id)
        .join(Account, Account.id == Posting.account_id)
        .where(
            (Posting.asset != Account.asset)
            | (Account.corporation_id != Journal.corporation_id)
            | (Posting.amount <= 0)
        )
        .order_by(Posting.id)
    )
    return [
        f"{_name(journal_id, key)}: posting {posting_id} does not fit account"
        f" {account_id} (asset, corporation or amount)"
        for journal_id, key, posting_id, account_id in db.session.execute(
            _in_scope(query, corporation_id)
        )
    ]


def _unbalanced_assets(corporation_id: int | None) -> list[str]:
    query = (
        select(Journal.corporation_id, Posting.asset, func.sum(_DEBIT_MINUS_CREDIT))
        .join(Posting, Posting.journal_id == Journal.id)
        .where(Journal.status == JournalStatus.POSTED)
        .group_by(Journal.corporation_id, Posting.asset)
        .having(func.sum(_DEBIT_MINUS_CREDIT) != 0)
    )
    return [
        f"corporation {corporation}: {asset.value} does not sum to zero"
        f" (debits exceed credits by {difference})"
        for corporation, asset, difference in db.session.execute(
            _in_scope(query, corporation_id)
        )
    ]


def _bad_reversals(corporation_id: int | None) -> list[str]:
    # A reversal mirrors its original when, per account, the two nets add up to 0.
    reversal = aliased(Journal)
    is_posted_reversal = and_(
        reversal.reverses_journal_id.is_not(None),
        reversal.status == JournalStatus.POSTED,
    )
    own = (
        select(
            reversal.id.label("reversal_id"),
            Posting.account_id,
            _DEBIT_MINUS_CREDIT.label("amount"),
        )
        .join(Posting, Posting.journal_id == reversal.id)
        .where(is_posted_reversal)
    )
    original = (
        select(reversal.id, Posting.account_id, _DEBIT_MINUS_CREDIT)
        .join(Posting, Posting.journal_id == reversal.reverses_journal_id)
        .where(is_posted_reversal)
    )
    if corporation_id is not None:
        own = own.where(reversal.corporation_id == corporation_id)
        original = original.where(reversal.corporation_id == corporation_id)
    combined = union_all(own, original).subquery()
    mismatched = (
        select(combined.c.reversal_id)
        .group_by(combined.c.reversal_id, combined.c.account_id)
        .having(func.sum(combined.c.amount) != 0)
    )
    query = (
        select(Journal.id, Journal.idempotency_key, Journal.reverses_journal_id)
        .where(Journal.id.in_(mismatched))
        .order_by(Journal.id)
    )
    return [
        f"{_name(journal_id, key)} does not mirror journal {original_id},"
        " which it reverses"
        for journal_id, key, original_id in db.session.execute(query)
    ]


def _stale_caches(corporation_id: int | None) -> list[str]:
    posted = (
        select(Posting.account_id, func.sum(_CREDIT_MINUS_DEBIT).label("balance"))
        .join(Journal, Journal.id == Posting.journal_id)
        .where(Journal.status == JournalStatus.POSTED)
        .group_by(Posting.account_id)
        .subquery()
    )
    pending = (
        select(Hold.account_id, func.sum(Hold.amount).label("held"))
        .outerjoin(HoldResolution, HoldResolution.hold_id == Hold.id)
        .where(HoldResolution.id.is_(None))
        .group_by(Hold.account_id)
        .subquery()
    )
    query = (
        select(
            Account.id,
            Account.tenant_id,
            Account.kind,
            Account.cached_balance,
            Account.held_amount,
            func.coalesce(posted.c.balance, 0),
            func.coalesce(pending.c.held, 0),
        )
        .outerjoin(posted, posted.c.account_id == Account.id)
        .outerjoin(pending, pending.c.account_id == Account.id)
        .where(
            Account.tenant_id.is_not(None),
            (
                func.coalesce(Account.cached_balance, -1)
                != func.coalesce(posted.c.balance, 0)
            )
            | (
                func.coalesce(Account.held_amount, -1)
                != func.coalesce(pending.c.held, 0)
            ),
        )
        .order_by(Account.id)
    )
    return [
        f"account {account_id} ({kind.value} of tenant {tenant_id}): cached balance"
        f" {cached} and held {held} differ from postings {balance} and holds {holds}"
        for account_id, tenant_id, kind, cached, held, balance, holds in db.session.execute(
            _in_scope(query, corporation_id, Account.corporation_id)
        )
    ]


def _negative_payables(corporation_id: int | None) -> list[str]:
    query = (
        select(
            Account.id, Account.tenant_id, Account.cached_balance, Account.held_amount
        )
        .where(
            Account.kind == AccountKind.TENANT_PAYOUT,
            Account.cached_balance - Account.held_amount < 0,
        )
        .order_by(Account.id)
    )
    return [
        f"account {account_id} (payout of tenant {tenant_id}) is below zero:"
        f" balance {cached}, held {held}"
        for account_id, tenant_id, cached, held in db.session.execute(
            _in_scope(query, corporation_id, Account.corporation_id)
        )
    ]


def _bad_hold_postings(corporation_id: int | None) -> list[str]:
    debit = aliased(Posting)
    query = (
        select(Hold.id, HoldResolution.journal_id, Journal.status, debit.id)
        .join(HoldResolution, HoldResolution.hold_id == Hold.id)
        .outerjoin(Journal, Journal.id == HoldResolution.journal_id)
        .outerjoin(
            debit,
            and_(
                debit.journal_id == HoldResolution.journal_id,
                debit.account_id == Hold.account_id,
                debit.side == Side.DEBIT,
                debit.amount == Hold.amount,
            ),
        )
        .where(
            HoldResolution.kind == ResolutionKind.POSTED,
            (Journal.status != JournalStatus.POSTED) | debit.id.is_(None),
        )
        .order_by(Hold.id)
    )
    return [
        f"hold {hold_id} is marked posted but journal {journal_id} does not post it"
        for hold_id, journal_id, _status, _posting in db.session.execute(
            _in_scope(query, corporation_id, Hold.corporation_id)
        )
    ]


def _stale_snapshots(corporation_id: int | None) -> list[str]:
    query = (
        select(LedgerPeriod)
        .where(LedgerPeriod.status == PeriodStatus.CLOSED)
        .order_by(LedgerPeriod.corporation_id, LedgerPeriod.period)
    )
    violations = []
    for ledger_period in db.session.scalars(
        _in_scope(query, corporation_id, LedgerPeriod.corporation_id)
    ):
        violations.extend(_snapshot_differences(ledger_period))
    return violations


def _snapshot_differences(ledger_period: LedgerPeriod) -> list[str]:
    corporation_id = ledger_period.corporation_id
    period = Period.parse(ledger_period.period)
    label = f"period {period} of corporation {corporation_id}"
    stored = {row.account_id: row for row in stored_snapshot_rows(ledger_period)}
    current = {row.account_id: row for row in compute_snapshot(corporation_id, period)}
    violations = []
    for account_id in sorted(stored.keys() | current.keys()):
        if stored.get(account_id) != current.get(account_id):
            journals = _journals_of_account_in_period(account_id, ledger_period)
            violations.append(
                f"{label}: snapshot of account {account_id} is {stored.get(account_id)}"
                f" but postings give {current.get(account_id)}; journals in the"
                f" period on that account: {journals}"
            )
    checksum = snapshot_checksum(corporation_id, period, list(stored.values()))
    if checksum != ledger_period.checksum:
        violations.append(
            f"{label}: stored checksum {ledger_period.checksum} differs from the"
            f" checksum of its snapshot rows {checksum}"
        )
    return violations


def _journals_of_account_in_period(account_id: int, ledger_period: LedgerPeriod) -> str:
    rows = db.session.execute(
        select(Journal.id, Journal.idempotency_key)
        .join(Posting, Posting.journal_id == Journal.id)
        .where(
            Posting.account_id == account_id,
            Journal.period == ledger_period.period,
        )
        .distinct()
        .order_by(Journal.id)
        .limit(20)
    )
    names = [_name(journal_id, key) for journal_id, key in rows]
    return ", ".join(names) or "none"
