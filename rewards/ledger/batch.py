"""Accounts and journals written in batches, for the monthly close.

``journals.record_journal`` records one journal in about seven statements.
The close books one journal per tenant, so it writes them a batch at a time.
One query looks up every key of the batch and one multi-row INSERT adds the
drafts. One executemany adds their postings, and one UPDATE seals them all.
The database triggers check each sealed journal as they check a single one:
it has postings, it balances per asset, its period and every later one are
open, and its idempotency key is unique in the corporation.
"""

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, literal, null, or_, select, union_all, update

from klusbank.db import utcnow
from klusbank.extensions import db
from klusbank.timeutil import Period
from rewards.ledger import idempotency
from rewards.ledger.accounts import expire_cached_amounts, lock_tenant_accounts
from rewards.ledger.dialect import insert_ignoring_conflicts
from rewards.ledger.journals import (
    NON_NEGATIVE_KINDS,
    JournalRequest,
    _validate,
    latest_closed_period,
    period_closed,
)
from rewards.ledger.models import (
    Account,
    AccountKind,
    Asset,
    Journal,
    JournalStatus,
    Posting,
    Rejection,
    Side,
)

logger = logging.getLogger(__name__)

_accounts = Account.__table__
_journals = Journal.__table__
_postings = Posting.__table__


@dataclass(frozen=True)
class AccountRef:
    """The columns of a ledger account that a journal line needs, read without the ORM.

    It replaces ``Account`` in the lines of a batch entry, because loading
    thousands of ORM objects per batch cost more than the rest of the batch.
    """

    id: int
    corporation_id: int
    tenant_id: int | None
    kind: AccountKind

    @property
    def asset(self) -> Asset:
        return self.kind.asset


def account_refs(
    corporation_id: int, kinds: Iterable[AccountKind], tenant_ids: list[int]
) -> dict[tuple[int | None, AccountKind], AccountRef]:
    """Return the counter-accounts and the tenants' accounts of some kinds, by owner and kind."""
    query = select(
        _accounts.c.id,
        _accounts.c.corporation_id,
        _accounts.c.tenant_id,
        _accounts.c.kind,
    ).where(
        _accounts.c.corporation_id == corporation_id,
        _accounts.c.kind.in_(list(kinds)),
        or_(_accounts.c.tenant_id.in_(tenant_ids), _accounts.c.tenant_id.is_(None)),
    )
    return {
        (row.tenant_id, row.kind): AccountRef(*row) for row in db.session.execute(query)
    }


@dataclass(frozen=True)
class BatchEntry:
    """One journal of a batch with the payload that identifies its request."""

    request: JournalRequest
    payload: dict[str, Any]


def ensure_corporation_accounts(
    corporation_id: int, kinds: Iterable[AccountKind]
) -> None:
    """Create the corporation's counter-accounts of some kinds where they are missing."""
    now = utcnow()
    rows = [
        {
            "corporation_id": corporation_id,
            "tenant_id": None,
            "kind": kind,
            "asset": kind.asset,
            "cached_balance": None,
            "held_amount": None,
            "created_at": now,
        }
        for kind in kinds
    ]
    if rows:
        db.session.execute(insert_ignoring_conflicts(db.session, _accounts), rows)


def ensure_tenant_accounts(
    corporation_id: int,
    kinds: Iterable[AccountKind],
    tenant_ids: list[int] | None = None,
) -> int:
    """Create accounts of some kinds for tenants with a points account; return the count.

    Covers every such tenant of the corporation, or those of ``tenant_ids``.
    One INSERT ... SELECT per kind skips the accounts that exist already, and
    new accounts get their ids in tenant order.
    """
    created = 0
    now = utcnow()
    for kind in kinds:
        if not kind.is_tenant:
            raise ValueError(f"{kind} is a corporation account")
        owners = select(
            _accounts.c.corporation_id,
            _accounts.c.tenant_id,
            literal(kind.value).label("kind"),
            literal(kind.asset.value).label("asset"),
            literal(0).label("cached_balance"),
            literal(0).label("held_amount"),
            literal(now, _accounts.c.created_at.type).label("created_at"),
        ).where(
            _accounts.c.corporation_id == corporation_id,
            _accounts.c.kind == AccountKind.TENANT_POINTS,
        )
        if tenant_ids is not None:
            owners = owners.where(_accounts.c.tenant_id.in_(tenant_ids))
        statement = insert_ignoring_conflicts(db.session, _accounts).from_select(
            [
                "corporation_id",
                "tenant_id",
                "kind",
                "asset",
                "cached_balance",
                "held_amount",
                "created_at",
            ],
            owners.order_by(_accounts.c.tenant_id),
        )
        created += len(db.session.execute(statement.returning(_accounts.c.id)).all())
    return created


def post_journals(corporation_id: int, entries: list[BatchEntry]) -> dict[str, int]:
    """Post a batch of balanced journals once per idempotency key; return ids by key.

    A key that is stored already returns its journal when the payload is the
    same and raises IdempotencyConflict when it differs. A stored rejection
    is raised again. Raises InvalidInput for lines that cannot form a journal
    and RuleViolation when a journal's period or a later one is closed.
    Rejections are not stored under their keys, as ``record_journal`` does,
    because the close holds its lock and has checked that no later period is
    closed.
    """
    if not entries:
        return {}
    digests = {}
    for entry in entries:
        _validate(entry.request)
        _check_unguarded(entry.request)
        digests[entry.request.idempotency_key] = idempotency.request_hash(entry.payload)
    _check_periods_open(corporation_id, entries)

    ids = {
        key: idempotency.replay(previous, digests[key], key)
        for key, previous in _previous(corporation_id, list(digests)).items()
    }
    new = [entry for entry in entries if entry.request.idempotency_key not in ids]
    if not new:
        return ids

    accounts = [line.account for entry in new for line in entry.request.lines]
    # In id order, FOR NO KEY UPDATE, as every journal locks tenant accounts.
    lock_tenant_accounts({account.id for account in accounts if account.tenant_id})
    inserted = _insert_drafts(new, digests)
    _insert_postings(new, inserted)
    db.session.execute(
        update(_journals)
        .where(_journals.c.id.in_(list(inserted.values())))
        .values(status=JournalStatus.POSTED)
    )
    _expire_cached_amounts({account.id for account in accounts})
    ids.update(inserted)
    logger.info(
        "ledger batch of %d journals posted for corporation %s (%d found posted)",
        len(inserted),
        corporation_id,
        len(entries) - len(new),
    )
    return ids


def _expire_cached_amounts(account_ids: set[int]) -> None:
    """Forget the cached amounts of loaded accounts that the seal trigger changed."""
    loaded = [
        account
        for account in list(db.session.identity_map.values())
        if isinstance(account, Account) and account.id in account_ids
    ]
    expire_cached_amounts(loaded)


def _check_unguarded(request: JournalRequest) -> None:
    # A debit from a payout payable needs the available-balance check of
    # record_journal, which this path leaves out.
    for line in request.lines:
        if line.side == Side.DEBIT and line.account.kind in NON_NEGATIVE_KINDS:
            raise ValueError(
                f"journal {request.idempotency_key!r} debits a {line.account.kind}"
                " account; post it with record_journal"
            )


def _check_periods_open(corporation_id: int, entries: list[BatchEntry]) -> None:
    earliest = min(str(Period.of(entry.request.effective_date)) for entry in entries)
    closed = db.session.scalar(select(latest_closed_period(corporation_id, earliest)))
    if closed is not None:
        raise period_closed(closed)


def _previous(corporation_id: int, keys: list[str]) -> dict[str, idempotency.Previous]:
    records = select(
        Journal.idempotency_key,
        Journal.id,
        Journal.request_hash,
        null().label("code"),
        null().label("message"),
    ).where(Journal.corporation_id == corporation_id, Journal.idempotency_key.in_(keys))
    rejections = select(
        Rejection.idempotency_key,
        null().label("id"),
        Rejection.request_hash,
        Rejection.code,
        Rejection.message,
    ).where(
        Rejection.corporation_id == corporation_id,
        Rejection.operation == idempotency.JOURNAL,
        Rejection.idempotency_key.in_(keys),
    )
    found: dict[str, idempotency.Previous] = {}
    for key, record_id, digest, code, message in db.session.execute(
        union_all(records, rejections)
    ):
        # A stored journal wins over a rejection: the key did take effect.
        if key not in found or record_id is not None:
            found[key] = idempotency.Previous(record_id, digest, code, message)
    return found


def _insert_drafts(
    entries: list[BatchEntry], digests: dict[str, str]
) -> dict[str, int]:
    now = utcnow()
    rows = [
        {
            "corporation_id": entry.request.corporation_id,
            "kind": entry.request.kind,
            "status": JournalStatus.DRAFT,
            "effective_date": entry.request.effective_date,
            "period": str(Period.of(entry.request.effective_date)),
            "memo": entry.request.memo,
            "source_type": entry.request.source_type,
            "source_id": entry.request.source_id,
            "rule_version_id": entry.request.rule_version_id,
            "idempotency_key": entry.request.idempotency_key,
            "request_hash": digests[entry.request.idempotency_key],
            "actor_id": entry.request.actor_id,
            "reverses_journal_id": entry.request.reverses_journal_id,
            "recorded_at": now,
        }
        for entry in entries
    ]
    result = db.session.execute(
        insert(_journals).returning(_journals.c.idempotency_key, _journals.c.id), rows
    )
    return {key: journal_id for key, journal_id in result}


def _insert_postings(entries: list[BatchEntry], journal_ids: dict[str, int]) -> None:
    rows = [
        {
            "journal_id": journal_ids[entry.request.idempotency_key],
            "account_id": line.account.id,
            "asset": line.account.asset,
            "side": line.side,
            "amount": line.amount,
        }
        for entry in entries
        for line in entry.request.lines
    ]
    db.session.execute(insert(_postings), rows)
