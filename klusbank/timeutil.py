"""Business dates and monthly periods in Europe/Amsterdam.

Moments are stored as aware UTC datetimes. A business date, and so the month a
movement belongs to, is the Amsterdam calendar date of that moment.
"""

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
# Years 2000 to 2999: earlier or later months cannot hold Klusbank data, and
# 9999-12 would overflow when the next month is computed.
_PERIOD_PATTERN = re.compile(r"^(2\d{3})-(0[1-9]|1[0-2])$")


def business_date(moment: datetime) -> date:
    """Return the Amsterdam calendar date of an aware moment."""
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment!r}; pass an aware datetime")
    return moment.astimezone(AMSTERDAM).date()


def start_of_day_utc(day: date) -> datetime:
    """Return the UTC moment at which an Amsterdam calendar day starts."""
    return datetime.combine(day, time.min, tzinfo=AMSTERDAM).astimezone(UTC)


@dataclass(frozen=True, order=True)
class Period:
    """A calendar month in Europe/Amsterdam, written ``YYYY-MM``."""

    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> "Period":
        """Parse ``YYYY-MM``; raise ValueError naming the expected form."""
        match = _PERIOD_PATTERN.match(text.strip())
        if not match:
            raise ValueError(f"invalid period {text!r}; use YYYY-MM, e.g. 2026-11")
        return cls(int(match.group(1)), int(match.group(2)))

    @classmethod
    def of(cls, day: date) -> "Period":
        """Return the period containing a business date."""
        return cls(day.year, day.month)

    @classmethod
    def of_moment(cls, moment: datetime) -> "Period":
        """Return the period containing an aware moment."""
        return cls.of(business_date(moment))

    @property
    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def last_day(self) -> date:
        return self.next().first_day - timedelta(days=1)

    @property
    def starts_at(self) -> datetime:
        """UTC moment at which the month starts in Amsterdam."""
        return start_of_day_utc(self.first_day)

    @property
    def ends_at(self) -> datetime:
        """UTC moment at which the next month starts in Amsterdam (exclusive)."""
        return self.next().starts_at

    def next(self) -> "Period":
        if self.month == 12:
            return Period(self.year + 1, 1)
        return Period(self.year, self.month + 1)

    def previous(self) -> "Period":
        if self.month == 1:
            return Period(self.year - 1, 12)
        return Period(self.year, self.month - 1)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"
