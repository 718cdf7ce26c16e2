"""The pure settlement arithmetic: rounding, limits, minimum, expiry, multipliers."""

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rewards.engine import limits as rule_limits
from rewards.engine.settlement import (
    Limit,
    Rate,
    SettlementInput,
    age_on,
    compute_settlement,
    expirable_points,
    hourly_budget_cents,
    multiplied_points,
)

# Every rate a rule version may hold.
rates = st.builds(
    Rate,
    cents=st.integers(rule_limits.MIN_RATE_CENTS, rule_limits.MAX_RATE_CENTS),
    points=st.integers(rule_limits.MIN_RATE_POINTS, rule_limits.MAX_RATE_POINTS),
)
limits = st.lists(
    st.builds(
        Limit,
        reason=st.sampled_from(["month_cap", "year_cap", "volunteer_month"]),
        cents=st.integers(min_value=-100, max_value=100_000),
    ),
    max_size=3,
).map(tuple)


@given(
    opening=st.integers(min_value=-1_000, max_value=10**12),
    bonus=st.integers(min_value=0, max_value=10_000),
    rate=rates,
    caps=limits,
    minimum=st.integers(min_value=0, max_value=5_000),
    expirable=st.integers(min_value=0, max_value=1_000_000),
)
def test_rounding_keeps_every_point(opening, bonus, rate, caps, minimum, expirable):
    data = SettlementInput(
        opening_points=opening,
        bonus_points=bonus,
        rate=rate,
        limits=caps,
        minimum_payout_cents=minimum,
        expirable_points=min(expirable, max(opening, 0)),
    )
    result = compute_settlement(data)

    assert result.amount_cents * rate.points == result.converted_points * rate.cents
    assert (
        result.converted_points + result.expired_points + result.carried_points
        == opening + bonus
    )
    assert result.amount_cents >= 0
    assert result.expired_points >= 0
    for limit in caps:
        assert result.amount_cents <= max(limit.cents, 0)
    assert result.amount_cents == 0 or result.amount_cents >= minimum
    # Floor: one more step of points would exceed the value of the points.
    assert result.converted_points <= max(opening + bonus, 0)


@given(points=st.integers(min_value=0, max_value=10**6), rate=rates)
def test_uncapped_amount_is_floor_of_value(points, rate):
    result = compute_settlement(SettlementInput(opening_points=points, rate=rate))

    assert result.amount_cents <= points * rate.cents // rate.points
    assert result.remainder_points < rate.step_points
    assert result.carried_points == result.remainder_points


def test_rational_rate_leaves_remainder_points():
    # 25 cents per 10 points: 2 points make 5 cents, so 7 points give 15 cents.
    result = compute_settlement(SettlementInput(opening_points=7, rate=Rate(25, 10)))

    assert result.amount_cents == 15
    assert result.converted_points == 6
    assert result.remainder_points == 1
    assert result.carried_points == 1


def test_month_cap_carries_points_over():
    result = compute_settlement(
        SettlementInput(
            opening_points=400,
            rate=Rate(10, 1),
            limits=(Limit("month_cap", 2_500), Limit("year_cap", 10_000)),
        )
    )

    assert result.amount_cents == 2_500
    assert result.converted_points == 250
    assert result.limited_by == "month_cap"
    assert result.capped_points == 150
    assert result.carried_points == 150


def test_exhausted_year_cap_converts_nothing():
    result = compute_settlement(
        SettlementInput(
            opening_points=50, rate=Rate(10, 1), limits=(Limit("year_cap", -20),)
        )
    )

    assert result.amount_cents == 0
    assert result.limited_by == "year_cap"
    assert result.carried_points == 50


def test_payout_below_minimum_carries_everything():
    result = compute_settlement(
        SettlementInput(opening_points=80, rate=Rate(10, 1), minimum_payout_cents=1_000)
    )

    assert result.is_below_minimum
    assert result.amount_cents == 0
    assert result.converted_points == 0
    assert result.carried_points == 80


def test_expiry_after_conversion_of_oldest_points():
    # 100 old points, of which a cap lets 30 convert; the other 70 old ones expire.
    result = compute_settlement(
        SettlementInput(
            opening_points=150,
            rate=Rate(10, 1),
            limits=(Limit("month_cap", 300),),
            expirable_points=100,
        )
    )

    assert result.converted_points == 30
    assert result.expired_points == 70
    assert result.carried_points == 50


def test_negative_balance_converts_nothing():
    result = compute_settlement(
        SettlementInput(opening_points=-5, rate=Rate(10, 1), expirable_points=0)
    )

    assert result.converted_points == 0
    assert result.carried_points == -5


def test_multiplied_points_round_down():
    assert multiplied_points(10, 1500) == 15
    assert multiplied_points(7, 1250) == 8
    assert multiplied_points(7, 1250, 1200) == 10
    assert multiplied_points(7) == 7


def test_expirable_points_consume_oldest_first():
    credits = [
        (date(2026, 1, 10), 100),
        (date(2026, 2, 10), 50),
        (date(2026, 4, 1), 20),
    ]

    assert expirable_points(credits, 0, date(2026, 3, 1)) == 150
    assert expirable_points(credits, 120, date(2026, 3, 1)) == 30
    assert expirable_points(credits, 160, date(2026, 3, 1)) == 0
    assert expirable_points(credits, 0, date(2026, 2, 1)) == 100


@pytest.mark.parametrize(
    ("birth", "day", "age"),
    [
        (date(2005, 6, 15), date(2026, 6, 14), 20),
        (date(2005, 6, 15), date(2026, 6, 15), 21),
        (date(2004, 2, 29), date(2025, 2, 28), 20),
        (date(2004, 2, 29), date(2025, 3, 1), 21),
    ],
)
def test_age_on_birthday_edges(birth, day, age):
    assert age_on(birth, day) == age


def test_hourly_budget_floors_to_cents():
    assert hourly_budget_cents(90, 560) == 840
    assert hourly_budget_cents(10, 325) == 54
    assert hourly_budget_cents(0, 560) == 0


def test_rate_rejects_zero_points():
    with pytest.raises(ValueError):
        Rate(10, 0)
