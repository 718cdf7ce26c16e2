"""Reads of the ledger: balances, available balances and a tenant's movements.

Balances are reported on the account's normal side (``AccountKind.normal_side``):
what a tenant account owes the tenant is positive, and so is what a
counter-account has issued, spent, settled or cleared.
"""

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import aliased

from klusbank.errors import NotFound
from klusbank.extensions import db
from rewards.ledger.models import (
    TENANT_ACCOUNT_KINDS,
    Account,
    AccountKind,
    Asset,
    Hold,
    HoldResolution,
    Journal,
    JournalKind,
    JournalStatus,
    Posting,
    Side,
)


def balance(account_id: int, as_of: date | None = None) -> int:
    """Return an account's balance at the end of a business day (default: all postings)."""
    account = _account(account_id)
    if as_of is None and account.cached_balance is not None:
        return account.cached_balance
    return _posted_sum(account, as_of)


def recomputed_balance(account_id: int, as_of: date | None = None) -> int:
    """Return an account's balance summed from its postings, ignoring any cache."""
    return _posted_sum(_account(account_id), as_of)


def available_balance(account_id: int) -> int:
    """Return an account's balance minus its pending holds."""
    account = _account(account_id)
    if account.held_amount is not None and account.cached_balance is not None:
        return account.cached_balance - account.held_amount
    return _posted_sum(account, None) - pending_hold_total(account_id)


def pending_hold_total(account_id: int) -> int:
    """Return the sum of an account's holds that are not posted or voided yet."""
    total = db.session.scalar(
        select(func.coalesce(func.sum(Hold.amount), 0))
        .outerjoin(HoldResolution, HoldResolution.hold_id == Hold.id)
        .where(Hold.account_id == account_id, HoldResolution.id.is_(None))
    )
    return int(total)


def tenant_balances(corporation_id: int, tenant_id: int) -> dict[AccountKind, int]:
    """Return the tenant's balance of each tenant account kind (zero if unused)."""
    balances = dict.fromkeys(sorted(TENANT_ACCOUNT_KINDS), 0)
    accounts = db.session.scalars(
        select(Account)
        .where(Account.corporation_id == corporation_id, Account.tenant_id == tenant_id)
        .execution_options(populate_existing=True)
    )
    for account in accounts:
        balances[account.kind] = account.cached_balance or 0
    return balances


def lifetime_earned_points(corporation_id: int, tenant_id: int) -> int:
    """Return the points credited to a tenant for approved work, net of reversals."""
    original = aliased(Journal)
    signed = case((Posting.side == Side.CREDIT, Posting.amount), else_=-Posting.amount)
    from_work = (Journal.kind == JournalKind.APPROVAL) | (
        original.kind == JournalKind.APPROVAL
    )
    total = db.session.scalar(
        select(func.coalesce(func.sum(signed), 0))
        .select_from(Posting)
        .join(Journal, Journal.id == Posting.journal_id)
        .join(Account, Account.id == Posting.account_id)
        .outerjoin(original, original.id == Journal.reverses_journal_id)
        .where(
            Account.corporation_id == corporation_id,
            Account.tenant_id == tenant_id,
            Account.kind == AccountKind.TENANT_POINTS,
            Journal.status == JournalStatus.POSTED,
            from_work,
        )
    )
    return int(total)


@dataclass(frozen=True)
class Movement:
    """One posting on a tenant account, with the journal's reason and source."""

    journal_id: int
    effective_date: date
    recorded_at: datetime
    journal_kind: JournalKind
    account_kind: AccountKind
    asset: Asset
    amount: int  # signed: positive increases what the tenant is owed
    memo: str
    source_type: str
    source_id: str | None
    rule_version_id: int | None
    reverses_journal_id: int | None
    reversed_by_journal_id: int | None


def tenant_movements(
    corporation_id: int, tenant_id: int, *, limit: int | None = None
) -> list[Movement]:
    """Return a tenant's movements on every tenant account, newest first."""
    reversal = aliased(Journal)
    signed = case((Posting.side == Side.CREDIT, Posting.amount), else_=-Posting.amount)
    query = (
        select(Journal, Account.kind, Posting.asset, signed, reversal.id)
        .select_from(Posting)
        .join(Journal, Journal.id == Posting.journal_id)
        .join(Account, Account.id == Posting.account_id)
        .outerjoin(
            reversal,
            and_(
                reversal.reverses_journal_id == Journal.id,
                reversal.status == JournalStatus.POSTED,
            ),
        )
        .where(
            Account.corporation_id == corporation_id,
            Account.tenant_id == tenant_id,
            Journal.status == JournalStatus.POSTED,
        )
        .order_by(Journal.effective_date.desc(), Journal.id.desc(), Posting.id)
        .limit(limit)
    )
    return [
        Movement(
            journal_id=journal.id,
            effective_date=journal.effective_date,
            recorded_at=journal.recorded_at,
            journal_kind=journal.kind,
            account_kind=account_kind,
            asset=asset,
            amount=int(amount),
            memo=journal.memo,
            source_type=journal.source_type,
            source_id=journal.source_id,
            rule_version_id=journal.rule_version_id,
            reverses_journal_id=journal.reverses_journal_id,
            reversed_by_journal_id=reversed_by,
        )
        for journal, account_kind, asset, amount, reversed_by in db.session.execute(
            query
        )
    ]


def pending_holds(corporation_id: int, tenant_id: int) -> list[Hold]:
    """Return a tenant's holds that are not posted or voided yet, oldest first."""
    query = (
        select(Hold)
        .join(Account, Account.id == Hold.account_id)
        .outerjoin(HoldResolution, HoldResolution.hold_id == Hold.id)
        .where(
            Account.corporation_id == corporation_id,
            Account.tenant_id == tenant_id,
            HoldResolution.id.is_(None),
        )
        .order_by(Hold.created_at, Hold.id)
    )
    return list(db.session.scalars(query).unique())


def _account(account_id: int) -> Account:
    account = db.session.get(Account, account_id, populate_existing=True)
    if account is None:
        raise NotFound(f"Ledger account {account_id} not found.")
    return account


def _posted_sum(account: Account, as_of: date | None) -> int:
    signed = case(
        (Posting.side == account.normal_side, Posting.amount), else_=-Posting.amount
    )
    query = (
        select(func.coalesce(func.sum(signed), 0))
        .select_from(Posting)
        .join(Journal, Journal.id == Posting.journal_id)
        .where(Posting.account_id == account.id, Journal.status == JournalStatus.POSTED)
    )
    if as_of is not None:
        query = query.where(Journal.effective_date <= as_of)
    return int(db.session.scalar(query))
