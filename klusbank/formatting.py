"""Locale-aware formatting of money, points and dates for templates and PDFs.

Amounts are integers in their smallest unit; ``Decimal`` appears only here, at
the edge, to print them (``€ 1.234,56`` in Dutch, ``€1,234.56`` in English).

Babel looks up the locale's data and applies its pattern on every call, which
took about a fifth of the time to render a chore list (pyinstrument, on the
portal benchmark's data). Lists show the same points, amounts and deadlines
many times, so each formatter keeps the text of recent values per locale.
"""

from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache

from babel.dates import format_date, format_datetime
from babel.numbers import format_currency, format_decimal
from flask import Flask, current_app
from flask_babel import get_locale
from flask_login import current_user

from klusbank.timeutil import AMSTERDAM


def cents_to_decimal(amount_cents: int) -> Decimal:
    """Return euros as an exact Decimal."""
    return Decimal(amount_cents).scaleb(-2)


# Each formatter keeps this many distinct values. A list page formats a few
# dozen. The caches are typed, so 5, 5.0 and Decimal(5) are formatted apart.
FORMATTED_CACHE_SIZE = 4096


def format_cents(amount_cents: int, locale: str | None = None) -> str:
    """Format an amount in cents as euros for a locale."""
    return _format_cents(amount_cents, _babel_locale(locale))


def format_points(points: int, locale: str | None = None) -> str:
    """Format a number of points with the locale's digit grouping."""
    return _format_points(points, _babel_locale(locale))


def format_day(day: date, locale: str | None = None, fmt: str = "medium") -> str:
    """Format a business date for a locale."""
    return _format_day(day, _babel_locale(locale), fmt)


def format_moment(moment: datetime, locale: str | None = None) -> str:
    """Format an aware moment in Amsterdam time for a locale."""
    return _format_moment(moment, _babel_locale(locale))


@lru_cache(maxsize=FORMATTED_CACHE_SIZE, typed=True)
def _format_cents(amount_cents: int, locale: str) -> str:
    return format_currency(cents_to_decimal(amount_cents), "EUR", locale=locale)


@lru_cache(maxsize=FORMATTED_CACHE_SIZE, typed=True)
def _format_points(points: int, locale: str) -> str:
    return format_decimal(points, locale=locale)


@lru_cache(maxsize=FORMATTED_CACHE_SIZE, typed=True)
def _format_day(day: date, locale: str, fmt: str) -> str:
    return format_date(day, format=fmt, locale=locale)


# Aware datetimes are equal, and hash equal, when they name the same instant,
# whatever their zone, so one cached text serves every spelling of a moment.
@lru_cache(maxsize=FORMATTED_CACHE_SIZE, typed=True)
def _format_moment(moment: datetime, locale: str) -> str:
    return format_datetime(moment, format="medium", tzinfo=AMSTERDAM, locale=locale)


def _babel_locale(locale: str | None) -> str:
    if locale:
        return locale
    return str(get_locale() or "nl")


def register_template_helpers(app: Flask) -> None:
    """Add the formatting filters and the navigation helper to Jinja."""
    from klusbank.nav import nav_entries_for

    app.add_template_filter(format_cents, "cents")
    app.add_template_filter(format_points, "points")
    app.add_template_filter(format_day, "day")
    app.add_template_filter(format_moment, "moment")

    @app.context_processor
    def navigation():
        def nav_entries():
            if not current_user.is_authenticated:
                return []
            return nav_entries_for(current_app, current_user.role_set)

        return {"nav_entries": nav_entries, "current_locale": lambda: str(get_locale())}
