"""State changes of the rewards engine: rule versions, payout choices, settlements.

Services check permissions and rules, write through the session and flush; the
request, job or command commits once.
"""

import logging
from datetime import date

from flask_babel import gettext as _
from schwifty import IBAN
from schwifty.exceptions import SchwiftyException
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError
from stdnum.exceptions import ValidationError as StdnumValidationError
from stdnum.nl import bsn as bsn_number

from klusbank.accounts.access import today
from klusbank.accounts.models import Role, User
from klusbank.accounts.services import record_audit
from klusbank.db import utcnow
from klusbank.errors import InvalidInput, NotFound, RuleViolation, field_error
from klusbank.extensions import db
from klusbank.housing.models import Corporation
from klusbank.timeutil import Period
from rewards.engine import queries
from rewards.engine.models import (
    CategoryMultiplier,
    PayoutChoice,
    PayoutMethod,
    RuleVersion,
    SettlementKind,
    SettlementLine,
    VolunteerAllowanceLimit,
)
from rewards.engine.plans import MonthPlanner
from rewards.engine.settlement import PERMILLE
from rewards.engine.validation import rule_errors, volunteer_limit_errors
from rewards.ledger import batch as ledger_batch
from rewards.ledger import services as ledger
from rewards.ledger.journals import JournalRequest
from rewards.ledger.models import (
    AccountKind,
    JournalKind,
    LedgerPeriod,
    PeriodStatus,
    Side,
)

logger = logging.getLogger(__name__)

ACCOUNT_HOLDER_MAX_LENGTH = 70


def _require_finance(actor: User) -> None:
    if not actor.has_role(Role.FINANCE):
        raise NotFound(_("Page not found."))


def latest_closed_period(corporation_id: int) -> Period | None:
    """Return the latest month of a corporation that is closed or closing."""
    query = select(func.max(LedgerPeriod.period)).where(
        LedgerPeriod.corporation_id == corporation_id,
        LedgerPeriod.status.in_([PeriodStatus.CLOSED, PeriodStatus.CLOSING]),
    )
    latest = db.session.scalar(query)
    return Period.parse(latest) if latest else None


def create_rule_version(
    actor: User,
    *,
    effective_from: date,
    rent_credit_rate_cents: int,
    payout_rate_cents: int,
    rent_credit_rate_points: int = 1,
    payout_rate_points: int = 1,
    weekend_multiplier_permille: int = PERMILLE,
    category_multipliers: dict[str, int] | None = None,
    rent_credit_cap_month_cents: int | None = None,
    rent_credit_cap_year_cents: int | None = None,
    payout_cap_month_cents: int | None = None,
    payout_cap_year_cents: int | None = None,
    minimum_payout_cents: int = 0,
    expiry_months: int | None = None,
    is_volunteer_allowance: bool = False,
    note: str = "",
) -> RuleVersion:
    """Add a rule version of the actor's corporation, in force from a month's first day.

    A version never applies to a month that is already closed, so closed
    months keep the figures they were settled with.
    """
    _require_finance(actor)
    multipliers = {
        code.strip(): value for code, value in (category_multipliers or {}).items()
    }
    values = {
        "rent_credit_rate_cents": rent_credit_rate_cents,
        "rent_credit_rate_points": rent_credit_rate_points,
        "payout_rate_cents": payout_rate_cents,
        "payout_rate_points": payout_rate_points,
        "weekend_multiplier_permille": weekend_multiplier_permille,
        "rent_credit_cap_month_cents": rent_credit_cap_month_cents,
        "rent_credit_cap_year_cents": rent_credit_cap_year_cents,
        "payout_cap_month_cents": payout_cap_month_cents,
        "payout_cap_year_cents": payout_cap_year_cents,
        "minimum_payout_cents": minimum_payout_cents,
        "expiry_months": expiry_months,
    }
    errors = rule_errors(effective_from, values, multipliers)
    if errors:
        raise InvalidInput(_("Some fields are invalid."), errors=errors)

    period = Period.of(effective_from)
    closed = latest_closed_period(actor.corporation_id)
    if closed is not None and period <= closed:
        raise RuleViolation(
            _(
                "%(period)s is already closed; a new rule version can start "
                "on %(first)s at the earliest.",
                period=str(closed),
                first=closed.next().first_day.isoformat(),
            ),
            code="period_closed",
            errors={"effective_from": [_("This month is already closed.")]},
        )

    if _rule_version_on(actor.corporation_id, effective_from) is not None:
        raise _duplicate_rule_version(effective_from)

    version = RuleVersion(
        corporation_id=actor.corporation_id,
        effective_from=effective_from,
        rent_credit_rate_cents=rent_credit_rate_cents,
        rent_credit_rate_points=rent_credit_rate_points,
        payout_rate_cents=payout_rate_cents,
        payout_rate_points=payout_rate_points,
        weekend_multiplier_permille=weekend_multiplier_permille,
        rent_credit_cap_month_cents=rent_credit_cap_month_cents,
        rent_credit_cap_year_cents=rent_credit_cap_year_cents,
        payout_cap_month_cents=payout_cap_month_cents,
        payout_cap_year_cents=payout_cap_year_cents,
        minimum_payout_cents=minimum_payout_cents,
        expiry_months=expiry_months,
        is_volunteer_allowance=is_volunteer_allowance,
        note=note.strip(),
        created_by_id=actor.id,
        category_multipliers=[
            CategoryMultiplier(category_code=code.strip(), multiplier_permille=value)
            for code, value in sorted(multipliers.items())
        ],
    )
    try:
        # A savepoint, so a concurrent version with the same date that committed
        # first gives the rejection below and leaves the caller's session usable.
        with db.session.begin_nested():
            db.session.add(version)
            db.session.flush()
    except IntegrityError as error:
        if _rule_version_on(actor.corporation_id, effective_from) is None:
            raise
        raise _duplicate_rule_version(effective_from) from error
    record_audit(
        "reward_rules.created",
        actor=actor,
        subject=f"reward_rule_version:{version.id}",
        effective_from=effective_from.isoformat(),
    )
    logger.info(
        "rule version %s of corporation %s effective %s created by user %s",
        version.id,
        actor.corporation_id,
        effective_from,
        actor.id,
    )
    return version


def _rule_version_on(corporation_id: int, effective_from: date) -> int | None:
    return db.session.scalar(
        select(RuleVersion.id).where(
            RuleVersion.corporation_id == corporation_id,
            RuleVersion.effective_from == effective_from,
        )
    )


def _duplicate_rule_version(effective_from: date) -> RuleViolation:
    message = _(
        "A rule version from %(day)s exists already; versions are never changed, "
        "so choose another month.",
        day=effective_from.isoformat(),
    )
    return RuleViolation(
        message, code="rule_version_exists", errors={"effective_from": [message]}
    )


def add_volunteer_limits(
    year: int,
    *,
    hourly_21_plus_cents: int,
    hourly_under_21_cents: int,
    month_cents: int,
    year_cents: int,
) -> VolunteerAllowanceLimit:
    """Add the volunteer-allowance limits of a year; a year's limits never change."""
    values = {
        "hourly_21_plus_cents": hourly_21_plus_cents,
        "hourly_under_21_cents": hourly_under_21_cents,
        "month_cents": month_cents,
        "year_cents": year_cents,
    }
    errors = volunteer_limit_errors({"year": year, **values})
    if errors:
        raise InvalidInput(_("Some fields are invalid."), errors=errors)
    if db.session.get(VolunteerAllowanceLimit, year) is not None:
        raise RuleViolation(
            _(
                "The limits of %(year)d exist already; they stay as they are because "
                "settlements may have used them.",
                year=year,
            ),
            code="volunteer_limits_exist",
        )

    limits = VolunteerAllowanceLimit(year=year, **values)
    db.session.add(limits)
    db.session.flush()
    logger.info("volunteer-allowance limits of %d added", year)
    return limits


def next_close_period(corporation_id: int) -> Period:
    """Return the month that the next close settles: last month until it is closed."""
    current = Period.of(today())
    previous = current.previous()
    if ledger.period_status(corporation_id, previous) == PeriodStatus.OPEN:
        return previous
    return current


def normalise_iban(value: str) -> str:
    """Return a valid IBAN in compact form; raise InvalidInput on field ``iban``."""
    try:
        return IBAN(value or "").compact
    except SchwiftyException as error:
        raise field_error(
            "iban",
            _("This IBAN is invalid; check it against your bank card or statement."),
        ) from error


def normalise_bsn(value: str) -> str:
    """Return a BSN that passes the eleven-test; raise InvalidInput on field ``bsn``."""
    try:
        return bsn_number.validate(value or "")
    except StdnumValidationError as error:
        raise field_error(
            "bsn",
            _("This BSN is invalid; enter the 9 digits on your ID card or passport."),
        ) from error


def choose_payout_method(
    tenant: User,
    *,
    method: PayoutMethod,
    iban: str | None = None,
    account_holder: str | None = None,
    bsn: str | None = None,
    acknowledge_tax: bool = False,
    actor: User | None = None,
) -> PayoutChoice:
    """Record a tenant's choice of rent credit or payout; it applies from the next close.

    A payout needs a valid IBAN, the account holder's name, a BSN that passes
    the eleven-test and the tenant's acknowledgement that payouts are likely
    taxable and may affect benefits. Rent credit keeps no bank details or BSN.
    """
    if not tenant.has_role(Role.TENANT):
        raise NotFound(_("Page not found."))
    errors: dict[str, list[str]] = {}
    values: dict[str, str | None] = {"iban": None, "account_holder": None, "bsn": None}
    if method == PayoutMethod.PAYOUT:
        for name, raw, normalise in (
            ("iban", iban, normalise_iban),
            ("bsn", bsn, normalise_bsn),
        ):
            try:
                values[name] = normalise(raw or "")
            except InvalidInput as error:
                errors.update(error.errors)
        holder = " ".join((account_holder or "").split())
        if not holder or len(holder) > ACCOUNT_HOLDER_MAX_LENGTH:
            errors["account_holder"] = [
                _("Enter the account holder's name, at most 70 characters.")
            ]
        values["account_holder"] = holder
        if not acknowledge_tax:
            errors["acknowledge_tax"] = [
                _("Confirm that you have read the warning about tax and benefits.")
            ]
    if errors:
        raise InvalidInput(_("Some fields are invalid."), errors=errors)

    applies_from = next_close_period(tenant.corporation_id)
    choice = PayoutChoice(
        corporation_id=tenant.corporation_id,
        tenant_id=tenant.id,
        method=method,
        iban=values["iban"],
        account_holder=values["account_holder"],
        bsn=values["bsn"],
        tax_acknowledged_at=utcnow() if method == PayoutMethod.PAYOUT else None,
        applies_from=applies_from.first_day,
        actor_id=(actor or tenant).id,
    )
    db.session.add(choice)
    db.session.flush()
    record_audit(
        "payout_choice.changed",
        actor=actor or tenant,
        corporation_id=tenant.corporation_id,
        subject=f"user:{tenant.id}",
        method=method.value,
        applies_from=str(applies_from),
    )
    logger.info(
        "tenant %s chose %s from %s (choice %s)",
        tenant.id,
        method.value,
        applies_from,
        choice.id,
    )
    return choice


SETTLEMENT_ACCOUNT_KINDS = (
    AccountKind.TENANT_POINTS,
    AccountKind.TENANT_RENT_CREDIT,
    AccountKind.TENANT_PAYOUT,
    AccountKind.POINTS_ISSUED,
    AccountKind.POINTS_SETTLED,
    AccountKind.POINTS_EXPIRED,
    AccountKind.REWARD_EXPENSE,
)
PAYABLE_KINDS = (AccountKind.TENANT_RENT_CREDIT, AccountKind.TENANT_PAYOUT)


def settle_tenant(
    corporation: Corporation, tenant_id: int, period: Period
) -> SettlementLine | None:
    """Book one tenant's settlement for a month once; None when there is nothing.

    A second call for the same tenant and month returns the line of the first.
    """
    settle_tenants(corporation, MonthPlanner(corporation.id, period), [tenant_id])
    key = queries.settlement_key(corporation.code, period, tenant_id)
    return queries.settlement_line(corporation.id, key)


def settle_tenants(
    corporation: Corporation, planner: MonthPlanner, tenant_ids: list[int]
) -> list[queries.SettledLine]:
    """Book the settlements of a batch of tenants for the planner's month, each once.

    Returns the figures of every line of the batch: the lines booked now and
    those booked earlier under the same keys. Tenants with nothing to settle,
    carry or expire get no line. The journals are posted together (see
    ``rewards.ledger.batch``) and the lines inserted with one executemany.
    """
    period = planner.period
    keys = {
        tenant_id: queries.settlement_key(corporation.code, period, tenant_id)
        for tenant_id in tenant_ids
    }
    settled = queries.settled_lines(corporation.id, list(keys.values()))
    plans = [
        plan
        for plan in planner.plan(
            [tenant_id for tenant_id in tenant_ids if keys[tenant_id] not in settled]
        )
        if not plan.is_empty
    ]
    if not plans:
        return list(settled.values())

    accounts = _settlement_accounts(corporation.id, [plan.tenant_id for plan in plans])
    entries = [
        entry
        for plan in plans
        if (entry := _settlement_entry(corporation, plan, keys, accounts)) is not None
    ]
    journal_ids = ledger_batch.post_journals(corporation.id, entries)
    rows = [
        _line_row(corporation, plan, keys[plan.tenant_id], journal_ids)
        for plan in plans
    ]
    db.session.execute(insert(SettlementLine.__table__), rows)
    for plan in plans:
        _log_settlement(plan)
    return list(settled.values()) + [
        queries.SettledLine(
            tenant_id=plan.tenant_id,
            method=plan.method,
            amount_cents=plan.result.amount_cents,
            converted_points=plan.result.converted_points,
            expired_points=plan.result.expired_points,
            carried_points=plan.result.carried_points,
        )
        for plan in plans
    ]


def _settlement_accounts(
    corporation_id: int, tenant_ids: list[int]
) -> dict[tuple[int | None, AccountKind], ledger_batch.AccountRef]:
    """Return the accounts that settlements of some tenants post to, by owner and kind.

    Creates the missing ones; ``rewards.jobs.prepare_close`` creates them
    beforehand, so in a close nothing is created here.
    """
    found = ledger_batch.account_refs(
        corporation_id, SETTLEMENT_ACCOUNT_KINDS, tenant_ids
    )
    missing_tenants = [
        tenant_id
        for tenant_id in tenant_ids
        if any((tenant_id, kind) not in found for kind in PAYABLE_KINDS)
    ]
    missing_kinds = [
        kind
        for kind in SETTLEMENT_ACCOUNT_KINDS
        if not kind.is_tenant and (None, kind) not in found
    ]
    if not missing_tenants and not missing_kinds:
        return found
    ledger_batch.ensure_corporation_accounts(corporation_id, missing_kinds)
    ledger_batch.ensure_tenant_accounts(corporation_id, PAYABLE_KINDS, missing_tenants)
    return ledger_batch.account_refs(
        corporation_id, SETTLEMENT_ACCOUNT_KINDS, tenant_ids
    )


def _settlement_entry(corporation, plan, keys, accounts):
    """Return the journal of a plan for the ledger batch, or None when nothing moves.

    It debits the points converted and expired and credits the bonus on the
    tenant's points account, and moves the cents from reward expense to the
    tenant's rent-credit or payout account.
    """
    result = plan.result
    tenant_id = plan.tenant_id
    points = accounts[tenant_id, AccountKind.TENANT_POINTS]
    lines = []
    if plan.bonus_points > 0:
        issued = accounts[None, AccountKind.POINTS_ISSUED]
        lines += [
            ledger.Line(issued, Side.DEBIT, plan.bonus_points),
            ledger.Line(points, Side.CREDIT, plan.bonus_points),
        ]
    if result.converted_points > 0:
        payable_kind = (
            AccountKind.TENANT_PAYOUT
            if plan.method == PayoutMethod.PAYOUT
            else AccountKind.TENANT_RENT_CREDIT
        )
        lines += [
            ledger.Line(points, Side.DEBIT, result.converted_points),
            ledger.Line(
                accounts[None, AccountKind.POINTS_SETTLED],
                Side.CREDIT,
                result.converted_points,
            ),
            ledger.Line(
                accounts[None, AccountKind.REWARD_EXPENSE],
                Side.DEBIT,
                result.amount_cents,
            ),
            ledger.Line(
                accounts[tenant_id, payable_kind], Side.CREDIT, result.amount_cents
            ),
        ]
    if result.expired_points > 0:
        lines += [
            ledger.Line(points, Side.DEBIT, result.expired_points),
            ledger.Line(
                accounts[None, AccountKind.POINTS_EXPIRED],
                Side.CREDIT,
                result.expired_points,
            ),
        ]
    if not lines:
        return None
    request = JournalRequest(
        corporation_id=corporation.id,
        kind=JournalKind.SETTLEMENT,
        idempotency_key=keys[tenant_id],
        effective_date=plan.period.last_day,
        memo=_settlement_memo(plan),
        source_type="settlement",
        source_id=f"{plan.period}:{tenant_id}",
        lines=lines,
        rule_version_id=plan.rule_version.id,
    )
    payload = {
        "tenant_id": tenant_id,
        "period": str(plan.period),
        "method": plan.method.value,
        "rule_version_id": plan.rule_version.id,
        "bonus_points": plan.bonus_points,
        "converted_points": result.converted_points,
        "amount_cents": result.amount_cents,
        "expired_points": result.expired_points,
    }
    return ledger_batch.BatchEntry(request, payload)


def _line_row(corporation, plan, key: str, journal_ids: dict[str, int]) -> dict:
    """Return the settlement line of a plan as a row, with every figure of the computation."""
    result = plan.result
    return {
        "corporation_id": corporation.id,
        "tenant_id": plan.tenant_id,
        "period": str(plan.period),
        "kind": SettlementKind.SETTLEMENT,
        "idempotency_key": key,
        "method": plan.method,
        "rule_version_id": plan.rule_version.id,
        "payout_choice_id": plan.choice.id if plan.choice else None,
        "journal_id": journal_ids.get(key),
        "earned_points": plan.earned_points,
        "opening_points": plan.opening_points,
        "bonus_points": plan.bonus_points,
        "available_points": result.available_points,
        "rate_cents": plan.rate.cents,
        "rate_points": plan.rate.points,
        "uncapped_cents": result.uncapped_cents,
        "cap_month_cents": plan.cap_month_cents,
        "cap_year_cents": plan.cap_year_cents,
        "year_to_date_cents": plan.year_to_date_cents,
        "limited_by": result.limited_by,
        "capped_points": result.capped_points,
        "minimum_payout_cents": plan.minimum_payout_cents,
        "is_below_minimum": result.is_below_minimum,
        "remainder_points": result.remainder_points,
        "converted_points": result.converted_points,
        "amount_cents": result.amount_cents,
        "expired_points": result.expired_points,
        "carried_points": result.carried_points,
        "volunteer_limits_year": plan.volunteer_limits_year,
        "volunteer_minutes": plan.volunteer_minutes,
        "volunteer_hourly_cents": plan.volunteer_hourly_cents,
        "details": {"approvals": plan.details},
        "corrects_line_id": None,
        "memo": _settlement_memo(plan),
        "created_at": utcnow(),
    }


def _log_settlement(plan) -> None:
    result = plan.result
    logger.info(
        "settled tenant %s for %s: %d points to %d cents %s, %d expired, %d carried",
        plan.tenant_id,
        plan.period,
        result.converted_points,
        result.amount_cents,
        plan.method.value,
        result.expired_points,
        result.carried_points,
    )


def _settlement_memo(plan) -> str:
    result = plan.result
    text = (
        f"Settlement {plan.period}: {result.converted_points} points to "
        f"{result.amount_cents} cents {plan.method.value.replace('_', ' ')} at "
        f"{plan.rate.cents} cents per {plan.rate.points} points "
        f"(rules {plan.rule_version.id})"
    )
    if plan.bonus_points:
        text += f"; {plan.bonus_points} bonus points from multipliers"
    if result.expired_points:
        text += f"; {result.expired_points} points expired"
    return text


def record_correction(
    actor: User,
    line_id: int,
    *,
    amount_cents: int,
    reason: str,
    idempotency_key: str,
) -> SettlementLine:
    """Correct a settled amount in the current open month, linked to the line it corrects.

    A positive amount adds to the tenant's rent credit or payout, a negative one
    takes back; a closed month itself is never changed.
    """
    _require_finance(actor)
    original = db.session.get(SettlementLine, line_id)
    if original is None or original.corporation_id != actor.corporation_id:
        raise NotFound(_("Page not found."))
    if amount_cents == 0:
        raise field_error("amount_cents", _("Enter an amount other than zero."))
    if not reason.strip():
        raise field_error("reason", _("Say why the amount is corrected."))
    corporation = db.session.get(Corporation, actor.corporation_id)
    key = f"correction:{corporation.code}:{idempotency_key}"
    existing = queries.settlement_line(corporation.id, key)
    if existing is not None:
        return existing

    period = Period.of(today())
    payable_kind = (
        AccountKind.TENANT_PAYOUT
        if original.method == PayoutMethod.PAYOUT
        else AccountKind.TENANT_RENT_CREDIT
    )
    payable = ledger.tenant_account(corporation.id, original.tenant_id, payable_kind)
    expense = ledger.corporation_account(corporation.id, AccountKind.REWARD_EXPENSE)
    amount = abs(amount_cents)
    to_tenant = amount_cents > 0
    memo = f"Correction of settlement {original.period} (line {original.id}): {reason}"
    journal = ledger.post_journal(
        corporation.id,
        kind=JournalKind.CORRECTION,
        idempotency_key=key,
        effective_date=today(),
        memo=memo,
        source_type="settlement_line",
        source_id=str(original.id),
        lines=[
            ledger.Line(expense, Side.DEBIT if to_tenant else Side.CREDIT, amount),
            ledger.Line(payable, Side.CREDIT if to_tenant else Side.DEBIT, amount),
        ],
        rule_version_id=original.rule_version_id,
        payload={"line_id": original.id, "amount_cents": amount_cents},
        actor_id=actor.id,
    )
    line = SettlementLine(
        corporation_id=corporation.id,
        tenant_id=original.tenant_id,
        period=str(period),
        kind=SettlementKind.CORRECTION,
        idempotency_key=key,
        method=original.method,
        rule_version_id=original.rule_version_id,
        payout_choice_id=original.payout_choice_id,
        journal_id=journal.id,
        rate_cents=original.rate_cents,
        rate_points=original.rate_points,
        amount_cents=amount_cents,
        details={},
        corrects_line_id=original.id,
        memo=memo,
    )
    db.session.add(line)
    db.session.flush()
    record_audit(
        "settlement.corrected",
        actor=actor,
        subject=f"settlement_line:{original.id}",
        amount_cents=amount_cents,
    )
    logger.info(
        "settlement line %s corrected by %d cents in %s by user %s",
        original.id,
        amount_cents,
        period,
        actor.id,
    )
    return line
