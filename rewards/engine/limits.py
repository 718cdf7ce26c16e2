"""Allowed ranges of reward rule fields, shared by the service, form and API schema.

Migration ``0008_rule_bounds`` repeats these numbers in database CHECK
constraints (triggers on SQLite), so no path can store a value outside them.
Change both together.

The bounds also keep the close's integer arithmetic far from 64 bits. A rate
converts at most MAX_RATE_CENTS cents per point, approved work is at most
10,000 points an approval (``participation.limits``), and the two multipliers
together are at most x100. So one approval is worth at most 10**9 cents.
"""

from rewards.engine.settlement import PERMILLE

# A rate is cents per number of points; a point is worth at most 10 euros.
MIN_RATE_CENTS = 1
MAX_RATE_CENTS = 1_000
MIN_RATE_POINTS = 1
MAX_RATE_POINTS = 1_000
# Multipliers in per mille: x1 to x10.
MIN_MULTIPLIER_PERMILLE = PERMILLE
MAX_MULTIPLIER_PERMILLE = 10 * PERMILLE
CATEGORY_CODE_MAX_LENGTH = 64
# Caps per tenant: EUR 5,000 a month, EUR 60,000 a year.
MAX_CAP_MONTH_CENTS = 500_000
MAX_CAP_YEAR_CENTS = 6_000_000
MAX_MINIMUM_PAYOUT_CENTS = 100_000
MIN_EXPIRY_MONTHS = 1
MAX_EXPIRY_MONTHS = 120

# Volunteer-allowance limits of a year; the Dutch limits of 2025 are EUR 5.60
# an hour, EUR 210 a month and EUR 2,100 a year.
MIN_LIMITS_YEAR = 2000
MAX_LIMITS_YEAR = 2100
MAX_VOLUNTEER_HOURLY_CENTS = 10_000
MAX_VOLUNTEER_MONTH_CENTS = 500_000
MAX_VOLUNTEER_YEAR_CENTS = 6_000_000

# Name of each numeric rule field with its (minimum, maximum).
RULE_RANGES = {
    "rent_credit_rate_cents": (MIN_RATE_CENTS, MAX_RATE_CENTS),
    "rent_credit_rate_points": (MIN_RATE_POINTS, MAX_RATE_POINTS),
    "payout_rate_cents": (MIN_RATE_CENTS, MAX_RATE_CENTS),
    "payout_rate_points": (MIN_RATE_POINTS, MAX_RATE_POINTS),
    "weekend_multiplier_permille": (MIN_MULTIPLIER_PERMILLE, MAX_MULTIPLIER_PERMILLE),
    "rent_credit_cap_month_cents": (0, MAX_CAP_MONTH_CENTS),
    "rent_credit_cap_year_cents": (0, MAX_CAP_YEAR_CENTS),
    "payout_cap_month_cents": (0, MAX_CAP_MONTH_CENTS),
    "payout_cap_year_cents": (0, MAX_CAP_YEAR_CENTS),
    "minimum_payout_cents": (0, MAX_MINIMUM_PAYOUT_CENTS),
    "expiry_months": (MIN_EXPIRY_MONTHS, MAX_EXPIRY_MONTHS),
}
# Fields that may be empty (None): no cap, or points never expire.
OPTIONAL_RULE_FIELDS = frozenset(
    {
        "rent_credit_cap_month_cents",
        "rent_credit_cap_year_cents",
        "payout_cap_month_cents",
        "payout_cap_year_cents",
        "expiry_months",
    }
)
# (month field, year field) pairs where the month may not exceed the year.
MONTH_YEAR_CAPS = (
    ("rent_credit_cap_month_cents", "rent_credit_cap_year_cents"),
    ("payout_cap_month_cents", "payout_cap_year_cents"),
)

VOLUNTEER_RANGES = {
    "year": (MIN_LIMITS_YEAR, MAX_LIMITS_YEAR),
    "hourly_21_plus_cents": (0, MAX_VOLUNTEER_HOURLY_CENTS),
    "hourly_under_21_cents": (0, MAX_VOLUNTEER_HOURLY_CENTS),
    "month_cents": (0, MAX_VOLUNTEER_MONTH_CENTS),
    "year_cents": (0, MAX_VOLUNTEER_YEAR_CENTS),
}


def _between(column: str, low: int, high: int, *, optional: bool = False) -> str:
    condition = f"{column} BETWEEN {low} AND {high}"
    return f"({column} IS NULL OR {condition})" if optional else condition


def rule_version_checks() -> list[tuple[str, str]]:
    """Return the (name, SQL condition) CHECK constraints of reward_rule_versions."""
    checks = [
        (
            f"{name}_in_range",
            _between(name, low, high, optional=name in OPTIONAL_RULE_FIELDS),
        )
        for name, (low, high) in RULE_RANGES.items()
    ]
    checks += [
        (
            f"{month.split('_cap_')[0]}_caps_month_within_year",
            f"{month} IS NULL OR {year} IS NULL OR {month} <= {year}",
        )
        for month, year in MONTH_YEAR_CAPS
    ]
    return checks


def category_multiplier_check() -> str:
    """Return the SQL condition of reward_category_multipliers' range check."""
    return _between(
        "multiplier_permille", MIN_MULTIPLIER_PERMILLE, MAX_MULTIPLIER_PERMILLE
    )


def volunteer_limit_checks() -> list[tuple[str, str]]:
    """Return the (name, SQL condition) CHECK constraints of volunteer_allowance_limits."""
    checks = [
        (f"{name}_in_range", _between(name, low, high))
        for name, (low, high) in VOLUNTEER_RANGES.items()
    ]
    checks.append(("month_within_year", "month_cents <= year_cents"))
    return checks


# A rule version may start at most this many calendar years after this year.
MAX_RULE_YEARS_AHEAD = 5
