"""Test data for the rewards engine: rule versions, credits, choices, closes."""

import itertools
from datetime import UTC, date, datetime, time

import time_machine

from klusbank.accounts.models import User
from klusbank.housing.models import Corporation
from klusbank.timeutil import AMSTERDAM, Period
from rewards.engine import rules, services
from rewards.engine.models import PayoutMethod, RuleVersion
from rewards.jobs import run_close
from rewards.ledger import services as ledger

VALID_IBAN = "NL91ABNA0417164300"
VALID_BSN = "111222333"
_approval_ids = itertools.count(1000)


def amsterdam(year: int, month: int, day: int, hour: int = 12, minute: int = 0):
    """Return an aware UTC moment from an Amsterdam wall-clock time."""
    local = datetime.combine(date(year, month, day), time(hour, minute), AMSTERDAM)
    return local.astimezone(UTC)


def create_rules(finance: User, **overrides) -> RuleVersion:
    """Create a rule version: 10 cents a point, no caps, from 2020 unless overridden."""
    values = {
        "effective_from": date(2020, 1, 1),
        "rent_credit_rate_cents": 10,
        "payout_rate_cents": 10,
    }
    values.update(overrides)
    return services.create_rule_version(finance, **values)


def credit(
    corporation: Corporation, tenant: User, points: int, at: datetime
) -> tuple[int, int]:
    """Credit approved work at a moment; return (approval id, journal id)."""
    approval_id = next(_approval_ids)
    with time_machine.travel(at, tick=False):
        journal = ledger.credit_approved_work(
            corporation.id,
            tenant.id,
            points,
            approval_id=approval_id,
            approved_at=at,
            memo=f"test chore {approval_id}",
        )
    return approval_id, journal.id


def choose_payout(tenant: User, at: datetime, **overrides):
    """Put a tenant on payout with valid details, as chosen at a moment."""
    values = {
        "method": PayoutMethod.PAYOUT,
        "iban": VALID_IBAN,
        "account_holder": tenant.full_name,
        "bsn": VALID_BSN,
        "acknowledge_tax": True,
    }
    values.update(overrides)
    with time_machine.travel(at, tick=False):
        return services.choose_payout_method(tenant, **values)


def close(app, corporation: Corporation, period: Period, **options):
    """Run the close as the scheduler does, in its own app context and transactions."""
    at = options.pop("at", None) or period.ends_at
    with time_machine.travel(at, tick=False):
        return run_close(app, corporation.id, period, **options)


def use_work_details(app, details: dict[int, rules.WorkDetails]) -> None:
    """Make the engine read category, day and minutes of work from a mapping."""
    rules.register_work_details_provider(
        app,
        lambda journal_ids: {
            journal_id: details[journal_id]
            for journal_id in journal_ids
            if journal_id in details
        },
    )
