"""Checks of reward rule and volunteer-limit input, returning messages per field.

The service runs them whatever the caller, so the portal form, the JSON API and
the CLI reject the same values with the same messages. The ranges are in
``rewards.engine.limits``.
"""

from datetime import date

from flask_babel import gettext as _

from klusbank.accounts.access import today
from rewards.engine import limits

Errors = dict[str, list[str]]


def _add(errors: Errors, name: str, message: str) -> None:
    errors.setdefault(name, []).append(message)


def range_message(name: str) -> str:
    """Return the message for a value of a rule field outside its allowed range."""
    low, high = limits.RULE_RANGES.get(name) or limits.VOLUNTEER_RANGES[name]
    if name in limits.OPTIONAL_RULE_FIELDS:
        return _(
            "Enter a whole number from %(min)d to %(max)d, or leave it empty.",
            min=low,
            max=high,
        )
    return _("Enter a whole number from %(min)d to %(max)d.", min=low, max=high)


def _is_whole_number(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_ranges(errors: Errors, ranges: dict, values: dict) -> None:
    for name, (low, high) in ranges.items():
        if name not in values:
            continue
        value = values[name]
        if value is None and name in limits.OPTIONAL_RULE_FIELDS:
            continue
        if not _is_whole_number(value) or not low <= value <= high:
            _add(errors, name, range_message(name))


def _month_above_year_message(month_field: str) -> str:
    if month_field == "rent_credit_cap_month_cents":
        return _(
            "The rent credit cap per month is above the rent credit cap per year; "
            "make the month cap at most the year cap."
        )
    return _(
        "The payout cap per month is above the payout cap per year; "
        "make the month cap at most the year cap."
    )


def rule_errors(
    effective_from: date, values: dict, category_multipliers: dict[str, int]
) -> Errors:
    """Return the messages per field for a new rule version; empty when it is valid.

    ``values`` maps the numeric fields of ``limits.RULE_RANGES`` to their value.
    """
    errors: Errors = {}
    if not isinstance(effective_from, date) or effective_from.day != 1:
        _add(errors, "effective_from", _("Choose the first day of a month."))
    elif effective_from.year > today().year + limits.MAX_RULE_YEARS_AHEAD:
        _add(
            errors,
            "effective_from",
            _(
                "Choose a month at most %(years)d years ahead; rules that far "
                "out are most likely a typing error.",
                years=limits.MAX_RULE_YEARS_AHEAD,
            ),
        )
    _check_ranges(errors, limits.RULE_RANGES, values)

    for month_field, year_field in limits.MONTH_YEAR_CAPS:
        month, year = values.get(month_field), values.get(year_field)
        if month_field in errors or year_field in errors:
            continue
        if month is not None and year is not None and month > year:
            message = _month_above_year_message(month_field)
            _add(errors, month_field, message)
            _add(errors, year_field, message)

    codes_valid = all(
        code and len(code) <= limits.CATEGORY_CODE_MAX_LENGTH
        for code in category_multipliers
    )
    multipliers_valid = all(
        _is_whole_number(value)
        and limits.MIN_MULTIPLIER_PERMILLE <= value <= limits.MAX_MULTIPLIER_PERMILLE
        for value in category_multipliers.values()
    )
    if not (codes_valid and multipliers_valid):
        _add(
            errors,
            "category_multipliers",
            _(
                "Give each category code (at most 64 characters) a multiplier "
                "from 1000 to 10000 per mille."
            ),
        )
    return errors


def volunteer_limit_errors(values: dict) -> Errors:
    """Return the messages per field for a year's volunteer-allowance limits."""
    errors: Errors = {}
    _check_ranges(errors, limits.VOLUNTEER_RANGES, values)
    month, year = values.get("month_cents"), values.get("year_cents")
    if (
        "month_cents" not in errors
        and "year_cents" not in errors
        and month is not None
        and year is not None
        and month > year
    ):
        message = _(
            "The month limit is above the year limit; make the month limit at "
            "most the year limit."
        )
        _add(errors, "month_cents", message)
        _add(errors, "year_cents", message)
    return errors
