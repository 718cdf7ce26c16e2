"""Holds: amounts reserved on a tenant account until posted or voided, once."""

import logging
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import insert, select

from klusbank.db import utcnow
from klusbank.errors import NotFound, RuleViolation, field_error
from klusbank.extensions import db
from rewards.ledger import idempotency
from rewards.ledger.accounts import expire_cached_amounts, lock_tenant_accounts
from rewards.ledger.dialect import insert_ignoring_conflicts
from rewards.ledger.journals import JournalRequest, Line, record_journal
from rewards.ledger.models import (
    Account,
    AccountKind,
    Hold,
    HoldResolution,
    Journal,
    JournalKind,
    ResolutionKind,
    Side,
)

logger = logging.getLogger(__name__)

# The journal kind that posting a hold records, by the kind of the held account.
_POSTING_KINDS = {
    AccountKind.TENANT_PAYOUT: JournalKind.PAYOUT,
    AccountKind.TENANT_RENT_CREDIT: JournalKind.RENT_CREDIT,
    AccountKind.TENANT_POINTS: JournalKind.SETTLEMENT,
}


def place_hold(
    account: Account,
    amount: int,
    *,
    idempotency_key: str,
    memo: str,
    source_type: str,
    source_id: str | None,
) -> Hold:
    """Reserve an amount of a tenant account's available balance, once per key."""
    if not account.kind.is_tenant:
        raise field_error("account", _("Holds are placed on tenant accounts only."))
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        raise field_error("amount", _("Hold a whole amount above zero."))
    digest = idempotency.request_hash(
        {
            "operation": "place_hold",
            "account_kind": account.kind.value,
            "tenant_id": account.tenant_id,
            "amount": amount,
            "source_type": source_type,
            "source_id": source_id,
        }
    )
    previous, _unused = idempotency.claim_key(
        account.corporation_id, idempotency.HOLD, idempotency_key
    )
    if previous is not None:
        hold_id = idempotency.replay(previous, digest, idempotency_key)
        return db.session.get_one(Hold, hold_id)

    available = lock_tenant_accounts({account.id})[account.id].available
    if available < amount:
        rejection = RuleViolation(
            _(
                "Only %(available)s is available; %(amount)s cannot be held.",
                available=available,
                amount=amount,
            ),
            code="insufficient_balance",
        )
        idempotency.remember_rejection(
            account.corporation_id,
            idempotency.HOLD,
            idempotency_key,
            digest,
            rejection,
        )
        raise rejection

    hold_id = db.session.scalar(
        insert_ignoring_conflicts(db.session, Hold)
        .values(
            corporation_id=account.corporation_id,
            account_id=account.id,
            asset=account.asset,
            amount=amount,
            memo=memo,
            source_type=source_type,
            source_id=source_id,
            idempotency_key=idempotency_key,
            request_hash=digest,
            created_at=utcnow(),
        )
        .returning(Hold.id)
    )
    if hold_id is None:
        # A concurrent request with the same key committed first.
        previous = idempotency.find_previous(
            account.corporation_id, idempotency.HOLD, idempotency_key
        )
        assert previous is not None
        hold_id = idempotency.replay(previous, digest, idempotency_key)
    expire_cached_amounts([account])
    logger.info(
        "ledger hold %s of %s placed on account %s", hold_id, amount, account.id
    )
    return db.session.get_one(Hold, hold_id)


def post_hold(
    hold_id: int, *, effective_date: date, counter_account: Account, memo: str
) -> Journal:
    """Post a pending hold as a journal from the held account to a counter-account."""
    hold = _lock_hold(hold_id)
    resolution = _resolution_of(hold_id)
    if resolution is not None and resolution.kind == ResolutionKind.VOIDED:
        raise RuleViolation(
            _("Hold %(id)s was voided and cannot be posted.", id=hold_id),
            code="hold_voided",
        )
    if (
        counter_account.corporation_id != hold.corporation_id
        or counter_account.asset != hold.asset
    ):
        raise field_error(
            "counter_account",
            _("Post the hold to an account of the same corporation and asset."),
        )

    request = JournalRequest(
        corporation_id=hold.corporation_id,
        kind=_POSTING_KINDS[hold.account.kind],
        idempotency_key=f"hold:{hold.id}",
        effective_date=effective_date,
        memo=memo,
        source_type=hold.source_type,
        source_id=hold.source_id,
        lines=[
            Line(hold.account, Side.DEBIT, hold.amount),
            Line(counter_account, Side.CREDIT, hold.amount),
        ],
    )
    # Posting is keyed by the hold, not by a request of the caller's, so a
    # rejection (a closed period) is not stored: a later try may succeed.
    journal = record_journal(
        request,
        releasing_hold=hold if resolution is None else None,
        remember_rejections=False,
    )
    db.session.expire(hold)
    return journal


def void_hold(hold_id: int, *, reason: str) -> Hold:
    """Release a pending hold without posting it; voiding twice changes nothing."""
    if not reason.strip():
        raise field_error("reason", _("Say why the hold is voided."))
    hold = _lock_hold(hold_id)
    resolution = _resolution_of(hold_id)
    if resolution is not None:
        if resolution.kind == ResolutionKind.VOIDED:
            return hold
        raise RuleViolation(
            _("Hold %(id)s was posted and cannot be voided.", id=hold_id),
            code="hold_posted",
        )

    db.session.execute(
        insert(HoldResolution).values(
            hold_id=hold.id,
            kind=ResolutionKind.VOIDED,
            reason=reason,
            resolved_at=utcnow(),
        )
    )
    expire_cached_amounts([hold.account])
    db.session.expire(hold)
    logger.info("ledger hold %s voided", hold.id)
    return hold


def _lock_hold(hold_id: int) -> Hold:
    # Locking the hold row serialises resolutions of one hold; the unique
    # resolution per hold is the database's backstop.
    found = db.session.execute(
        select(Hold.id).where(Hold.id == hold_id).with_for_update()
    ).scalar()
    if found is None:
        raise NotFound(_("Hold %(id)s not found.", id=hold_id))
    return db.session.get_one(Hold, hold_id)


def _resolution_of(hold_id: int) -> HoldResolution | None:
    return db.session.scalar(
        select(HoldResolution)
        .where(HoldResolution.hold_id == hold_id)
        .execution_options(populate_existing=True)
    )
