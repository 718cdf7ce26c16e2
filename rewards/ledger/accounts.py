"""Ledger accounts: found or created on first use, one per owner and kind."""

import logging
from dataclasses import dataclass

from sqlalchemy import select

from klusbank.accounts.models import User
from klusbank.db import utcnow
from klusbank.errors import NotFound
from klusbank.extensions import db
from rewards.ledger.dialect import insert_ignoring_conflicts
from rewards.ledger.models import Account, AccountKind

logger = logging.getLogger(__name__)


def tenant_account(corporation_id: int, tenant_id: int, kind: AccountKind) -> Account:
    """Return the tenant's account of a kind, creating it on first use."""
    if not kind.is_tenant:
        raise ValueError(f"{kind} is a corporation account; use corporation_account")
    query = select(Account).where(
        Account.corporation_id == corporation_id,
        Account.tenant_id == tenant_id,
        Account.kind == kind,
    )
    account = db.session.scalar(query)
    if account is not None:
        return account

    tenant = db.session.get(User, tenant_id)
    if tenant is None or tenant.corporation_id != corporation_id:
        raise NotFound(f"Tenant {tenant_id} not found.")
    _create(corporation_id, tenant_id, kind)
    return db.session.scalars(query).one()


def corporation_account(corporation_id: int, kind: AccountKind) -> Account:
    """Return the corporation's counter-account of a kind, creating it on first use."""
    if kind.is_tenant:
        raise ValueError(f"{kind} is a tenant account; use tenant_account")
    query = select(Account).where(
        Account.corporation_id == corporation_id,
        Account.tenant_id.is_(None),
        Account.kind == kind,
    )
    account = db.session.scalar(query)
    if account is not None:
        return account

    _create(corporation_id, None, kind)
    return db.session.scalars(query).one()


def _create(corporation_id: int, tenant_id: int | None, kind: AccountKind) -> None:
    # Two requests may create the same account at once; the unique index keeps
    # one and the other request reads it.
    cache = 0 if tenant_id is not None else None
    db.session.execute(
        insert_ignoring_conflicts(db.session, Account).values(
            corporation_id=corporation_id,
            tenant_id=tenant_id,
            kind=kind,
            asset=kind.asset,
            cached_balance=cache,
            held_amount=cache,
            created_at=utcnow(),
        )
    )
    logger.info(
        "ledger account %s for corporation %s tenant %s ensured",
        kind.value,
        corporation_id,
        tenant_id,
    )


@dataclass(frozen=True)
class LockedAmounts:
    """Cached balance and held amount of a tenant account, read under a row lock."""

    account_id: int
    kind: AccountKind
    cached_balance: int
    held_amount: int

    @property
    def available(self) -> int:
        return self.cached_balance - self.held_amount


def lock_tenant_accounts(account_ids: set[int]) -> dict[int, LockedAmounts]:
    """Lock tenant account rows in id order and return their current amounts.

    ``SELECT ... FOR NO KEY UPDATE`` on PostgreSQL; SQLite lets one writer in
    at a time and SQLAlchemy leaves the clause out there. FOR NO KEY UPDATE
    still serialises every change of the cached amounts, but unlike FOR UPDATE
    it does not wait for the FOR KEY SHARE lock that inserting a posting takes
    on its account. A posting waiting for the monthly close's ledger lock
    holds that key-share lock, so FOR UPDATE here would deadlock the close.
    """
    if not account_ids:
        return {}
    rows = db.session.execute(
        select(Account.id, Account.kind, Account.cached_balance, Account.held_amount)
        .where(Account.id.in_(sorted(account_ids)), Account.tenant_id.is_not(None))
        .order_by(Account.id)
        .with_for_update(key_share=True)
    ).all()
    return {
        row.id: LockedAmounts(row.id, row.kind, row.cached_balance, row.held_amount)
        for row in rows
    }


def expire_cached_amounts(accounts: list[Account]) -> None:
    """Forget loaded cache columns that a trigger has just changed."""
    for account in accounts:
        if account in db.session:
            db.session.expire(account, ["cached_balance", "held_amount"])
