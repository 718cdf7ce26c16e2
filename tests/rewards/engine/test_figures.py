"""Settlement figures: month boundaries, caps, minimum, expiry, rule changes, multipliers."""

from datetime import date

import pytest
from sqlalchemy import select

from klusbank.extensions import db
from klusbank.timeutil import Period
from participation.limits import MAX_REWARD_POINTS
from rewards.engine import limits, queries
from rewards.engine.models import CloseRun, PayoutMethod, SettlementLine
from rewards.engine.rules import WorkDetails
from rewards.ledger.models import Account, AccountKind
from tests.factories import create_corporation, create_finance, create_tenant
from tests.rewards.engine.helpers import (
    amsterdam,
    choose_payout,
    close,
    create_rules,
    credit,
    use_work_details,
)


def line_of(tenant, period: Period) -> SettlementLine:
    return db.session.scalar(
        select(SettlementLine).where(
            SettlementLine.tenant_id == tenant.id,
            SettlementLine.period == str(period),
        )
    )


def setup_corporation(**rule_values):
    corporation = create_corporation()
    finance = create_finance(corporation)
    rules = create_rules(finance, **rule_values)
    return corporation, finance, rules


@pytest.mark.parametrize(
    ("month", "last_day"),
    [(3, 31), (10, 31)],
    ids=["march-dst-start", "october-dst-end"],
)
def test_late_evening_work_belongs_to_its_month(app, month, last_day):
    corporation, _, _ = setup_corporation()
    tenant = create_tenant(corporation)
    credit(corporation, tenant, 40, amsterdam(2026, month, last_day, 23, 30))
    # Half past midnight local time is still the previous day in UTC.
    credit(corporation, tenant, 7, amsterdam(2026, month + 1, 1, 0, 30))
    db.session.commit()
    for earlier in range(1, month):
        close(app, corporation, Period(2026, earlier))

    close(app, corporation, Period(2026, month))
    line = line_of(tenant, Period(2026, month))

    assert line.earned_points == 40
    assert line.converted_points == 40
    assert line.amount_cents == 400
    assert line.carried_points == 0


def test_caps_minimum_and_mid_year_rule_change(app):
    corporation, finance, first_rules = setup_corporation(
        effective_from=date(2026, 1, 1),
        payout_cap_month_cents=2_000,
        payout_cap_year_cents=5_000,
        minimum_payout_cents=1_000,
    )
    tenant = create_tenant(corporation)
    choose_payout(tenant, amsterdam(2025, 12, 20))
    credit(corporation, tenant, 300, amsterdam(2026, 1, 10))
    credit(corporation, tenant, 50, amsterdam(2026, 2, 10))
    credit(corporation, tenant, 40, amsterdam(2026, 3, 10))
    credit(corporation, tenant, 200, amsterdam(2026, 4, 10))
    second_rules = create_rules(
        finance,
        effective_from=date(2026, 4, 1),
        payout_rate_cents=20,
        payout_rate_points=3,
        payout_cap_month_cents=3_000,
        payout_cap_year_cents=5_000,
        minimum_payout_cents=1_000,
    )
    db.session.commit()

    for month in (1, 2, 3, 4):
        close(app, corporation, Period(2026, month))
    january, february, march, april = (
        line_of(tenant, Period(2026, month)) for month in (1, 2, 3, 4)
    )

    # January: 300 points are worth 30 euros, the month cap pays 20.
    assert january.method == PayoutMethod.PAYOUT
    assert january.rule_version_id == first_rules.id
    assert january.amount_cents == 2_000
    assert january.limited_by == "month_cap"
    assert january.capped_points == 100
    assert january.carried_points == 100
    # February: 100 carried + 50 earned = 15 euros, under the cap.
    assert february.opening_points == 150
    assert february.amount_cents == 1_500
    assert february.limited_by is None
    assert february.carried_points == 0
    # March: 40 points = 4 euros, below the 10 euro minimum, so all carry over.
    assert march.is_below_minimum
    assert march.amount_cents == 0
    assert march.carried_points == 40
    # April: new rate of 20 cents per 3 points; 240 points are worth 16 euros but
    # only 15 euros of the year cap of 50 remain after 35 paid.
    assert april.rule_version_id == second_rules.id
    assert april.rate_cents == 20
    assert april.rate_points == 3
    assert april.year_to_date_cents == 3_500
    assert april.uncapped_cents == 1_600
    assert april.amount_cents == 1_500
    assert april.converted_points == 225
    assert april.limited_by == "year_cap"
    assert april.carried_points == 15


def test_rent_credit_cap_and_expiry(app):
    corporation, _, _ = setup_corporation(
        effective_from=date(2026, 1, 1),
        rent_credit_cap_month_cents=500,
        expiry_months=2,
    )
    tenant = create_tenant(corporation)
    credit(corporation, tenant, 200, amsterdam(2026, 1, 15))
    credit(corporation, tenant, 30, amsterdam(2026, 3, 15))
    db.session.commit()

    for month in (1, 2, 3):
        close(app, corporation, Period(2026, month))
    january, february, march = (
        line_of(tenant, Period(2026, month)) for month in (1, 2, 3)
    )

    assert january.amount_cents == 500
    assert january.carried_points == 150
    assert january.expired_points == 0
    assert february.amount_cents == 500
    assert february.carried_points == 100
    # At March's close the January points still unsettled (100) have had two
    # months; 50 of them convert under the cap and the other 50 expire.
    assert march.amount_cents == 500
    assert march.converted_points == 50
    assert march.expired_points == 50
    assert march.carried_points == 30


def test_rational_rate_remainder_stays_points(app):
    corporation, _, _ = setup_corporation(
        rent_credit_rate_cents=25, rent_credit_rate_points=10
    )
    tenant = create_tenant(corporation)
    credit(corporation, tenant, 7, amsterdam(2026, 11, 3))
    db.session.commit()

    close(app, corporation, Period(2026, 11))
    line = line_of(tenant, Period(2026, 11))

    assert line.amount_cents == 15
    assert line.converted_points == 6
    assert line.remainder_points == 1
    assert line.carried_points == 1


def test_category_and_weekend_multipliers(app):
    corporation, _, rules = setup_corporation(
        weekend_multiplier_permille=1_200,
        category_multipliers={"trappenhuis": 1_500},
    )
    tenant = create_tenant(corporation)
    _, weekday_stairs = credit(corporation, tenant, 10, amsterdam(2026, 11, 4))
    _, weekend_stairs = credit(corporation, tenant, 10, amsterdam(2026, 11, 9))
    _, plain = credit(corporation, tenant, 10, amsterdam(2026, 11, 10))
    use_work_details(
        app,
        {
            weekday_stairs: WorkDetails(
                weekday_stairs, "trappenhuis", date(2026, 11, 4), 30
            ),
            # Approved on Monday for work done on Saturday 7 November.
            weekend_stairs: WorkDetails(
                weekend_stairs, "trappenhuis", date(2026, 11, 7), 30
            ),
            plain: WorkDetails(plain, "tuin", date(2026, 11, 10), 30),
        },
    )
    db.session.commit()

    close(app, corporation, Period(2026, 11))
    line = line_of(tenant, Period(2026, 11))
    bonuses = {
        item["journal_id"]: item["bonus_points"] for item in line.details["approvals"]
    }

    assert bonuses[weekday_stairs] == 5
    assert bonuses[weekend_stairs] == 8
    assert bonuses[plain] == 0
    assert line.earned_points == 30
    assert line.bonus_points == 13
    assert line.amount_cents == 430
    assert line.rule_version_id == rules.id


def test_volunteer_allowance_limits(app):
    corporation, _, _ = setup_corporation(
        effective_from=date(2025, 1, 1),
        is_volunteer_allowance=True,
    )
    adult = create_tenant(corporation)
    adult.date_of_birth = date(1980, 5, 1)
    young = create_tenant(corporation)
    young.date_of_birth = date(2006, 5, 1)
    busy = create_tenant(corporation)
    busy.date_of_birth = date(1970, 1, 1)
    details = {}
    for tenant, points, minutes in (
        (adult, 1_000, 600),
        (young, 1_000, 600),
        (busy, 3_000, 3_600),
    ):
        choose_payout(tenant, amsterdam(2025, 5, 1))
        _, journal_id = credit(corporation, tenant, points, amsterdam(2025, 5, 6))
        details[journal_id] = WorkDetails(journal_id, None, date(2025, 5, 6), minutes)
    use_work_details(app, details)
    db.session.commit()

    close(app, corporation, Period(2025, 5))
    adult_line, young_line, busy_line = (
        line_of(tenant, Period(2025, 5)) for tenant in (adult, young, busy)
    )

    # Ten hours at 5.60 an hour (21 and over in 2025).
    assert adult_line.amount_cents == 5_600
    assert adult_line.limited_by == "volunteer_hourly"
    assert adult_line.volunteer_limits_year == 2025
    assert adult_line.carried_points == 440
    # Ten hours at 3.30 an hour (under 21).
    assert young_line.amount_cents == 3_300
    assert young_line.volunteer_hourly_cents == 330
    # Sixty hours would allow 336 euros, the month limit allows 210.
    assert busy_line.amount_cents == 21_000
    assert busy_line.limited_by == "volunteer_month"
    assert busy_line.carried_points == 900


def test_volunteer_limits_seeded_for_2024_and_2025(app):
    limits = {row.year: row for row in queries.volunteer_limits()}

    assert limits[2024].hourly_21_plus_cents == 550
    assert limits[2024].hourly_under_21_cents == 325
    assert limits[2024].month_cents == 21_000
    assert limits[2024].year_cents == 210_000
    assert limits[2025].hourly_21_plus_cents == 560
    assert limits[2025].hourly_under_21_cents == 330
    assert limits[2025].month_cents == 21_000
    assert limits[2025].year_cents == 210_000


def test_volunteer_year_limit_stops_payouts(app):
    corporation, _, _ = setup_corporation(
        effective_from=date(2025, 1, 1), is_volunteer_allowance=True
    )
    tenant = create_tenant(corporation)
    tenant.date_of_birth = date(1970, 1, 1)
    choose_payout(tenant, amsterdam(2024, 12, 20))
    details = {}
    for month in range(1, 12):
        _, journal_id = credit(corporation, tenant, 3_000, amsterdam(2025, month, 10))
        details[journal_id] = WorkDetails(
            journal_id, None, date(2025, month, 10), 3_600
        )
    use_work_details(app, details)
    db.session.commit()

    for month in range(1, 12):
        close(app, corporation, Period(2025, month))
    october = line_of(tenant, Period(2025, 10))
    november = line_of(tenant, Period(2025, 11))

    # Ten months at the month limit of 210 euros reach the year limit of 2,100.
    assert october.amount_cents == 21_000
    assert october.limited_by == "volunteer_month"
    assert november.year_to_date_cents == 210_000
    assert november.amount_cents == 0
    assert november.limited_by == "volunteer_year"
    assert november.carried_points == 12_000


def test_maximum_rules_fit_bigint_columns(app):
    """Rules at every maximum and approvals at the most points close exactly.

    Each approval is 10,000 points, x10 for the category and x10 for the
    weekend, so 1,000,000 points worth 1,000,000,000 cents at the highest
    rate. Three of them are past the 32-bit range of a PostgreSQL integer.
    """
    corporation, _, rules = setup_corporation(
        rent_credit_rate_cents=limits.MAX_RATE_CENTS,
        payout_rate_cents=limits.MAX_RATE_CENTS,
        weekend_multiplier_permille=limits.MAX_MULTIPLIER_PERMILLE,
        category_multipliers={"trappenhuis": limits.MAX_MULTIPLIER_PERMILLE},
        minimum_payout_cents=limits.MAX_MINIMUM_PAYOUT_CENTS,
        expiry_months=limits.MAX_EXPIRY_MONTHS,
    )
    renter = create_tenant(corporation)
    payee = create_tenant(corporation)
    choose_payout(payee, amsterdam(2026, 11, 1))
    details = {}
    for tenant in (renter, payee):
        for day in (7, 14, 21):
            # Saturdays in November 2026.
            _, journal_id = credit(
                corporation, tenant, MAX_REWARD_POINTS, amsterdam(2026, 11, day)
            )
            details[journal_id] = WorkDetails(
                journal_id, "trappenhuis", date(2026, 11, day), 60
            )
    use_work_details(app, details)
    db.session.commit()

    result = close(app, corporation, Period(2026, 11))
    renter_line = line_of(renter, Period(2026, 11))
    payee_line = line_of(payee, Period(2026, 11))
    run = db.session.scalar(select(CloseRun))

    assert renter_line.earned_points == 30_000
    assert renter_line.bonus_points == 2_970_000
    assert renter_line.available_points == 3_000_000
    assert renter_line.uncapped_cents == 3_000_000_000
    assert renter_line.amount_cents == 3_000_000_000
    assert renter_line.carried_points == 0
    assert payee_line.amount_cents == 3_000_000_000
    assert payee_line.rule_version_id == rules.id
    assert result.rent_credit_cents == 3_000_000_000
    assert result.payout_cents == 3_000_000_000
    assert run.converted_points == 6_000_000
    assert balance(corporation, renter, AccountKind.TENANT_RENT_CREDIT) == (
        3_000_000_000
    )
    assert balance(corporation, payee, AccountKind.TENANT_PAYOUT) == 3_000_000_000
    assert balance(corporation, renter, AccountKind.TENANT_POINTS) == 0


def test_maximum_caps_bound_the_amount(app):
    corporation, _, _ = setup_corporation(
        rent_credit_rate_cents=limits.MAX_RATE_CENTS,
        rent_credit_cap_month_cents=limits.MAX_CAP_MONTH_CENTS,
        rent_credit_cap_year_cents=limits.MAX_CAP_YEAR_CENTS,
    )
    tenant = create_tenant(corporation)
    credit(corporation, tenant, MAX_REWARD_POINTS, amsterdam(2026, 11, 4))
    db.session.commit()

    close(app, corporation, Period(2026, 11))
    line = line_of(tenant, Period(2026, 11))

    assert line.uncapped_cents == 10_000_000
    assert line.amount_cents == limits.MAX_CAP_MONTH_CENTS
    assert line.limited_by == "month_cap"
    assert line.carried_points == MAX_REWARD_POINTS - 500


def balance(corporation, tenant, kind: AccountKind) -> int:
    return db.session.scalar(
        select(Account.cached_balance).where(
            Account.corporation_id == corporation.id,
            Account.tenant_id == tenant.id,
            Account.kind == kind,
        )
    )
