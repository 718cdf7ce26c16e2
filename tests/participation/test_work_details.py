from decimal import Decimal

from klusbank.db import utcnow
from klusbank.extensions import db
from klusbank.timeutil import Period, business_date
from participation import services
from participation.work_details import work_details_for_journals
from rewards.engine import queries as engine_queries
from rewards.engine.services import create_rule_version
from tests.factories import create_corporation, create_finance
from tests.participation.helpers import create_neighbourhood, submitted_claim


def _approved_claim(hours: str | None = "1.5"):
    place = create_neighbourhood(create_corporation(), points=10)
    tenant = place.add_tenant()
    extra = {"hours_spent": Decimal(hours)} if hours else {}
    claim = submitted_claim(tenant, place.chore, **extra)
    services.approve_claim(place.caretaker, claim.id)
    db.session.commit()
    return place, tenant, claim


def test_work_details_name_category_day_and_minutes(app):
    place, _, claim = _approved_claim()

    details = work_details_for_journals([claim.approval.journal_id])[
        claim.approval.journal_id
    ]

    assert details.category_code == place.category.name_nl
    assert details.minutes == 90
    assert details.work_date == business_date(claim.submitted_at)


def test_work_details_ignore_unknown_journals(app):
    assert work_details_for_journals([]) == {}
    assert work_details_for_journals([987654]) == {}


def test_category_multiplier_applies_at_settlement(app):
    place, tenant, _ = _approved_claim(hours=None)
    period = Period.of(business_date(utcnow()))
    create_rule_version(
        create_finance(place.corporation),
        effective_from=period.first_day,
        rent_credit_rate_cents=10,
        payout_rate_cents=10,
        category_multipliers={place.category.name_nl: 2000},
    )
    db.session.commit()

    plan = engine_queries.plan_settlement(place.corporation.id, tenant.id, period)

    assert plan.earned_points == 10
    assert plan.bonus_points == 10
