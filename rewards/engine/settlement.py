"""Settlement arithmetic: pure functions over integers, no database and no clock.

Rounding rule. A rate is ``cents`` per ``points`` (e.g. 25 cents per 10 points).
Points convert only in whole steps: a step is the smallest number of points
worth a whole number of cents (``points / gcd(cents, points)`` points for
``cents / gcd(cents, points)`` cents; 2 points for 5 cents in the example).
So the amount is the value of the points rounded down to whole cents, the
points that make up the rest are not converted and stay on the tenant's points
account, and ``amount_cents * rate.points == converted_points * rate.cents``
always holds exactly.

Caps and other limits are applied in whole steps too, so what a limit holds back
also stays as points. A payout below the minimum converts nothing.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from math import gcd

PERMILLE = 1000


@dataclass(frozen=True)
class Rate:
    """A conversion rate of ``cents`` per ``points`` points."""

    cents: int
    points: int

    def __post_init__(self) -> None:
        if self.cents < 0 or self.points <= 0:
            raise ValueError(f"invalid rate {self.cents}/{self.points}")

    @property
    def step_points(self) -> int:
        """Return the fewest points that are worth a whole number of cents."""
        return self.points // gcd(self.cents, self.points)

    @property
    def step_cents(self) -> int:
        """Return the cents that one step of points is worth."""
        return self.cents // gcd(self.cents, self.points)


@dataclass(frozen=True)
class Limit:
    """The most cents that may still be converted under one cap or limit."""

    reason: str
    cents: int


@dataclass(frozen=True)
class SettlementInput:
    """Everything one tenant's settlement for one month depends on."""

    opening_points: int
    rate: Rate
    bonus_points: int = 0
    limits: tuple[Limit, ...] = ()
    minimum_payout_cents: int = 0
    # Points old enough to expire at this close if they are not converted now.
    expirable_points: int = 0


@dataclass(frozen=True)
class SettlementResult:
    """The figures of one settlement; see SettlementLine for their meaning."""

    available_points: int
    uncapped_cents: int
    limited_by: str | None
    capped_points: int
    is_below_minimum: bool
    remainder_points: int
    converted_points: int
    amount_cents: int
    expired_points: int
    carried_points: int


def compute_settlement(data: SettlementInput) -> SettlementResult:
    """Convert a tenant's points for one month under rate, limits, minimum and expiry.

    Conversion uses the oldest points first, so the points that expire are the
    old ones that remain after conversion.
    """
    available = data.opening_points + data.bonus_points
    if available <= 0 or data.rate.cents == 0:
        expired = _expired(data.expirable_points, 0, available)
        return SettlementResult(
            available_points=available,
            uncapped_cents=0,
            limited_by=None,
            capped_points=0,
            is_below_minimum=False,
            remainder_points=max(available, 0),
            converted_points=0,
            amount_cents=0,
            expired_points=expired,
            carried_points=available - expired,
        )

    step_points = data.rate.step_points
    step_cents = data.rate.step_cents
    steps_available = available // step_points
    steps_allowed = steps_available
    limited_by = None
    for limit in data.limits:
        steps_within = max(limit.cents, 0) // step_cents
        if steps_within < steps_allowed:
            steps_allowed = steps_within
            limited_by = limit.reason

    amount = steps_allowed * step_cents
    converted = steps_allowed * step_points
    is_below_minimum = 0 < amount < data.minimum_payout_cents
    if is_below_minimum:
        amount = 0
        converted = 0

    expired = _expired(data.expirable_points, converted, available)
    return SettlementResult(
        available_points=available,
        uncapped_cents=steps_available * step_cents,
        limited_by=limited_by,
        capped_points=(steps_available - steps_allowed) * step_points,
        is_below_minimum=is_below_minimum,
        remainder_points=available - steps_available * step_points,
        converted_points=converted,
        amount_cents=amount,
        expired_points=expired,
        carried_points=available - converted - expired,
    )


def _expired(expirable: int, converted: int, available: int) -> int:
    return max(0, min(expirable - converted, available - converted))


def multiplied_points(points: int, *multipliers_permille: int) -> int:
    """Return points times per-mille multipliers, rounded down to whole points."""
    numerator = points
    denominator = 1
    for multiplier in multipliers_permille:
        numerator *= multiplier
        denominator *= PERMILLE
    return numerator // denominator


def expirable_points(
    credits: Iterable[tuple[date, int]], debits_total: int, earned_before: date
) -> int:
    """Return the unconsumed points credited before a date, consuming oldest first.

    ``credits`` are (business date, points) of every credit to the tenant's
    points account and ``debits_total`` the sum of every debit from it, both up
    to the moment of the settlement.
    """
    remaining_debits = debits_total
    expirable = 0
    for day, points in sorted(credits):
        consumed = min(points, remaining_debits)
        remaining_debits -= consumed
        if day < earned_before:
            expirable += points - consumed
    return expirable


def age_on(date_of_birth: date, day: date) -> int:
    """Return a person's age in whole years on a day."""
    had_birthday = (day.month, day.day) >= (date_of_birth.month, date_of_birth.day)
    return day.year - date_of_birth.year - (0 if had_birthday else 1)


def hourly_budget_cents(minutes: int, hourly_cents: int) -> int:
    """Return the most an hourly limit allows for minutes of work, in whole cents."""
    return minutes * hourly_cents // 60
