"""Reads of the rewards engine: payout choices, settlement plans, lines and closes.

A settlement plan is the whole computation for one tenant and month, made from
the ledger and the rules without writing anything. The close books it; the
finance preview shows it.
"""

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import func, select

from klusbank.accounts.models import User
from klusbank.errors import RuleViolation
from klusbank.extensions import db
from klusbank.timeutil import Period
from rewards.engine import rules
from rewards.engine.models import (
    CloseRun,
    PayoutChoice,
    PayoutMethod,
    RuleVersion,
    SettlementLine,
    VolunteerAllowanceLimit,
)
from rewards.engine.settlement import (
    Limit,
    Rate,
    SettlementInput,
    SettlementResult,
    age_on,
    compute_settlement,
    expirable_points,
    hourly_budget_cents,
    multiplied_points,
)
from rewards.ledger import queries as ledger_queries
from rewards.ledger.models import (
    Account,
    AccountKind,
    Journal,
    JournalKind,
    JournalStatus,
    Posting,
    Side,
)

ADULT_AGE = 21


def settlement_key(corporation_code: str, period: Period, tenant_id: int) -> str:
    """Return the idempotency key of one tenant's settlement for one month."""
    return f"settle:{corporation_code}:{period}:{tenant_id}"


def shift_period(period: Period, months: int) -> Period:
    """Return the month ``months`` after (or before, when negative) a month."""
    index = period.year * 12 + period.month - 1 + months
    return Period(index // 12, index % 12 + 1)


def payout_choice_for(tenant_id: int, period: Period) -> PayoutChoice | None:
    """Return the tenant's choice in force for a month; None means rent credit."""
    query = (
        select(PayoutChoice)
        .where(
            PayoutChoice.tenant_id == tenant_id,
            PayoutChoice.applies_from <= period.first_day,
        )
        .order_by(PayoutChoice.applies_from.desc(), PayoutChoice.id.desc())
        .limit(1)
    )
    return db.session.scalar(query)


def latest_payout_choice(tenant_id: int) -> PayoutChoice | None:
    """Return the tenant's most recent choice, also when it applies only later."""
    query = (
        select(PayoutChoice)
        .where(PayoutChoice.tenant_id == tenant_id)
        .order_by(PayoutChoice.applies_from.desc(), PayoutChoice.id.desc())
        .limit(1)
    )
    return db.session.scalar(query)


def points_account(corporation_id: int, tenant_id: int) -> Account | None:
    """Return the tenant's points account without creating it."""
    query = select(Account).where(
        Account.corporation_id == corporation_id,
        Account.tenant_id == tenant_id,
        Account.kind == AccountKind.TENANT_POINTS,
    )
    return db.session.scalar(query)


def tenants_with_points(corporation_id: int) -> list[int]:
    """Return the ids of every tenant of a corporation with a points account."""
    query = (
        select(Account.tenant_id)
        .where(
            Account.corporation_id == corporation_id,
            Account.kind == AccountKind.TENANT_POINTS,
        )
        .order_by(Account.tenant_id)
    )
    return [tenant_id for tenant_id in db.session.scalars(query)]


def settlement_line(corporation_id: int, key: str) -> SettlementLine | None:
    """Return the settlement line booked under an idempotency key, if any."""
    query = select(SettlementLine).where(
        SettlementLine.corporation_id == corporation_id,
        SettlementLine.idempotency_key == key,
    )
    return db.session.scalar(query)


def settlement_lines(corporation_id: int, period: Period) -> list[SettlementLine]:
    """Return the settlement and correction lines of a month, by tenant."""
    query = (
        select(SettlementLine)
        .where(
            SettlementLine.corporation_id == corporation_id,
            SettlementLine.period == str(period),
        )
        .order_by(SettlementLine.tenant_id, SettlementLine.id)
    )
    return list(db.session.scalars(query))


def tenant_settlement_lines(tenant_id: int) -> list[SettlementLine]:
    """Return a tenant's settlement lines, newest month first."""
    query = (
        select(SettlementLine)
        .where(SettlementLine.tenant_id == tenant_id)
        .order_by(SettlementLine.period.desc(), SettlementLine.id.desc())
    )
    return list(db.session.scalars(query))


def close_runs(corporation_id: int) -> list[CloseRun]:
    """Return the closes of a corporation, newest month first."""
    query = (
        select(CloseRun)
        .where(CloseRun.corporation_id == corporation_id)
        .order_by(CloseRun.period.desc())
    )
    return list(db.session.scalars(query))


def close_run(corporation_id: int, period: Period) -> CloseRun | None:
    """Return the close of one month, if it ran."""
    query = select(CloseRun).where(
        CloseRun.corporation_id == corporation_id, CloseRun.period == str(period)
    )
    return db.session.scalar(query)


def year_to_date_cents(tenant_id: int, method: PayoutMethod, period: Period) -> int:
    """Return what was settled to a tenant by a method in the months of the year before."""
    query = select(func.coalesce(func.sum(SettlementLine.amount_cents), 0)).where(
        SettlementLine.tenant_id == tenant_id,
        SettlementLine.method == method,
        SettlementLine.period >= f"{period.year:04d}-01",
        SettlementLine.period < str(period),
    )
    return int(db.session.scalar(query))


@dataclass
class SettlementPlan:
    """The computed settlement of one tenant for one month, with its inputs."""

    tenant_id: int
    period: Period
    rule_version: RuleVersion
    method: PayoutMethod
    choice: PayoutChoice | None
    earned_points: int
    opening_points: int
    bonus_points: int
    rate: Rate
    cap_month_cents: int | None
    cap_year_cents: int | None
    year_to_date_cents: int
    minimum_payout_cents: int
    result: SettlementResult
    volunteer_limits_year: int | None = None
    volunteer_minutes: int | None = None
    volunteer_hourly_cents: int | None = None
    details: list[dict] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        """Tell whether the tenant had nothing to settle, carry or expire."""
        return (
            self.opening_points == 0
            and self.earned_points == 0
            and self.bonus_points == 0
            and self.result.expired_points == 0
        )


def plan_settlement(
    corporation_id: int, tenant_id: int, period: Period
) -> SettlementPlan:
    """Compute one tenant's settlement for a month from the ledger and the rules.

    Raises RuleViolation when no rule version is in force for the month.
    """
    rule = rules.rule_version_for(corporation_id, period)
    if rule is None:
        raise RuleViolation(
            f"No reward rules are in force for {period}; add a rule version "
            f"effective on or before {period.first_day.isoformat()}.",
            code="no_reward_rules",
        )
    account = points_account(corporation_id, tenant_id)
    opening = 0
    approvals: list[tuple[int, date, int]] = []
    expirable = 0
    if account is not None:
        opening = ledger_queries.balance(account.id, as_of=period.last_day)
        approvals = _approval_credits(account.id, period)
        if rule.expiry_months:
            expirable = _expirable(account.id, period, rule.expiry_months)

    details = _bonus_details(rule, approvals)
    bonus = sum(item["bonus_points"] for item in details)
    choice = payout_choice_for(tenant_id, period)
    method = choice.method if choice else PayoutMethod.RENT_CREDIT
    plan = SettlementPlan(
        tenant_id=tenant_id,
        period=period,
        rule_version=rule,
        method=method,
        choice=choice if method == PayoutMethod.PAYOUT else None,
        earned_points=sum(points for _, _, points in approvals),
        opening_points=opening,
        bonus_points=bonus,
        rate=_rate(rule, method),
        cap_month_cents=_caps(rule, method)[0],
        cap_year_cents=_caps(rule, method)[1],
        year_to_date_cents=year_to_date_cents(tenant_id, method, period),
        minimum_payout_cents=(
            rule.minimum_payout_cents if method == PayoutMethod.PAYOUT else 0
        ),
        result=None,  # type: ignore[arg-type]  # set below
        details=details,
    )
    limits = _limits(plan)
    if rule.is_volunteer_allowance and method == PayoutMethod.PAYOUT:
        limits += _volunteer_limits(plan, tenant_id, details)
    plan.result = compute_settlement(
        SettlementInput(
            opening_points=opening,
            bonus_points=bonus,
            rate=plan.rate,
            limits=tuple(limits),
            minimum_payout_cents=plan.minimum_payout_cents,
            expirable_points=expirable,
        )
    )
    return plan


def _rate(rule: RuleVersion, method: PayoutMethod) -> Rate:
    if method == PayoutMethod.PAYOUT:
        return Rate(rule.payout_rate_cents, rule.payout_rate_points)
    return Rate(rule.rent_credit_rate_cents, rule.rent_credit_rate_points)


def _caps(rule: RuleVersion, method: PayoutMethod) -> tuple[int | None, int | None]:
    if method == PayoutMethod.PAYOUT:
        return rule.payout_cap_month_cents, rule.payout_cap_year_cents
    return rule.rent_credit_cap_month_cents, rule.rent_credit_cap_year_cents


def _limits(plan: SettlementPlan) -> list[Limit]:
    limits = []
    if plan.cap_month_cents is not None:
        limits.append(Limit("month_cap", plan.cap_month_cents))
    if plan.cap_year_cents is not None:
        limits.append(Limit("year_cap", plan.cap_year_cents - plan.year_to_date_cents))
    return limits


def _volunteer_limits(
    plan: SettlementPlan, tenant_id: int, details: list[dict]
) -> list[Limit]:
    """Return the volunteer-allowance limits of the month and record them on the plan.

    Work without recorded minutes adds nothing to the hourly limit, so the
    engine never pays an allowance that the hours cannot justify. A tenant
    without a date of birth gets the under-21 hourly limit, the lower one.
    """
    limits = rules.volunteer_limits_for(plan.period.year)
    if limits is None:
        raise RuleViolation(
            f"No volunteer-allowance limits exist for {plan.period.year} or "
            "earlier; add the year's limits before closing.",
            code="no_volunteer_limits",
        )
    tenant = db.session.get(User, tenant_id)
    birth = tenant.date_of_birth if tenant else None
    is_adult = birth is not None and age_on(birth, plan.period.last_day) >= ADULT_AGE
    hourly = limits.hourly_21_plus_cents if is_adult else limits.hourly_under_21_cents
    minutes = sum(item["minutes"] or 0 for item in details)
    plan.volunteer_limits_year = limits.year
    plan.volunteer_minutes = minutes
    plan.volunteer_hourly_cents = hourly
    return [
        Limit("volunteer_hourly", hourly_budget_cents(minutes, hourly)),
        Limit("volunteer_month", limits.month_cents),
        Limit("volunteer_year", limits.year_cents - plan.year_to_date_cents),
    ]


def _approval_credits(account_id: int, period: Period) -> list[tuple[int, date, int]]:
    """Return (journal id, effective date, points) of the month's approval credits.

    Approvals reversed by the end of the month earn no multiplier bonus.
    """
    reversed_ids = select(Journal.reverses_journal_id).where(
        Journal.reverses_journal_id.is_not(None),
        Journal.status == JournalStatus.POSTED,
        Journal.effective_date <= period.last_day,
    )
    query = (
        select(Journal.id, Journal.effective_date, Posting.amount)
        .join(Posting, Posting.journal_id == Journal.id)
        .where(
            Posting.account_id == account_id,
            Posting.side == Side.CREDIT,
            Journal.kind == JournalKind.APPROVAL,
            Journal.status == JournalStatus.POSTED,
            Journal.period == str(period),
            Journal.id.not_in(reversed_ids),
        )
        .order_by(Journal.effective_date, Journal.id)
    )
    return [(row[0], row[1], row[2]) for row in db.session.execute(query)]


def _bonus_details(
    rule: RuleVersion, approvals: list[tuple[int, date, int]]
) -> list[dict]:
    found = rules.work_details((journal_id, day) for journal_id, day, _ in approvals)
    details = []
    for journal_id, _, points in approvals:
        work = found[journal_id]
        category, weekend = rules.multipliers_for(rule, work)
        bonus = multiplied_points(points, category, weekend) - points
        details.append(
            {
                "journal_id": journal_id,
                "work_date": work.work_date.isoformat(),
                "category_code": work.category_code,
                "minutes": work.minutes,
                "points": points,
                "category_multiplier_permille": category,
                "weekend_multiplier_permille": weekend,
                "bonus_points": bonus,
            }
        )
    return details


def _expirable(account_id: int, period: Period, expiry_months: int) -> int:
    """Return the points earned ``expiry_months`` or more months ago still unsettled."""
    rows = db.session.execute(
        select(Journal.effective_date, Posting.side, Posting.amount)
        .join(Posting, Posting.journal_id == Journal.id)
        .where(
            Posting.account_id == account_id,
            Journal.status == JournalStatus.POSTED,
            Journal.effective_date <= period.last_day,
        )
    )
    credits = []
    debits_total = 0
    for day, side, amount in rows:
        if side == Side.CREDIT:
            credits.append((day, amount))
        else:
            debits_total += amount
    earned_before = shift_period(period, 1 - expiry_months).first_day
    return expirable_points(credits, debits_total, earned_before)


def preview_close(corporation_id: int, period: Period) -> list[SettlementPlan]:
    """Return the settlement plan of every tenant who has something to settle."""
    plans = []
    for tenant_id in tenants_with_points(corporation_id):
        plan = plan_settlement(corporation_id, tenant_id, period)
        if not plan.is_empty:
            plans.append(plan)
    return plans


def user_names(user_ids: list[int]) -> dict[int, str]:
    """Return the full names of users by id."""
    if not user_ids:
        return {}
    query = select(User.id, User.full_name).where(User.id.in_(user_ids))
    return {row[0]: row[1] for row in db.session.execute(query)}


def volunteer_limits() -> list[VolunteerAllowanceLimit]:
    """Return the volunteer-allowance limits of every year on file, newest first."""
    query = select(VolunteerAllowanceLimit).order_by(
        VolunteerAllowanceLimit.year.desc()
    )
    return list(db.session.scalars(query))
