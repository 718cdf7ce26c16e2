"""Recording a journal: check, insert as draft, add postings, seal as posted.

Writes go through SQL statements rather than the unit of work, because the
journal row is inserted with ``ON CONFLICT DO NOTHING``: a concurrent request
with the same key then finds the first request's journal instead of failing.
The database triggers check the same rules again when the journal is sealed.
"""

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import ScalarSelect, func, insert, select, update
from sqlalchemy.orm.attributes import set_committed_value

from klusbank.db import utcnow
from klusbank.errors import InvalidInput, RuleViolation, field_error
from klusbank.extensions import db
from klusbank.timeutil import Period
from rewards.ledger import idempotency
from rewards.ledger.accounts import expire_cached_amounts, lock_tenant_accounts
from rewards.ledger.dialect import insert_ignoring_conflicts, share_ledger_with_close
from rewards.ledger.models import (
    Account,
    AccountKind,
    Asset,
    Hold,
    HoldResolution,
    Journal,
    JournalKind,
    JournalStatus,
    LedgerPeriod,
    PeriodStatus,
    Posting,
    ResolutionKind,
    Side,
)

logger = logging.getLogger(__name__)

# Tenant accounts whose available balance (balance minus pending holds) must
# never go below zero. The database enforces the same with a CHECK.
NON_NEGATIVE_KINDS = frozenset({AccountKind.TENANT_PAYOUT})


@dataclass(frozen=True)
class Line:
    """One posting of a journal to be recorded: a positive amount on one side."""

    account: Account
    side: Side
    amount: int


@dataclass(frozen=True)
class JournalRequest:
    """Everything needed to record one journal."""

    corporation_id: int
    kind: JournalKind
    idempotency_key: str
    effective_date: date
    memo: str
    source_type: str
    source_id: str | None
    lines: list[Line]
    rule_version_id: int | None = None
    actor_id: int | None = None
    reverses_journal_id: int | None = None

    def default_payload(self) -> dict[str, Any]:
        """Return what identifies the request when the caller gives no payload.

        The memo and the actor are left out, so a retry that words the memo
        differently still counts as the same request. Accounts are named by
        kind and tenant, not by id: an account created in a transaction that
        rolled back gets a new id when the retry creates it again.
        """
        lines = sorted(
            (
                line.account.kind.value,
                line.account.tenant_id or 0,
                line.side.value,
                line.amount,
            )
            for line in self.lines
        )
        return {
            "kind": self.kind.value,
            "effective_date": self.effective_date.isoformat(),
            "source_type": self.source_type,
            "source_id": self.source_id,
            "rule_version_id": self.rule_version_id,
            "reverses_journal_id": self.reverses_journal_id,
            "lines": [list(line) for line in lines],
        }


def record_journal(
    request: JournalRequest,
    *,
    payload: dict[str, Any] | None = None,
    releasing_hold: Hold | None = None,
    remember_rejections: bool = True,
) -> Journal:
    """Record a journal once per idempotency key and return it.

    ``releasing_hold`` is a pending hold that this journal settles. Its
    resolution is written before the seal, so the held amount is released
    before the payout payable goes down and the payout CHECK holds throughout.
    With ``remember_rejections`` a business rejection is stored under the key
    and replayed on every retry.
    """
    _validate(request)
    digest = idempotency.request_hash(
        payload if payload is not None else request.default_payload()
    )
    period = str(Period.of(request.effective_date))
    previous, closed = idempotency.claim_key(
        request.corporation_id,
        idempotency.JOURNAL,
        request.idempotency_key,
        along_with=latest_closed_period(request.corporation_id, period),
    )
    if previous is not None:
        return _replayed(previous, digest, request.idempotency_key)

    try:
        if closed is not None:
            raise period_closed(closed)
        _check_available_balances(request.lines, releasing_hold)
    except RuleViolation as rejection:
        if remember_rejections:
            idempotency.remember_rejection(
                request.corporation_id,
                idempotency.JOURNAL,
                request.idempotency_key,
                digest,
                rejection,
            )
        raise

    journal = _insert_draft(request, digest)
    if journal is None:
        # A concurrent request with the same key committed first.
        previous = idempotency.find_previous(
            request.corporation_id, idempotency.JOURNAL, request.idempotency_key
        )
        if previous is None:
            # Only the unique reversal per journal conflicts without the key.
            raise RuleViolation(
                _(
                    "Journal %(id)s has already been reversed.",
                    id=request.reverses_journal_id,
                ),
                code="already_reversed",
            )
        return _replayed(previous, digest, request.idempotency_key)

    _insert_postings(journal.id, request.lines)
    if releasing_hold is not None:
        _insert_posted_resolution(releasing_hold, journal.id)
    db.session.execute(
        update(Journal)
        .where(Journal.id == journal.id)
        .values(status=JournalStatus.POSTED)
        .execution_options(synchronize_session=False)
    )
    set_committed_value(journal, "status", JournalStatus.POSTED)
    expire_cached_amounts([line.account for line in request.lines])
    logger.info(
        "ledger journal %s %s posted for corporation %s key %r",
        journal.id,
        request.kind.value,
        request.corporation_id,
        request.idempotency_key,
    )
    return journal


def _replayed(previous: idempotency.Previous, digest: str, key: str) -> Journal:
    journal_id = idempotency.replay(previous, digest, key)
    return db.session.get_one(Journal, journal_id)


def _validate(request: JournalRequest) -> None:
    validate_fields(request)
    _validate_lines(request)


def validate_fields(request: JournalRequest) -> None:
    """Raise InvalidInput for a key, date, memo or source that cannot be stored."""
    if not request.idempotency_key or len(request.idempotency_key) > 200:
        raise field_error(
            "idempotency_key", _("Give an idempotency key of 1 to 200 characters.")
        )
    # A datetime is a date too, but a journal is dated by a business day.
    if isinstance(request.effective_date, datetime) or not isinstance(
        request.effective_date, date
    ):
        raise field_error(
            "effective_date", _("Give the business date (a date, not a moment).")
        )
    if not request.memo or not request.memo.strip():
        raise field_error("memo", _("Say what the entry is for."))
    if not request.source_type or len(request.source_type) > 32:
        raise field_error("source_type", _("Give a source type of 1 to 32 characters."))
    if request.source_id is not None and len(request.source_id) > 64:
        raise field_error("source_id", _("Give a source id of at most 64 characters."))


def _validate_lines(request: JournalRequest) -> None:
    if not request.lines:
        raise field_error("lines", _("A journal needs at least two postings."))
    totals: dict[Asset, int] = defaultdict(int)
    for line in request.lines:
        if not isinstance(line.amount, int) or isinstance(line.amount, bool):
            raise field_error("lines", _("Amounts are whole numbers."))
        if line.amount <= 0:
            raise field_error(
                "lines", _("Amounts must be above zero; swap the side instead.")
            )
        if line.account.corporation_id != request.corporation_id:
            raise field_error(
                "lines", _("Every account must belong to the journal's corporation.")
            )
        sign = 1 if line.side == Side.DEBIT else -1
        totals[line.account.asset] += sign * line.amount
    unbalanced = sorted(asset.value for asset, total in totals.items() if total)
    if unbalanced:
        raise InvalidInput(
            _(
                "Debits and credits differ in %(assets)s; a journal must balance.",
                assets=", ".join(unbalanced),
            ),
            errors={"lines": ["unbalanced: " + ", ".join(unbalanced)]},
        )


def latest_closed_period(corporation_id: int, period: str) -> ScalarSelect:
    """Return a subquery of the latest closed period on or after ``period``.

    A closed period freezes the periods before it too, because a posting dated
    earlier would change the closing balances in the closed period's snapshot.
    """
    return (
        select(func.max(LedgerPeriod.period))
        .where(
            LedgerPeriod.corporation_id == corporation_id,
            LedgerPeriod.period >= period,
            LedgerPeriod.status == PeriodStatus.CLOSED,
        )
        .scalar_subquery()
    )


def period_closed(closed: str) -> RuleViolation:
    """Build the rejection of an entry dated in or before a closed period."""
    return RuleViolation(
        _(
            "The ledger is closed up to %(closed)s; date the entry after it.",
            closed=closed,
        ),
        code="period_closed",
    )


def _check_available_balances(lines: list[Line], releasing_hold: Hold | None) -> None:
    debits: dict[int, int] = defaultdict(int)
    tenant_accounts = set()
    for line in lines:
        if not line.account.kind.is_tenant:
            continue
        tenant_accounts.add(line.account.id)
        if line.account.kind in NON_NEGATIVE_KINDS:
            debits[line.account.id] += (
                line.amount if line.side == Side.DEBIT else -line.amount
            )
    guarded = {account_id for account_id, amount in debits.items() if amount > 0}
    # Several tenant accounts are locked in id order up front, so two journals
    # over the same accounts take the row locks of the cache update in one order.
    if not guarded and len(tenant_accounts) < 2:
        return

    share_ledger_with_close(db.session, lines[0].account.corporation_id)
    locked = lock_tenant_accounts(tenant_accounts)
    for account_id in sorted(guarded):
        amounts = locked[account_id]
        available = amounts.available
        if releasing_hold is not None and releasing_hold.account_id == account_id:
            available += releasing_hold.amount
        if available < debits[account_id]:
            raise RuleViolation(
                _(
                    "The payout balance is too low: %(available)s cents available,"
                    " %(needed)s cents needed.",
                    available=available,
                    needed=debits[account_id],
                ),
                code="insufficient_balance",
            )


def journal_values(
    request: JournalRequest, digest: str, recorded_at: datetime
) -> dict[str, Any]:
    """Return the journal row's columns other than ``id`` and ``status``."""
    return {
        "corporation_id": request.corporation_id,
        "kind": request.kind,
        "effective_date": request.effective_date,
        "period": str(Period.of(request.effective_date)),
        "memo": request.memo,
        "source_type": request.source_type,
        "source_id": request.source_id,
        "rule_version_id": request.rule_version_id,
        "idempotency_key": request.idempotency_key,
        "request_hash": digest,
        "actor_id": request.actor_id,
        "reverses_journal_id": request.reverses_journal_id,
        "recorded_at": recorded_at,
    }


def _insert_draft(request: JournalRequest, digest: str) -> Journal | None:
    statement = (
        insert_ignoring_conflicts(db.session, Journal)
        .values(status=JournalStatus.DRAFT, **journal_values(request, digest, utcnow()))
        .returning(Journal)
    )
    return db.session.scalars(statement).first()


def _insert_postings(journal_id: int, lines: list[Line]) -> None:
    db.session.execute(
        insert(Posting),
        [
            {
                "journal_id": journal_id,
                "account_id": line.account.id,
                "asset": line.account.asset,
                "side": line.side,
                "amount": line.amount,
            }
            for line in lines
        ],
    )


def _insert_posted_resolution(hold: Hold, journal_id: int) -> None:
    db.session.execute(
        insert(HoldResolution).values(
            hold_id=hold.id,
            kind=ResolutionKind.POSTED,
            journal_id=journal_id,
            reason="posted",
            resolved_at=utcnow(),
        )
    )
