"""Reads for statements and exports: closed months from the ledger and the engine.

Every figure comes from posted journals of closed months, so reading it twice
gives the same result. Balances are signed on the account's normal side;
every tenant account is credit-normal, so a credit adds to what is owed to
the tenant.
"""

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

from sqlalchemy import and_, case, func, or_, select

from klusbank.accounts.models import User
from klusbank.errors import NotFound, RuleViolation
from klusbank.extensions import db
from klusbank.housing.models import Corporation, Tenancy, Unit
from klusbank.timeutil import Period, business_date
from rewards.engine.models import PayoutChoice
from rewards.ledger.models import (
    Account,
    AccountKind,
    Hold,
    HoldResolution,
    Journal,
    JournalKind,
    JournalStatus,
    LedgerPeriod,
    PeriodSnapshot,
    PeriodStatus,
    Posting,
    ResolutionKind,
    Side,
)

# Journals that move money out of a tenant's euro accounts to the bank or the
# rent administration, as opposed to granting it.
OUTGOING_JOURNAL_KINDS = (JournalKind.PAYOUT, JournalKind.RENT_CREDIT)


@dataclass(frozen=True)
class TenantPlace:
    """A tenant's unit, address and tenancy at the end of a month."""

    unit_external_id: str
    tenancy_reference: str
    street_and_number: str
    postcode: str
    city: str


def corporation_by_id(corporation_id: int) -> Corporation:
    """Return a corporation or raise NotFound."""
    corporation = db.session.get(Corporation, corporation_id)
    if corporation is None:
        raise NotFound("Corporation not found.")
    return corporation


def closed_ledger_period(corporation_id: int, period: Period) -> LedgerPeriod:
    """Return the closed ledger month, or raise RuleViolation when it is not closed."""
    ledger_period = db.session.scalar(
        select(LedgerPeriod).where(
            LedgerPeriod.corporation_id == corporation_id,
            LedgerPeriod.period == str(period),
        )
    )
    if ledger_period is None or ledger_period.status != PeriodStatus.CLOSED:
        raise RuleViolation(
            f"Month {period} is not closed yet; statements and exports are made "
            "only from closed months.",
            code="period_not_closed",
        )
    return ledger_period


def closed_periods(corporation_id: int) -> list[Period]:
    """Return the closed months of a corporation, newest first."""
    rows = db.session.scalars(
        select(LedgerPeriod.period)
        .where(
            LedgerPeriod.corporation_id == corporation_id,
            LedgerPeriod.status == PeriodStatus.CLOSED,
        )
        .order_by(LedgerPeriod.period.desc())
    )
    return [Period.parse(text) for text in rows]


def statement_tenant_ids(corporation_id: int, period: Period) -> list[int]:
    """Return the tenants who get a statement for a closed month.

    Those are the tenants with any tenant account that moved in the month or
    has a balance at its end, according to the month's snapshot.
    """
    ledger_period = closed_ledger_period(corporation_id, period)
    query = (
        select(Account.tenant_id)
        .join(PeriodSnapshot, PeriodSnapshot.account_id == Account.id)
        .where(
            PeriodSnapshot.ledger_period_id == ledger_period.id,
            Account.tenant_id.is_not(None),
            or_(
                PeriodSnapshot.period_debits > 0,
                PeriodSnapshot.period_credits > 0,
                PeriodSnapshot.closing_balance != 0,
            ),
        )
        .distinct()
        .order_by(Account.tenant_id)
    )
    return list(db.session.scalars(query))


def tenant_statement_periods(corporation_id: int, tenant_id: int) -> list[Period]:
    """Return the closed months with a statement for one tenant, newest first."""
    query = (
        select(LedgerPeriod.period)
        .join(PeriodSnapshot, PeriodSnapshot.ledger_period_id == LedgerPeriod.id)
        .join(Account, Account.id == PeriodSnapshot.account_id)
        .where(
            LedgerPeriod.corporation_id == corporation_id,
            LedgerPeriod.status == PeriodStatus.CLOSED,
            Account.tenant_id == tenant_id,
            or_(
                PeriodSnapshot.period_debits > 0,
                PeriodSnapshot.period_credits > 0,
                PeriodSnapshot.closing_balance != 0,
            ),
        )
        .distinct()
        .order_by(LedgerPeriod.period.desc())
    )
    return [Period.parse(text) for text in db.session.scalars(query)]


def tenant_accounts(corporation_id: int, tenant_id: int) -> dict[AccountKind, Account]:
    """Return the tenant's existing accounts by kind, without creating any."""
    accounts = db.session.scalars(
        select(Account).where(
            Account.corporation_id == corporation_id, Account.tenant_id == tenant_id
        )
    )
    return {account.kind: account for account in accounts}


def signed_amount():
    """Return the SQL expression of a tenant posting's amount, signed for its balance."""
    return case((Posting.side == Side.CREDIT, Posting.amount), else_=-Posting.amount)


def balances_before(account_ids: list[int], day: date) -> dict[int, int]:
    """Return the balance of tenant accounts at the end of the day before ``day``."""
    if not account_ids:
        return {}
    rows = db.session.execute(
        select(Posting.account_id, func.sum(signed_amount()))
        .join(Journal, Journal.id == Posting.journal_id)
        .where(
            Posting.account_id.in_(account_ids),
            Journal.status == JournalStatus.POSTED,
            Journal.effective_date < day,
        )
        .group_by(Posting.account_id)
    )
    balances = {account_id: 0 for account_id in account_ids}
    balances.update({account_id: int(total) for account_id, total in rows})
    return balances


def postings_between(account_ids: list[int], first_day: date, last_day: date):
    """Return (posting, journal) pairs of tenant accounts effective in a date range."""
    if not account_ids:
        return []
    query = (
        select(Posting, Journal)
        .join(Journal, Journal.id == Posting.journal_id)
        .where(
            Posting.account_id.in_(account_ids),
            Journal.status == JournalStatus.POSTED,
            Journal.effective_date >= first_day,
            Journal.effective_date <= last_day,
        )
        .order_by(Journal.effective_date, Journal.id, Posting.id)
    )
    return list(db.session.execute(query))


def paid_out_cents(account_id: int, first_day: date, last_day: date) -> int:
    """Return what payout journals took from a payout account in a date range."""
    total = db.session.scalar(
        select(func.coalesce(func.sum(Posting.amount), 0))
        .join(Journal, Journal.id == Posting.journal_id)
        .where(
            Posting.account_id == account_id,
            Posting.side == Side.DEBIT,
            Journal.status == JournalStatus.POSTED,
            Journal.kind == JournalKind.PAYOUT,
            Journal.effective_date >= first_day,
            Journal.effective_date <= last_day,
        )
    )
    return int(total)


def granted_cents_by_tenant(
    corporation_id: int, kind: AccountKind, period: Period
) -> dict[int, int]:
    """Return, per tenant, the net euros granted on one account kind in a month.

    Granted means every journal except payouts and rent credit bookings, so
    settlements, their corrections and reversals count. Tenants with a net of
    zero are left out.
    """
    query = (
        select(Account.tenant_id, func.sum(signed_amount()))
        .join(Posting, Posting.account_id == Account.id)
        .join(Journal, Journal.id == Posting.journal_id)
        .where(
            Account.corporation_id == corporation_id,
            Account.kind == kind,
            Journal.status == JournalStatus.POSTED,
            Journal.kind.not_in(OUTGOING_JOURNAL_KINDS),
            Journal.effective_date >= period.first_day,
            Journal.effective_date <= period.last_day,
        )
        .group_by(Account.tenant_id)
        .order_by(Account.tenant_id)
    )
    return {
        tenant_id: int(total)
        for tenant_id, total in db.session.execute(query)
        if int(total) != 0
    }


def tenant_place(tenant_id: int, on: date) -> TenantPlace | None:
    """Return the unit and tenancy of a tenant on a day, else their latest before it."""
    query = (
        select(Tenancy, Unit)
        .join(Unit, Unit.id == Tenancy.unit_id)
        .where(Tenancy.user_id == tenant_id, Tenancy.starts_on <= on)
        .order_by(
            # A tenancy running on the day first, then the one that ended last.
            case((or_(Tenancy.ends_on.is_(None), Tenancy.ends_on >= on), 0), else_=1),
            Tenancy.starts_on.desc(),
            Tenancy.id.desc(),
        )
        .limit(1)
    )
    row = db.session.execute(query).first()
    if row is None:
        return None
    tenancy, unit = row
    return TenantPlace(
        unit_external_id=unit.external_id,
        tenancy_reference=tenancy.reference,
        street_and_number=f"{unit.street} {unit.house_number}",
        postcode=unit.postcode,
        city=unit.city,
    )


def latest_bank_details(tenant_id: int, on: date | None = None) -> PayoutChoice | None:
    """Return the tenant's latest payout choice with IBAN and BSN, chosen up to a day."""
    query = select(PayoutChoice).where(
        PayoutChoice.tenant_id == tenant_id,
        PayoutChoice.iban.is_not(None),
        PayoutChoice.bsn.is_not(None),
    )
    if on is not None:
        query = query.where(PayoutChoice.applies_from <= on)
    query = query.order_by(PayoutChoice.chosen_at.desc(), PayoutChoice.id.desc())
    return db.session.scalars(query.limit(1)).first()


def tenant_user(corporation_id: int, tenant_id: int) -> User:
    """Return a user of the corporation, or raise NotFound."""
    user = db.session.get(User, tenant_id)
    if user is None or user.corporation_id != corporation_id:
        raise NotFound("Tenant not found.")
    return user


def ledger_postings(corporation_id: int, period: Period) -> Iterator[tuple]:
    """Yield (posting, journal, account) of every posted journal in a month, in order."""
    query = (
        select(Posting, Journal, Account)
        .join(Journal, Journal.id == Posting.journal_id)
        .join(Account, Account.id == Posting.account_id)
        .where(
            Journal.corporation_id == corporation_id,
            Journal.status == JournalStatus.POSTED,
            Journal.effective_date >= period.first_day,
            Journal.effective_date <= period.last_day,
        )
        .order_by(Journal.effective_date, Journal.id, Posting.id)
        .execution_options(yield_per=1000)
    )
    yield from db.session.execute(query)


def tenancy_references(corporation_id: int, on: date) -> dict[int, str]:
    """Return each tenant's tenancy reference on a day (latest tenancy otherwise)."""
    query = (
        select(Tenancy.user_id, Tenancy.reference)
        .join(Unit, Unit.id == Tenancy.unit_id)
        .where(Unit.corporation_id == corporation_id, Tenancy.starts_on <= on)
        .order_by(Tenancy.user_id, Tenancy.starts_on, Tenancy.id)
    )
    references: dict[int, str] = {}
    for user_id, reference in db.session.execute(query):
        references[user_id] = reference  # the latest start wins
    return references


@dataclass(frozen=True)
class Payment:
    """A payout hold posted as paid: who, how much, when, and its batch item."""

    tenant_id: int
    amount_cents: int
    paid_on: date
    hold_id: int


def payments_in_year(
    corporation_id: int, year: int, tenant_id: int | None = None
) -> list[Payment]:
    """Return the payouts paid (debited from payout accounts) in a calendar year."""
    query = (
        select(Account.tenant_id, Posting.amount, Journal.effective_date, Hold.id)
        .join(Posting, Posting.account_id == Account.id)
        .join(Journal, Journal.id == Posting.journal_id)
        .outerjoin(
            HoldResolution,
            and_(
                HoldResolution.journal_id == Journal.id,
                HoldResolution.kind == ResolutionKind.POSTED,
            ),
        )
        .outerjoin(Hold, Hold.id == HoldResolution.hold_id)
        .where(
            Account.corporation_id == corporation_id,
            Account.kind == AccountKind.TENANT_PAYOUT,
            Posting.side == Side.DEBIT,
            Journal.status == JournalStatus.POSTED,
            Journal.kind == JournalKind.PAYOUT,
            Journal.effective_date >= date(year, 1, 1),
            Journal.effective_date <= date(year, 12, 31),
        )
        .order_by(Account.tenant_id, Journal.effective_date, Journal.id)
    )
    if tenant_id is not None:
        query = query.where(Account.tenant_id == tenant_id)
    return [
        Payment(tenant, int(amount), paid_on, hold_id)
        for tenant, amount, paid_on, hold_id in db.session.execute(query)
    ]


def payment_totals(corporation_id: int, year: int) -> dict[int, tuple[int, int]]:
    """Return per tenant the number and total of payouts paid in a calendar year."""
    totals: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for payment in payments_in_year(corporation_id, year):
        totals[payment.tenant_id][0] += 1
        totals[payment.tenant_id][1] += payment.amount_cents
    return {tenant: (count, cents) for tenant, (count, cents) in totals.items()}


def closed_on(ledger_period: LedgerPeriod) -> date:
    """Return the business date on which a ledger month was closed."""
    return business_date(ledger_period.closed_at)
