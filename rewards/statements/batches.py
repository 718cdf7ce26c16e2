"""Payout batches: reserve the month's payouts, export them as SEPA, settle the result.

Creating a batch places a ledger hold on each tenant's payout account and
copies every bank detail into the batch. Finance uploads the SEPA file; when
the bank has paid, marking the batch paid posts the holds (payout payable to
the payout clearing account); when the bank rejected it, marking it failed
voids the holds, so the amounts are payable again in a new batch.
"""

import hashlib
import logging
from datetime import date, timedelta

from flask_babel import force_locale
from flask_babel import gettext as _
from schwifty import BIC, IBAN
from schwifty.exceptions import SchwiftyException
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from klusbank.accounts.access import today
from klusbank.accounts.models import User
from klusbank.accounts.services import record_audit
from klusbank.db import utcnow
from klusbank.errors import NotFound, RuleViolation, field_error
from klusbank.extensions import db
from klusbank.timeutil import Period, business_date
from rewards.engine.services import normalise_iban
from rewards.ledger import queries as ledger_queries
from rewards.ledger import services as ledger
from rewards.ledger.models import AccountKind
from rewards.statements import queries
from rewards.statements.exports.sepa import (
    SepaAccount,
    SepaBatch,
    SepaPayment,
    build_pain001,
    sepa_identifier,
    sepa_text,
)
from rewards.statements.models import (
    BatchStatus,
    DebtorAccount,
    PayoutBatch,
    PayoutBatchItem,
)
from rewards.statements.services import ExportFile, require_finance

logger = logging.getLogger(__name__)

SEPA_MIMETYPE = "application/xml"


def set_debtor_account(
    actor: User | None,
    corporation_id: int,
    *,
    account_holder: str,
    iban: str,
    bic: str | None = None,
) -> DebtorAccount:
    """Set the bank account that the corporation pays payouts from."""
    require_finance(actor, corporation_id)
    holder = sepa_text(account_holder, 70)
    if not holder:
        raise field_error(
            "account_holder", _("Enter the account holder's name in Latin letters.")
        )
    bic = (bic or "").replace(" ", "").upper() or None
    if bic is not None and len(bic) not in (8, 11):
        raise field_error("bic", _("A BIC has 8 or 11 characters; leave it empty."))
    compact_iban = normalise_iban(iban)
    if bic is not None:
        _check_bic_matches_iban(bic, compact_iban)
    account = db.session.get(DebtorAccount, corporation_id) or DebtorAccount(
        corporation_id=corporation_id
    )
    account.account_holder = holder
    account.iban = compact_iban
    account.bic = bic
    account.updated_by_id = actor.id if actor else None
    db.session.add(account)
    db.session.flush()
    record_audit(
        "payout_account.updated",
        actor=actor,
        corporation_id=corporation_id,
        subject=f"corporation:{corporation_id}",
    )
    return account


def _check_bic_matches_iban(bic: str, iban: str) -> None:
    # schwifty checks the BIC's structure and looks up, in its bank registry,
    # the BIC of the IBAN's bank for most SEPA countries. A BIC of another
    # bank would send the whole batch astray.
    try:
        entered = BIC(bic)
    except SchwiftyException as error:
        raise field_error(
            "bic", _("This BIC is invalid; check it or leave it empty.")
        ) from error
    expected = IBAN(iban).bic
    if expected is not None:
        matches = str(entered)[:6] == str(expected)[:6]
    else:
        matches = entered.country_code == iban[:2]
    if not matches:
        raise field_error(
            "bic",
            _(
                "This BIC belongs to another bank than the IBAN%(hint)s. "
                "Correct it or leave it empty.",
                hint=f" ({expected})" if expected is not None else "",
            ),
        )


def next_weekday(day: date) -> date:
    """Return the first Monday to Friday after a day."""
    day += timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def batch_reference(corporation_id: int, period: Period, attempt: int) -> str:
    """Return the reference of a month's n-th batch, e.g. ``KB3-202611-1``."""
    return f"KB{corporation_id}-{period.year:04d}{period.month:02d}-{attempt}"


def batch_message_id(reference: str) -> str:
    """Derive the SEPA message id from a batch reference: unique and reproducible."""
    digest = hashlib.sha256(f"klusbank:{reference}".encode()).hexdigest()
    return sepa_identifier(f"{reference}-{digest[:8].upper()}")


def live_batch(corporation_id: int, period: Period) -> PayoutBatch | None:
    """Return the month's batch that has not failed, if there is one."""
    return db.session.scalar(
        select(PayoutBatch).where(
            PayoutBatch.corporation_id == corporation_id,
            PayoutBatch.period == str(period),
            PayoutBatch.status != BatchStatus.FAILED,
        )
    )


def batches_of(corporation_id: int, period: Period) -> list[PayoutBatch]:
    """Return every batch of a month, newest first."""
    return list(
        db.session.scalars(
            select(PayoutBatch)
            .where(
                PayoutBatch.corporation_id == corporation_id,
                PayoutBatch.period == str(period),
            )
            .order_by(PayoutBatch.id.desc())
        )
    )


def get_batch(
    actor: User | None, corporation_id: int, batch_id: int, *, for_update: bool = False
) -> PayoutBatch:
    """Return a batch of the corporation for finance, or raise NotFound.

    With ``for_update`` the row stays locked until the transaction ends, so
    two requests cannot mark the same batch paid and failed (PostgreSQL;
    SQLite has one writer at a time anyway).
    """
    require_finance(actor, corporation_id)
    batch = db.session.get(
        PayoutBatch, batch_id, with_for_update=for_update, populate_existing=for_update
    )
    if batch is None or batch.corporation_id != corporation_id:
        raise NotFound(_("Payout batch not found."))
    return batch


def create_payout_batch(
    actor: User | None,
    corporation_id: int,
    period: Period,
    *,
    execution_date: date | None = None,
) -> PayoutBatch:
    """Create the batch of a closed month's payouts and hold each amount in the ledger."""
    require_finance(actor, corporation_id)
    queries.closed_ledger_period(corporation_id, period)
    if live_batch(corporation_id, period) is not None:
        raise RuleViolation(
            _("Month %(month)s already has a payout batch.", month=str(period)),
            code="batch_exists",
        )
    debtor = db.session.get(DebtorAccount, corporation_id)
    if debtor is None:
        raise RuleViolation(
            _("Set the corporation's payout account before creating a batch."),
            code="payout_account_missing",
        )
    execution_date = execution_date or next_weekday(today())
    if execution_date < today():
        raise field_error("execution_date", _("Choose today or a later date."))
    payouts = _payable_amounts(corporation_id, period)
    if not payouts:
        raise RuleViolation(
            _("Month %(month)s has no payouts to pay.", month=str(period)),
            code="nothing_to_pay",
        )

    # The month's earlier (failed) batches keep their ids; this one is the next.
    reference = batch_reference(
        corporation_id, period, len(batches_of(corporation_id, period)) + 1
    )
    message_id = batch_message_id(reference)
    batch = PayoutBatch(
        corporation_id=corporation_id,
        period=str(period),
        status=BatchStatus.CREATED,
        message_id=message_id,
        payment_information_id=sepa_identifier(f"{message_id}-P1"),
        execution_date=execution_date,
        debtor_name=debtor.account_holder,
        debtor_iban=debtor.iban,
        debtor_bic=debtor.bic,
        payment_count=len(payouts),
        control_sum_cents=sum(payout[1] for payout in payouts),
        created_at=utcnow(),
        created_by_id=actor.id if actor else None,
    )
    try:
        with db.session.begin_nested():
            db.session.add(batch)
    except IntegrityError:
        # Another request created the month's batch since live_batch() looked.
        raise RuleViolation(
            _("Month %(month)s already has a payout batch.", month=str(period)),
            code="batch_exists",
        ) from None
    for tenant_id, amount_cents, details in payouts:
        end_to_end_id = sepa_identifier(f"{reference}-{tenant_id}")
        _add_item(batch, period, end_to_end_id, tenant_id, amount_cents, details)
    db.session.flush()
    record_audit(
        "payout_batch.created",
        actor=actor,
        corporation_id=corporation_id,
        subject=f"payout_batch:{batch.id}",
        period=str(period),
        count=batch.payment_count,
        control_sum_cents=batch.control_sum_cents,
    )
    logger.info(
        "payout batch %s created for corporation %s %s: %d payments",
        batch.id,
        corporation_id,
        period,
        batch.payment_count,
    )
    return batch


def mark_batch_paid(
    actor: User | None,
    corporation_id: int,
    batch_id: int,
    *,
    paid_on: date | None = None,
) -> PayoutBatch:
    """Record that the bank paid a batch: post every hold to payout clearing."""
    batch = get_batch(actor, corporation_id, batch_id, for_update=True)
    _require_created(batch)
    paid_on = paid_on or today()
    _check_paid_on(batch, paid_on)
    clearing = ledger.corporation_account(corporation_id, AccountKind.PAYOUT_CLEARING)
    for item in batch.items:
        ledger.post_hold(
            item.hold_id,
            effective_date=paid_on,
            counter_account=clearing,
            memo=f"Payout batch {batch.id} paid, {item.end_to_end_id}",
        )
    _resolve(batch, BatchStatus.PAID, actor, paid_on, note=None)
    record_audit(
        "payout_batch.paid",
        actor=actor,
        corporation_id=corporation_id,
        subject=f"payout_batch:{batch.id}",
        paid_on=paid_on.isoformat(),
    )
    logger.info("payout batch %s marked paid", batch.id)
    return batch


def mark_batch_failed(
    actor: User | None, corporation_id: int, batch_id: int, *, reason: str
) -> PayoutBatch:
    """Record that the bank rejected a batch: void every hold."""
    batch = get_batch(actor, corporation_id, batch_id, for_update=True)
    _require_created(batch)
    reason = reason.strip()
    if not reason:
        raise field_error("reason", _("Say why the batch failed."))
    for item in batch.items:
        ledger.void_hold(
            item.hold_id, reason=f"Payout batch {batch.id} failed: {reason}"
        )
    _resolve(batch, BatchStatus.FAILED, actor, today(), note=reason[:500])
    record_audit(
        "payout_batch.failed",
        actor=actor,
        corporation_id=corporation_id,
        subject=f"payout_batch:{batch.id}",
        reason=reason[:500],
    )
    logger.info("payout batch %s marked failed", batch.id)
    return batch


def export_sepa(actor: User | None, corporation_id: int, batch_id: int) -> ExportFile:
    """Return a batch's SEPA pain.001 file, validated against the schema, audited."""
    batch = get_batch(actor, corporation_id, batch_id)
    content = build_pain001(sepa_batch(batch))
    record_audit(
        "export.sepa",
        actor=actor,
        corporation_id=corporation_id,
        subject=f"payout_batch:{batch.id}",
        period=batch.period,
        sha256=hashlib.sha256(content).hexdigest(),
        count=batch.payment_count,
        control_sum_cents=batch.control_sum_cents,
    )
    return ExportFile(f"klusbank-sepa-{batch.message_id}.xml", SEPA_MIMETYPE, content)


def sepa_batch(batch: PayoutBatch) -> SepaBatch:
    """Return the SEPA data of a stored batch, exactly as it was created."""
    return SepaBatch(
        message_id=batch.message_id,
        payment_information_id=batch.payment_information_id,
        created_at=batch.created_at,
        execution_date=batch.execution_date,
        debtor=SepaAccount(batch.debtor_name, batch.debtor_iban, batch.debtor_bic),
        payments=[
            SepaPayment(
                end_to_end_id=item.end_to_end_id,
                creditor=SepaAccount(item.account_holder, item.iban),
                amount_cents=item.amount_cents,
                remittance=item.remittance,
            )
            for item in batch.items
        ],
    )


def _payable_amounts(corporation_id: int, period: Period) -> list[tuple]:
    """Return (tenant id, cents, bank details) for each payout granted in the month.

    The amount is what the month granted, at most what is still available on
    the payout account (not held by another batch).
    """
    payouts = []
    granted = queries.granted_cents_by_tenant(
        corporation_id, AccountKind.TENANT_PAYOUT, period
    )
    for tenant_id, granted_cents in granted.items():
        account = queries.tenant_accounts(corporation_id, tenant_id)[
            AccountKind.TENANT_PAYOUT
        ]
        amount = min(granted_cents, ledger_queries.available_balance(account.id))
        if amount <= 0:
            continue
        details = queries.latest_bank_details(tenant_id)
        if details is None:
            logger.warning(
                "tenant %s has a payout of %d cents but no bank details; skipped",
                tenant_id,
                amount,
            )
            continue
        payouts.append((tenant_id, amount, details))
    return payouts


def _add_item(batch, period, end_to_end_id, tenant_id, amount_cents, details):
    tenant = db.session.get(User, tenant_id)
    with force_locale(tenant.locale):
        remittance = _(
            "Klusbank payout %(month)s, reference %(reference)s",
            month=str(period),
            reference=end_to_end_id,
        )
    account = queries.tenant_accounts(batch.corporation_id, tenant_id)[
        AccountKind.TENANT_PAYOUT
    ]
    hold = ledger.place_hold(
        account,
        amount_cents,
        idempotency_key=f"payout-batch:{batch.id}:{tenant_id}",
        memo=f"Payout batch {batch.id}, {period}",
        source_type="payout_batch",
        source_id=str(batch.id),
    )
    db.session.add(
        PayoutBatchItem(
            batch_id=batch.id,
            tenant_id=tenant_id,
            hold_id=hold.id,
            amount_cents=amount_cents,
            account_holder=sepa_text(details.account_holder or tenant.full_name, 70),
            iban=details.iban,
            end_to_end_id=end_to_end_id,
            remittance=sepa_text(remittance, 140),
        )
    )


def _check_paid_on(batch: PayoutBatch, paid_on: date) -> None:
    # The payment date decides the tax year of the payee report, so a typo
    # such as a future year would silently drop the payments from it.
    created_on = business_date(batch.created_at)
    if paid_on > today():
        raise field_error(
            "paid_on",
            _(
                "The payment date %(day)s is in the future. Enter the date on "
                "the bank statement, today or earlier.",
                day=paid_on.isoformat(),
            ),
        )
    if paid_on < created_on:
        raise field_error(
            "paid_on",
            _(
                "The payment date %(day)s is before the batch was made on "
                "%(created)s. Enter the date on the bank statement.",
                day=paid_on.isoformat(),
                created=created_on.isoformat(),
            ),
        )


def _require_created(batch: PayoutBatch) -> None:
    if batch.status == BatchStatus.PAID:
        raise RuleViolation(
            _("This payout batch is already marked paid."), code="batch_resolved"
        )
    if batch.status != BatchStatus.CREATED:
        raise RuleViolation(
            _("This payout batch is already marked failed."), code="batch_resolved"
        )


def _resolve(batch, status, actor, resolved_on, *, note) -> None:
    batch.status = status
    batch.resolved_at = utcnow()
    batch.resolved_on = resolved_on
    batch.resolved_by_id = actor.id if actor else None
    batch.resolution_note = note
    db.session.flush()
