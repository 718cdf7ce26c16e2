"""Settlement plans of a batch of tenants, read with a few set-based queries.

A settlement plan is the whole computation for one tenant and month, made from
the ledger and the rules without writing anything. The close books it and the
finance preview shows it. ``MonthPlanner`` reads the rule version with its
multipliers once per month and then plans tenants a batch at a time. The
opening balances, the month's approval credits, the payout choices in force
and the year-to-date sums of a batch come from one query each. So the number
of statements grows with the number of batches, not with the number of
tenants, and memory holds one batch at a time.
"""

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date

from flask import current_app
from sqlalchemy import case, func, select
from sqlalchemy.orm import aliased

from klusbank.accounts.models import User
from klusbank.errors import RuleViolation
from klusbank.extensions import db
from klusbank.timeutil import Period
from rewards.engine import rules
from rewards.engine.models import (
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
# Bounds of the REWARDS_CLOSE_BATCH_TENANTS setting: the tenants planned and
# booked together. A batch's IN lists hold one parameter per tenant, and
# SQLite 3.32 and later allow 32,766 parameters in a statement.
MAX_TENANT_BATCH = 10_000
# Approval journals per call of the work details provider.
WORK_DETAILS_BATCH = 5_000
# Rows fetched at a time when reading every posting of a batch's accounts.
POSTINGS_FETCH_ROWS = 2_000

# (journal id, effective date, points) of one approval credit.
Approval = tuple[int, date, int]


@dataclass
class SettlementPlan:
    """The computed settlement of one tenant for one month, with its inputs."""

    tenant_id: int
    period: Period
    rule_version: RuleVersion
    method: PayoutMethod
    choice: "ChoiceInForce | None"
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


def shift_period(period: Period, months: int) -> Period:
    """Return the month ``months`` after (or before, when negative) a month."""
    index = period.year * 12 + period.month - 1 + months
    return Period(index // 12, index % 12 + 1)


def batch_size() -> int:
    """Return the REWARDS_CLOSE_BATCH_TENANTS setting, checked."""
    size = current_app.config.get("REWARDS_CLOSE_BATCH_TENANTS", 500)
    if not isinstance(size, int) or not 1 <= size <= MAX_TENANT_BATCH:
        raise ValueError(
            f"REWARDS_CLOSE_BATCH_TENANTS={size!r} is invalid; "
            f"set a whole number from 1 to {MAX_TENANT_BATCH}"
        )
    return size


def tenant_batches(corporation_id: int, size: int | None = None) -> Iterator[list[int]]:
    """Yield the ids of the tenants with a points account in id order, a batch at a time.

    ``size`` defaults to the REWARDS_CLOSE_BATCH_TENANTS setting.
    """
    size = size or batch_size()
    after = 0
    while True:
        batch = list(
            db.session.scalars(
                select(Account.tenant_id)
                .where(
                    Account.corporation_id == corporation_id,
                    Account.kind == AccountKind.TENANT_POINTS,
                    Account.tenant_id > after,
                )
                .order_by(Account.tenant_id)
                .limit(size)
            )
        )
        if batch:
            yield batch
        if len(batch) < size:
            return
        after = batch[-1]


@dataclass(frozen=True)
class ChoiceInForce:
    """The payout choice (a ``reward_payout_choices`` row) in force for a tenant."""

    id: int
    method: PayoutMethod


@dataclass
class _BatchReads:
    """Inputs that the plans of one batch of tenants are computed from."""

    points_accounts: dict[int, int]
    openings: dict[int, int]
    approvals: dict[int, list[Approval]]
    expirable: dict[int, int]
    work: dict[int, rules.WorkDetails]
    choices: dict[int, "ChoiceInForce"]
    year_to_date: dict[tuple[int, PayoutMethod], int]
    dates_of_birth: dict[int, date | None]


class MonthPlanner:
    """Plan the settlements of one corporation's month, a batch of tenants at a time."""

    def __init__(self, corporation_id: int, period: Period) -> None:
        self.corporation_id = corporation_id
        self.period = period
        self._rule: RuleVersion | None = None
        # Multipliers by category and work date: few pairs serve a month.
        self._multipliers: dict[tuple[str | None, date], tuple[int, int]] = {}
        self._volunteer_limits: VolunteerAllowanceLimit | None = None

    @property
    def rule(self) -> RuleVersion:
        """Return the rule version in force, read with its multipliers on first use.

        Raises RuleViolation when no rule version is in force for the month.
        """
        if self._rule is None:
            rule = rules.rule_version_for(self.corporation_id, self.period)
            if rule is None:
                raise RuleViolation(
                    f"No reward rules are in force for {self.period}; add a rule "
                    f"version effective on or before "
                    f"{self.period.first_day.isoformat()}.",
                    code="no_reward_rules",
                )
            # Loaded once here, so multipliers_for reads them from memory.
            list(rule.category_multipliers)
            if rule.is_volunteer_allowance:
                self._volunteer_limits = rules.volunteer_limits_for(self.period.year)
            self._rule = rule
        return self._rule

    def plan(self, tenant_ids: list[int]) -> list[SettlementPlan]:
        """Compute the settlement of each tenant in ``tenant_ids``, in that order."""
        if not tenant_ids:
            return []
        rule = self.rule
        reads = self._read(tenant_ids)
        return [self._plan_one(rule, tenant_id, reads) for tenant_id in tenant_ids]

    def _read(self, tenant_ids: list[int]) -> _BatchReads:
        period = self.period
        accounts = _points_accounts(self.corporation_id, tenant_ids)
        account_ids = list(accounts.values())
        approvals = _approval_credits(self.corporation_id, account_ids, period)
        expirable = {}
        if self.rule.expiry_months:
            expirable = _expirable(account_ids, period, self.rule.expiry_months)
        choices = _payout_choices(tenant_ids, period)
        births = {}
        if self.rule.is_volunteer_allowance:
            births = _dates_of_birth(
                [
                    tenant_id
                    for tenant_id, choice in choices.items()
                    if choice.method == PayoutMethod.PAYOUT
                ]
            )
        return _BatchReads(
            points_accounts=accounts,
            openings=_opening_balances(account_ids, period),
            approvals=approvals,
            expirable=expirable,
            work=_work_details(approvals),
            choices=choices,
            year_to_date=_year_to_date(tenant_ids, period),
            dates_of_birth=births,
        )

    def _plan_one(
        self, rule: RuleVersion, tenant_id: int, reads: _BatchReads
    ) -> SettlementPlan:
        account_id = reads.points_accounts.get(tenant_id)
        approvals = reads.approvals.get(account_id, [])
        details = self._bonus_details(rule, approvals, reads.work)
        bonus = sum(item["bonus_points"] for item in details)
        opening = reads.openings.get(account_id, 0)
        choice = reads.choices.get(tenant_id)
        method = choice.method if choice else PayoutMethod.RENT_CREDIT
        cap_month, cap_year = _caps(rule, method)
        plan = SettlementPlan(
            tenant_id=tenant_id,
            period=self.period,
            rule_version=rule,
            method=method,
            choice=choice if method == PayoutMethod.PAYOUT else None,
            earned_points=sum(points for _, _, points in approvals),
            opening_points=opening,
            bonus_points=bonus,
            rate=_rate(rule, method),
            cap_month_cents=cap_month,
            cap_year_cents=cap_year,
            year_to_date_cents=reads.year_to_date.get((tenant_id, method), 0),
            minimum_payout_cents=(
                rule.minimum_payout_cents if method == PayoutMethod.PAYOUT else 0
            ),
            result=None,  # type: ignore[arg-type]  # set below
            details=details,
        )
        limits = _limits(plan)
        if rule.is_volunteer_allowance and method == PayoutMethod.PAYOUT:
            limits += self._volunteer_limits_of(
                plan, reads.dates_of_birth.get(tenant_id), details
            )
        plan.result = compute_settlement(
            SettlementInput(
                opening_points=opening,
                bonus_points=bonus,
                rate=plan.rate,
                limits=tuple(limits),
                minimum_payout_cents=plan.minimum_payout_cents,
                expirable_points=reads.expirable.get(account_id, 0),
            )
        )
        return plan

    def _bonus_details(
        self,
        rule: RuleVersion,
        approvals: list[Approval],
        work: dict[int, rules.WorkDetails],
    ) -> list[dict]:
        details = []
        for journal_id, _, points in approvals:
            found = work[journal_id]
            pair = (found.category_code, found.work_date)
            if pair not in self._multipliers:
                self._multipliers[pair] = rules.multipliers_for(rule, found)
            category, weekend = self._multipliers[pair]
            bonus = multiplied_points(points, category, weekend) - points
            details.append(
                {
                    "journal_id": journal_id,
                    "work_date": found.work_date.isoformat(),
                    "category_code": found.category_code,
                    "minutes": found.minutes,
                    "points": points,
                    "category_multiplier_permille": category,
                    "weekend_multiplier_permille": weekend,
                    "bonus_points": bonus,
                }
            )
        return details

    def _volunteer_limits_of(
        self, plan: SettlementPlan, birth: date | None, details: list[dict]
    ) -> list[Limit]:
        """Return the volunteer-allowance limits of the month and record them on the plan.

        Work without recorded minutes adds nothing to the hourly limit, so the
        engine never pays an allowance that the hours cannot justify. A tenant
        without a date of birth gets the under-21 hourly limit, the lower one.
        """
        limits = self._volunteer_limits
        if limits is None:
            raise RuleViolation(
                f"No volunteer-allowance limits exist for {plan.period.year} or "
                "earlier; add the year's limits before closing.",
                code="no_volunteer_limits",
            )
        is_adult = (
            birth is not None and age_on(birth, plan.period.last_day) >= ADULT_AGE
        )
        hourly = (
            limits.hourly_21_plus_cents if is_adult else limits.hourly_under_21_cents
        )
        minutes = sum(item["minutes"] or 0 for item in details)
        plan.volunteer_limits_year = limits.year
        plan.volunteer_minutes = minutes
        plan.volunteer_hourly_cents = hourly
        return [
            Limit("volunteer_hourly", hourly_budget_cents(minutes, hourly)),
            Limit("volunteer_month", limits.month_cents),
            Limit("volunteer_year", limits.year_cents - plan.year_to_date_cents),
        ]


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


def _points_accounts(corporation_id: int, tenant_ids: list[int]) -> dict[int, int]:
    query = select(Account.tenant_id, Account.id).where(
        Account.corporation_id == corporation_id,
        Account.kind == AccountKind.TENANT_POINTS,
        Account.tenant_id.in_(tenant_ids),
    )
    return {
        tenant_id: account_id for tenant_id, account_id in db.session.execute(query)
    }


def _opening_balances(account_ids: list[int], period: Period) -> dict[int, int]:
    """Return the balance of points accounts at the end of the month's last day."""
    if not account_ids:
        return {}
    # Points accounts are credit-normal: credits raise what the tenant is owed.
    signed = case((Posting.side == Side.CREDIT, Posting.amount), else_=-Posting.amount)
    query = (
        select(Posting.account_id, func.sum(signed))
        .join(Journal, Journal.id == Posting.journal_id)
        .where(
            Posting.account_id.in_(account_ids),
            Journal.status == JournalStatus.POSTED,
            Journal.effective_date <= period.last_day,
        )
        .group_by(Posting.account_id)
    )
    return {account_id: int(total) for account_id, total in db.session.execute(query)}


def _approval_credits(
    corporation_id: int, account_ids: list[int], period: Period
) -> dict[int, list[Approval]]:
    """Return the month's approval credits per points account, oldest first.

    Approvals reversed by the end of the month earn no multiplier bonus.
    """
    if not account_ids:
        return {}
    reversal = aliased(Journal)
    reversed_ids = select(reversal.reverses_journal_id).where(
        reversal.corporation_id == corporation_id,
        reversal.reverses_journal_id.is_not(None),
        reversal.status == JournalStatus.POSTED,
        reversal.effective_date <= period.last_day,
    )
    query = (
        select(Posting.account_id, Journal.id, Journal.effective_date, Posting.amount)
        .join(Posting, Posting.journal_id == Journal.id)
        .where(
            Posting.account_id.in_(account_ids),
            Posting.side == Side.CREDIT,
            Journal.kind == JournalKind.APPROVAL,
            Journal.status == JournalStatus.POSTED,
            Journal.period == str(period),
            Journal.id.not_in(reversed_ids),
        )
        .order_by(Posting.account_id, Journal.effective_date, Journal.id)
    )
    credits: dict[int, list[Approval]] = {}
    for account_id, journal_id, day, points in db.session.execute(query):
        credits.setdefault(account_id, []).append((journal_id, day, points))
    return credits


def _work_details(
    approvals: dict[int, list[Approval]],
) -> dict[int, rules.WorkDetails]:
    journals = [
        (journal_id, day)
        for items in approvals.values()
        for journal_id, day, _ in items
    ]
    found: dict[int, rules.WorkDetails] = {}
    for start in range(0, len(journals), WORK_DETAILS_BATCH):
        found.update(rules.work_details(journals[start : start + WORK_DETAILS_BATCH]))
    return found


def _expirable(
    account_ids: list[int], period: Period, expiry_months: int
) -> dict[int, int]:
    """Return per points account the points earned ``expiry_months`` or more months ago still unsettled."""
    if not account_ids:
        return {}
    query = (
        select(Posting.account_id, Journal.effective_date, Posting.side, Posting.amount)
        .join(Journal, Journal.id == Posting.journal_id)
        .where(
            Posting.account_id.in_(account_ids),
            Journal.status == JournalStatus.POSTED,
            Journal.effective_date <= period.last_day,
        )
        .order_by(Posting.account_id)
        .execution_options(yield_per=POSTINGS_FETCH_ROWS)
    )
    earned_before = shift_period(period, 1 - expiry_months).first_day
    expirable = {}
    rows = db.session.execute(query)
    for account_id, postings in itertools.groupby(rows, key=lambda row: row[0]):
        credits = []
        debits_total = 0
        for _, day, side, amount in postings:
            if side == Side.CREDIT:
                credits.append((day, amount))
            else:
                debits_total += amount
        expirable[account_id] = expirable_points(credits, debits_total, earned_before)
    return expirable


def _payout_choices(tenant_ids: list[int], period: Period) -> dict[int, ChoiceInForce]:
    """Return each tenant's choice in force for a month; a missing tenant has rent credit."""
    query = (
        select(PayoutChoice.tenant_id, PayoutChoice.id, PayoutChoice.method)
        .where(
            PayoutChoice.tenant_id.in_(tenant_ids),
            PayoutChoice.applies_from <= period.first_day,
        )
        .order_by(
            PayoutChoice.tenant_id,
            PayoutChoice.applies_from.desc(),
            PayoutChoice.id.desc(),
        )
    )
    choices: dict[int, ChoiceInForce] = {}
    for tenant_id, choice_id, method in db.session.execute(query):
        if tenant_id not in choices:
            choices[tenant_id] = ChoiceInForce(choice_id, method)
    return choices


def _year_to_date(
    tenant_ids: list[int], period: Period
) -> dict[tuple[int, PayoutMethod], int]:
    """Return what was settled per tenant and method in the months of the year before."""
    query = (
        select(
            SettlementLine.tenant_id,
            SettlementLine.method,
            func.sum(SettlementLine.amount_cents),
        )
        .where(
            SettlementLine.tenant_id.in_(tenant_ids),
            SettlementLine.period >= f"{period.year:04d}-01",
            SettlementLine.period < str(period),
        )
        .group_by(SettlementLine.tenant_id, SettlementLine.method)
    )
    return {
        (tenant_id, method): int(total)
        for tenant_id, method, total in db.session.execute(query)
    }


def _dates_of_birth(tenant_ids: list[int]) -> dict[int, date | None]:
    if not tenant_ids:
        return {}
    query = select(User.id, User.date_of_birth).where(User.id.in_(tenant_ids))
    return {user_id: birth for user_id, birth in db.session.execute(query)}
