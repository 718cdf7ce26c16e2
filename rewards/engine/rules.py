"""Which rules apply: rule versions per month, volunteer limits per year, work details.

Multipliers need the chore category and the day of the work, and the volunteer
allowance needs the minutes worked. The ledger stores neither, and the rewards
package never imports the participation package, so whoever records approvals
registers a *work details provider* with ``register_work_details_provider``: a
function that takes approval journal ids and returns their WorkDetails. Without
a provider, work has no category, its day is the journal's effective date and
its minutes are unknown.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date

from flask import current_app
from sqlalchemy import select

from klusbank.extensions import db
from klusbank.timeutil import Period
from rewards.engine.models import RuleVersion, VolunteerAllowanceLimit
from rewards.engine.settlement import PERMILLE

_PROVIDER_KEY = "rewards_work_details_provider"
SATURDAY = 5


@dataclass(frozen=True)
class WorkDetails:
    """What the engine needs to know about the work behind one approval journal."""

    journal_id: int
    category_code: str | None
    work_date: date
    minutes: int | None


WorkDetailsProvider = Callable[[list[int]], dict[int, WorkDetails]]


def register_work_details_provider(app, provider: WorkDetailsProvider) -> None:
    """Let the engine look up category, day and minutes of approved work."""
    app.extensions[_PROVIDER_KEY] = provider


def work_details(journals: Iterable[tuple[int, date]]) -> dict[int, WorkDetails]:
    """Return the work details of approval journals given as (id, effective date)."""
    journals = list(journals)
    provider = current_app.extensions.get(_PROVIDER_KEY)
    provided = provider([journal_id for journal_id, _ in journals]) if provider else {}
    return {
        journal_id: provided.get(journal_id)
        or WorkDetails(journal_id, None, effective_date, None)
        for journal_id, effective_date in journals
    }


def rule_version_for(corporation_id: int, period: Period) -> RuleVersion | None:
    """Return the rule version in force for a month, or None when there is none."""
    query = (
        select(RuleVersion)
        .where(
            RuleVersion.corporation_id == corporation_id,
            RuleVersion.effective_from <= period.first_day,
        )
        .order_by(RuleVersion.effective_from.desc(), RuleVersion.id.desc())
        .limit(1)
    )
    return db.session.scalar(query)


def rule_versions(corporation_id: int) -> list[RuleVersion]:
    """Return every rule version of a corporation, newest effective date first."""
    query = (
        select(RuleVersion)
        .where(RuleVersion.corporation_id == corporation_id)
        .order_by(RuleVersion.effective_from.desc(), RuleVersion.id.desc())
    )
    return list(db.session.scalars(query))


def volunteer_limits_for(year: int) -> VolunteerAllowanceLimit | None:
    """Return the volunteer-allowance limits of a year, else the latest earlier year."""
    query = (
        select(VolunteerAllowanceLimit)
        .where(VolunteerAllowanceLimit.year <= year)
        .order_by(VolunteerAllowanceLimit.year.desc())
        .limit(1)
    )
    return db.session.scalar(query)


def multipliers_for(rule: RuleVersion, details: WorkDetails) -> tuple[int, int]:
    """Return the category and weekend multipliers (per-mille) of one piece of work."""
    weekend = (
        rule.weekend_multiplier_permille
        if details.work_date.weekday() >= SATURDAY
        else PERMILLE
    )
    return rule.multiplier_for(details.category_code), weekend
