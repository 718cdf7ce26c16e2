"""State changes of the ledger: accounts, journals, reversals, holds and periods.

Services flush through the session and never commit; the request, job or
command that calls them commits once. Every journal and hold carries an
idempotency key: the same key with the same request returns the first result,
the same key with another request raises IdempotencyConflict, and a key whose
request a business rule rejected raises that rejection again (see
``rewards.ledger.idempotency``). The database triggers of migration
``0003_ledger`` enforce the ledger's rules again below this code.
"""

import logging
from datetime import date, datetime
from typing import Any

from flask_babel import gettext as _

from klusbank.accounts.access import today
from klusbank.accounts.models import User
from klusbank.errors import NotFound, RuleViolation, field_error
from klusbank.extensions import db
from klusbank.timeutil import business_date
from rewards.ledger.accounts import corporation_account, tenant_account
from rewards.ledger.approval_credits import approval_request, record_approval_credit
from rewards.ledger.dialect import dialect_name
from rewards.ledger.holds import place_hold, post_hold, void_hold
from rewards.ledger.idempotency import request_hash
from rewards.ledger.journals import JournalRequest, Line, record_journal
from rewards.ledger.models import AccountKind, Journal, JournalKind, Side
from rewards.ledger.periods import (
    mark_period_closed,
    mark_period_closing,
    period_status,
    write_period_snapshot,
)

__all__ = [
    "Line",
    "corporation_account",
    "credit_approved_work",
    "mark_period_closed",
    "mark_period_closing",
    "period_status",
    "place_hold",
    "post_hold",
    "post_journal",
    "reverse_journal",
    "tenant_account",
    "void_hold",
    "write_period_snapshot",
]

logger = logging.getLogger(__name__)


def post_journal(
    corporation_id: int,
    *,
    kind: JournalKind,
    idempotency_key: str,
    effective_date: date,
    memo: str,
    source_type: str,
    source_id: str | None,
    lines: list[Line],
    rule_version_id: int | None = None,
    payload: dict[str, Any] | None = None,
    actor_id: int | None = None,
) -> Journal:
    """Post a balanced journal once per idempotency key.

    ``payload`` identifies the request for the key; without it the kind, date,
    source, rule version and lines do (not the memo). Raises InvalidInput for
    lines that cannot form a journal and RuleViolation when the period is
    closed or a payout payable would go below zero.
    """
    if kind == JournalKind.REVERSAL:
        raise field_error("kind", _("Use reverse_journal to reverse a journal."))
    request = JournalRequest(
        corporation_id=corporation_id,
        kind=kind,
        idempotency_key=idempotency_key,
        effective_date=effective_date,
        memo=memo,
        source_type=source_type,
        source_id=source_id,
        lines=list(lines),
        rule_version_id=rule_version_id,
        actor_id=actor_id,
    )
    return record_journal(request, payload=payload)


def credit_approved_work(
    corporation_id: int,
    tenant_id: int,
    points: int,
    *,
    approval_id: int,
    approved_at: datetime,
    memo: str,
) -> Journal:
    """Credit a tenant's earned points for approved work, once per approval.

    PostgreSQL records the journal in one round trip (``approval_credits``);
    SQLite takes the general path. Both store the same rows under the same key
    and request hash.
    """
    if not isinstance(points, int) or isinstance(points, bool) or points <= 0:
        raise field_error("points", _("Credit a whole number of points above zero."))
    effective_date = business_date(approved_at)
    payload = {
        "operation": "credit_approved_work",
        "tenant_id": tenant_id,
        "points": points,
        "approval_id": approval_id,
        "approved_at": effective_date.isoformat(),
    }
    if dialect_name(db.session) == "postgresql":
        return record_approval_credit(
            corporation_id,
            tenant_id,
            points,
            approval_id=approval_id,
            effective_date=effective_date,
            memo=memo,
            digest=request_hash(payload),
        )

    points_account = tenant_account(
        corporation_id, tenant_id, AccountKind.TENANT_POINTS
    )
    issued = corporation_account(corporation_id, AccountKind.POINTS_ISSUED)
    lines = [
        Line(issued, Side.DEBIT, points),
        Line(points_account, Side.CREDIT, points),
    ]
    request = approval_request(corporation_id, approval_id, effective_date, memo, lines)
    return record_journal(request, payload=payload)


def reverse_journal(
    journal_id: int,
    *,
    reason: str,
    actor_id: int | None,
    effective_date: date | None = None,
) -> Journal:
    """Post the mirror image of a journal, at most once, dated no earlier than it.

    The reversal is dated today unless ``effective_date`` is given; a date
    before the original's raises InvalidInput and a closed period raises
    RuleViolation. Reversing again with the same reason and date returns the
    first reversal; with another reason or date it raises IdempotencyConflict.
    """
    original = _journal_in_scope(journal_id, actor_id)
    if original.kind == JournalKind.REVERSAL:
        raise RuleViolation(
            _(
                "Journal %(id)s is a reversal; post a new journal instead.",
                id=journal_id,
            ),
            code="reversal_of_reversal",
        )
    if not reason or not reason.strip():
        raise field_error("reason", _("Say why the journal is reversed."))
    if effective_date is not None and effective_date < original.effective_date:
        raise field_error(
            "effective_date",
            _(
                "Date the reversal on or after %(day)s, the date of the journal.",
                day=original.effective_date.isoformat(),
            ),
        )

    request = JournalRequest(
        corporation_id=original.corporation_id,
        kind=JournalKind.REVERSAL,
        idempotency_key=f"reversal:{original.id}",
        effective_date=effective_date or max(today(), original.effective_date),
        memo=reason.strip(),
        source_type=original.source_type,
        source_id=original.source_id,
        lines=[
            Line(posting.account, _opposite(posting.side), posting.amount)
            for posting in original.postings
        ],
        rule_version_id=original.rule_version_id,
        actor_id=actor_id,
        reverses_journal_id=original.id,
    )
    # The key comes from the journal, not from a caller's request, so a
    # rejection is not stored: it would block every later reversal.
    return record_journal(
        request,
        payload={
            "operation": "reverse_journal",
            "journal_id": original.id,
            "reason": reason.strip(),
            "effective_date": effective_date.isoformat() if effective_date else None,
        },
        remember_rejections=False,
    )


def _journal_in_scope(journal_id: int, actor_id: int | None) -> Journal:
    journal = db.session.get(Journal, journal_id)
    if journal is None:
        raise NotFound(_("Journal %(id)s not found.", id=journal_id))
    if actor_id is not None:
        actor = db.session.get(User, actor_id)
        if actor is None or actor.corporation_id != journal.corporation_id:
            raise NotFound(_("Journal %(id)s not found.", id=journal_id))
    return journal


def _opposite(side: Side) -> Side:
    return Side.CREDIT if side == Side.DEBIT else Side.DEBIT
