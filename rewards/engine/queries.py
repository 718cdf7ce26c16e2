"""Reads of the rewards engine: payout choices, settlement plans, lines and closes.

A settlement plan is the whole computation for one tenant and month, made from
the ledger and the rules without writing anything (see ``plans``). The close
books it; the finance preview shows it.
"""

from dataclasses import dataclass

from sqlalchemy import func, select

from klusbank.accounts.models import User
from klusbank.extensions import db
from klusbank.timeutil import Period
from rewards.engine.models import (
    CloseRun,
    PayoutChoice,
    PayoutMethod,
    SettlementLine,
    VolunteerAllowanceLimit,
)
from rewards.engine.plans import (
    MonthPlanner,
    SettlementPlan,
    shift_period,
    tenant_batches,
)
from rewards.ledger.models import Account, AccountKind

__all__ = ["SettlementPlan", "shift_period"]


def settlement_key(corporation_code: str, period: Period, tenant_id: int) -> str:
    """Return the idempotency key of one tenant's settlement for one month."""
    return f"settle:{corporation_code}:{period}:{tenant_id}"


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


def plan_settlement(
    corporation_id: int, tenant_id: int, period: Period
) -> SettlementPlan:
    """Compute one tenant's settlement for a month from the ledger and the rules.

    Raises RuleViolation when no rule version is in force for the month.
    """
    return MonthPlanner(corporation_id, period).plan([tenant_id])[0]


def preview_close(corporation_id: int, period: Period) -> list[SettlementPlan]:
    """Return the settlement plan of every tenant who has something to settle."""
    planner = MonthPlanner(corporation_id, period)
    plans = []
    for tenant_ids in tenant_batches(corporation_id):
        plans.extend(plan for plan in planner.plan(tenant_ids) if not plan.is_empty)
    return plans


@dataclass(frozen=True)
class SettledLine:
    """The figures of a booked settlement line that a close adds to its totals."""

    tenant_id: int
    method: PayoutMethod
    amount_cents: int
    converted_points: int
    expired_points: int
    carried_points: int


def settled_lines(corporation_id: int, keys: list[str]) -> dict[str, SettledLine]:
    """Return the figures of the settlement lines booked under some keys, by key."""
    if not keys:
        return {}
    query = select(
        SettlementLine.idempotency_key,
        SettlementLine.tenant_id,
        SettlementLine.method,
        SettlementLine.amount_cents,
        SettlementLine.converted_points,
        SettlementLine.expired_points,
        SettlementLine.carried_points,
    ).where(
        SettlementLine.corporation_id == corporation_id,
        SettlementLine.idempotency_key.in_(keys),
    )
    return {row[0]: SettledLine(*row[1:]) for row in db.session.execute(query)}


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
