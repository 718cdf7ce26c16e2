"""Plain data for statements and yearly overviews, and the builders that collect it.

The PDF templates receive only these frozen dataclasses, never ORM objects, so
a statement is a pure function of its data: rendering it twice gives the same
text and figures. The builders read closed months only.
"""

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select

from klusbank.extensions import db
from klusbank.timeutil import Period
from rewards.engine.models import SettlementLine
from rewards.ledger.models import Account, AccountKind, JournalKind, Side
from rewards.statements import queries
from rewards.statements.models import PayoutBatchItem


@dataclass(frozen=True)
class ChoreLine:
    """An approved chore that credited points in the month."""

    approved_on: date
    title: str
    points: int


@dataclass(frozen=True)
class PointsMovement:
    """Any other change of the points balance: settlement, expiry, correction."""

    effective_date: date
    kind: str
    description: str
    points: int  # signed: positive adds to the balance


@dataclass(frozen=True)
class Conversion:
    """One settlement line: how points became rent credit or a payout."""

    kind: str  # settlement or correction
    method: str  # rent_credit or payout
    rule_version_id: int | None
    rule_effective_from: date | None
    rate_cents: int
    rate_points: int
    opening_points: int
    bonus_points: int
    available_points: int
    uncapped_cents: int
    cap_month_cents: int | None
    cap_year_cents: int | None
    year_to_date_cents: int
    limited_by: str | None
    capped_points: int
    minimum_payout_cents: int
    is_below_minimum: bool
    remainder_points: int
    converted_points: int
    amount_cents: int
    expired_points: int
    carried_points: int


@dataclass(frozen=True)
class MoneyAccount:
    """A tenant's euro account in the month: opening, credited, paid, closing."""

    opening_cents: int
    credited_cents: int
    paid_cents: int
    closing_cents: int


@dataclass(frozen=True)
class StatementData:
    """Everything one tenant's statement for one closed month shows."""

    corporation_id: int
    corporation_name: str
    tenant_id: int
    tenant_name: str
    locale: str
    street_and_number: str
    postcode_and_city: str
    unit_external_id: str
    tenancy_reference: str
    period: str  # YYYY-MM
    first_day: date
    last_day: date
    closed_on: date
    checksum: str
    opening_points: int
    earned_points: int
    closing_points: int
    chores: tuple[ChoreLine, ...]
    movements: tuple[PointsMovement, ...]
    conversions: tuple[Conversion, ...]
    rent_credit: MoneyAccount
    payout: MoneyAccount
    paid_this_year_cents: int

    @property
    def rent_credit_cents(self) -> int:
        """Rent credit granted in the month (corrections included)."""
        return self.rent_credit.credited_cents

    @property
    def payout_cents(self) -> int:
        """Payout granted in the month, to be paid in the next SEPA batch."""
        return self.payout.credited_cents


@dataclass(frozen=True)
class PaymentLine:
    """One payout transferred to the tenant."""

    paid_on: date
    period: str  # the month the payout was earned in
    reference: str  # the SEPA end-to-end id
    amount_cents: int


@dataclass(frozen=True)
class YearlyOverviewData:
    """The payouts of one tenant in one calendar year, for their tax return."""

    corporation_id: int
    corporation_name: str
    tenant_id: int
    tenant_name: str
    locale: str
    street_and_number: str
    postcode_and_city: str
    year: int
    payments: tuple[PaymentLine, ...]

    @property
    def total_cents(self) -> int:
        return sum(payment.amount_cents for payment in self.payments)


def build_statement(
    corporation_id: int, tenant_id: int, period: Period
) -> StatementData:
    """Collect one tenant's statement for a closed month from the ledger and engine."""
    ledger_period = queries.closed_ledger_period(corporation_id, period)
    corporation = queries.corporation_by_id(corporation_id)
    tenant = queries.tenant_user(corporation_id, tenant_id)
    place = queries.tenant_place(tenant_id, period.last_day)
    accounts = queries.tenant_accounts(corporation_id, tenant_id)
    account_ids = [account.id for account in accounts.values()]
    opening = queries.balances_before(account_ids, period.first_day)
    points_id = _account_id(accounts, AccountKind.TENANT_POINTS)

    chores: list[ChoreLine] = []
    # A settlement journal can move points several times (bonus in, converted
    # and expired out), so other movements are summed per journal.
    movements: dict[int, PointsMovement] = {}
    euro = {AccountKind.TENANT_RENT_CREDIT: [0, 0], AccountKind.TENANT_PAYOUT: [0, 0]}
    kinds_by_id = {account.id: account.kind for account in accounts.values()}
    for posting, journal in queries.postings_between(
        account_ids, period.first_day, period.last_day
    ):
        amount = posting.amount if posting.side == Side.CREDIT else -posting.amount
        kind = kinds_by_id[posting.account_id]
        if kind == AccountKind.TENANT_POINTS and journal.kind == JournalKind.APPROVAL:
            chores.append(ChoreLine(journal.effective_date, journal.memo, amount))
        elif kind == AccountKind.TENANT_POINTS:
            earlier = movements.get(journal.id)
            movements[journal.id] = PointsMovement(
                journal.effective_date,
                journal.kind.value,
                journal.memo,
                amount + (earlier.points if earlier else 0),
            )
        elif journal.kind in queries.OUTGOING_JOURNAL_KINDS:
            euro[kind][1] -= amount
        else:
            euro[kind][0] += amount
    movements_list = [movement for movement in movements.values() if movement.points]

    opening_points = opening.get(points_id, 0)
    earned_points = sum(chore.points for chore in chores)
    moved_points = sum(movement.points for movement in movements_list)
    return StatementData(
        corporation_id=corporation.id,
        corporation_name=corporation.name,
        tenant_id=tenant.id,
        tenant_name=tenant.full_name,
        locale=tenant.locale,
        street_and_number=place.street_and_number if place else "",
        postcode_and_city=f"{place.postcode} {place.city}" if place else "",
        unit_external_id=place.unit_external_id if place else "",
        tenancy_reference=place.tenancy_reference if place else "",
        period=str(period),
        first_day=period.first_day,
        last_day=period.last_day,
        closed_on=queries.closed_on(ledger_period),
        checksum=ledger_period.checksum or "",
        opening_points=opening_points,
        earned_points=earned_points,
        closing_points=opening_points + earned_points + moved_points,
        chores=tuple(chores),
        movements=tuple(movements_list),
        conversions=tuple(_conversions(corporation_id, tenant_id, period)),
        rent_credit=_money_account(
            opening, accounts, AccountKind.TENANT_RENT_CREDIT, euro
        ),
        payout=_money_account(opening, accounts, AccountKind.TENANT_PAYOUT, euro),
        paid_this_year_cents=_paid_this_year(accounts, period),
    )


def build_yearly_overview(
    corporation_id: int, tenant_id: int, year: int
) -> YearlyOverviewData:
    """Collect what a tenant was paid in a calendar year, payment by payment."""
    corporation = queries.corporation_by_id(corporation_id)
    tenant = queries.tenant_user(corporation_id, tenant_id)
    place = queries.tenant_place(tenant_id, date(year, 12, 31))
    payments = queries.payments_in_year(corporation_id, year, tenant_id)
    items = _batch_items_by_hold([payment.hold_id for payment in payments])
    lines = []
    for payment in payments:
        item = items.get(payment.hold_id)
        lines.append(
            PaymentLine(
                paid_on=payment.paid_on,
                period=item.batch.period if item else "",
                reference=item.end_to_end_id if item else "",
                amount_cents=payment.amount_cents,
            )
        )
    return YearlyOverviewData(
        corporation_id=corporation.id,
        corporation_name=corporation.name,
        tenant_id=tenant.id,
        tenant_name=tenant.full_name,
        locale=tenant.locale,
        street_and_number=place.street_and_number if place else "",
        postcode_and_city=f"{place.postcode} {place.city}" if place else "",
        year=year,
        payments=tuple(lines),
    )


def _account_id(accounts: dict[AccountKind, Account], kind: AccountKind) -> int | None:
    account = accounts.get(kind)
    return account.id if account else None


def _money_account(
    opening: dict[int, int],
    accounts: dict[AccountKind, Account],
    kind: AccountKind,
    movements: dict[AccountKind, list[int]],
) -> MoneyAccount:
    opening_cents = opening.get(_account_id(accounts, kind), 0)
    credited, paid = movements[kind]
    return MoneyAccount(opening_cents, credited, paid, opening_cents + credited - paid)


def _paid_this_year(accounts: dict[AccountKind, Account], period: Period) -> int:
    account = accounts.get(AccountKind.TENANT_PAYOUT)
    if account is None:
        return 0
    return queries.paid_out_cents(account.id, date(period.year, 1, 1), period.last_day)


def _conversions(
    corporation_id: int, tenant_id: int, period: Period
) -> list[Conversion]:
    lines = db.session.scalars(
        select(SettlementLine)
        .where(
            SettlementLine.corporation_id == corporation_id,
            SettlementLine.tenant_id == tenant_id,
            SettlementLine.period == str(period),
        )
        .order_by(SettlementLine.id)
    )
    return [
        Conversion(
            kind=line.kind.value,
            method=line.method.value,
            rule_version_id=line.rule_version_id,
            rule_effective_from=(
                line.rule_version.effective_from if line.rule_version else None
            ),
            rate_cents=line.rate_cents,
            rate_points=line.rate_points,
            opening_points=line.opening_points,
            bonus_points=line.bonus_points,
            available_points=line.available_points,
            uncapped_cents=line.uncapped_cents,
            cap_month_cents=line.cap_month_cents,
            cap_year_cents=line.cap_year_cents,
            year_to_date_cents=line.year_to_date_cents,
            limited_by=line.limited_by,
            capped_points=line.capped_points,
            minimum_payout_cents=line.minimum_payout_cents,
            is_below_minimum=line.is_below_minimum,
            remainder_points=line.remainder_points,
            converted_points=line.converted_points,
            amount_cents=line.amount_cents,
            expired_points=line.expired_points,
            carried_points=line.carried_points,
        )
        for line in lines
    ]


def _batch_items_by_hold(hold_ids: list[int]) -> dict[int, PayoutBatchItem]:
    known = [hold_id for hold_id in hold_ids if hold_id is not None]
    if not known:
        return {}
    items = db.session.scalars(
        select(PayoutBatchItem).where(PayoutBatchItem.hold_id.in_(known))
    )
    return {item.hold_id: item for item in items}
