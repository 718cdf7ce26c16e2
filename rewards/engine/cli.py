"""``flask rewards preview`` and ``flask rewards close``.

``preview`` writes nothing. ``close`` first commits the ledger accounts the
close needs (see ``rewards.jobs.prepare_close``), then the close itself as one
transaction. On any error it rolls back and exits non-zero.
"""

import click
from sqlalchemy.exc import OperationalError

from klusbank.cli import corporation_by_code, corporation_option
from klusbank.errors import InvalidInput, RuleViolation
from klusbank.extensions import db
from klusbank.formatting import format_cents
from klusbank.timeutil import Period


def _parse_period(context, parameter, value: str) -> Period:
    try:
        return Period.parse(value)
    except ValueError as error:
        raise click.BadParameter(str(error)) from error


period_option = click.option(
    "--period",
    required=True,
    callback=_parse_period,
    help="Month to settle, YYYY-MM in Europe/Amsterdam, e.g. 2026-11.",
)


@click.command("preview")
@corporation_option
@period_option
def preview(corporation_code: str, period: Period) -> None:
    """Show what the close of a month would book per tenant, without booking it."""
    from rewards.engine import queries
    from rewards.ledger import services as ledger
    from rewards.ledger.models import PeriodStatus

    corporation = corporation_by_code(corporation_code)
    if ledger.period_status(corporation.id, period) == PeriodStatus.CLOSED:
        click.echo(f"{period} of {corporation.code} is already closed")
        return
    try:
        plans = queries.preview_close(corporation.id, period)
    except RuleViolation as error:
        raise click.ClickException(error.message) from error
    names = queries.user_names([plan.tenant_id for plan in plans])
    click.echo(
        f"{'tenant':<32} {'method':<12} {'points':>8} {'amount':>12} "
        f"{'held back by':<18} {'expires':>8} {'carried':>8}"
    )
    for plan in plans:
        result = plan.result
        reason = result.limited_by or (
            "below_minimum" if result.is_below_minimum else ""
        )
        click.echo(
            f"{names.get(plan.tenant_id, str(plan.tenant_id))[:32]:<32} "
            f"{plan.method.value:<12} {result.available_points:>8} "
            f"{format_cents(result.amount_cents, 'en'):>12} {reason:<18} "
            f"{result.expired_points:>8} {result.carried_points:>8}"
        )
    total = sum(plan.result.amount_cents for plan in plans)
    click.echo(f"{len(plans)} tenants, {format_cents(total, 'en')} in total")
    db.session.rollback()


@click.command("close")
@corporation_option
@period_option
def close(corporation_code: str, period: Period) -> None:
    """Close a month: settle every tenant, snapshot the ledger, freeze the month."""
    from rewards.jobs import close_period, prepare_close

    corporation = corporation_by_code(corporation_code)
    try:
        # Accounts first, in their own transaction; see prepare_close.
        prepare_close(corporation.id, period)
        db.session.commit()
        result = close_period(corporation.id, period, trigger="cli")
    except RuleViolation as error:
        db.session.rollback()
        raise click.ClickException(error.message) from error
    except OperationalError as error:
        db.session.rollback()
        if "database is locked" not in str(error):
            raise
        # SQLite gave up waiting for the write lock that another close holds.
        raise click.ClickException(
            "the database is busy, most likely with another close; try again"
        ) from error
    db.session.commit()
    if result.already_closed:
        click.echo(f"{period} of {corporation.code} is already closed; nothing changed")
        return
    click.echo(
        f"closed {period} of {corporation.code}: {result.tenants_settled} tenants "
        f"settled, {format_cents(result.rent_credit_cents, 'en')} rent credit, "
        f"{format_cents(result.payout_cents, 'en')} payouts, "
        f"{result.carried_points} points carried over, checksum {result.checksum}"
    )


@click.command("volunteer-limits")
@click.option("--year", type=int, required=True, help="Calendar year, e.g. 2026.")
@click.option(
    "--hourly-21-plus-cents",
    type=int,
    required=True,
    help="Maximum allowance per hour, aged 21 and over, in cents (2025: 560).",
)
@click.option(
    "--hourly-under-21-cents",
    type=int,
    required=True,
    help="Maximum allowance per hour, under 21, in cents (2025: 330).",
)
@click.option(
    "--month-cents",
    type=int,
    required=True,
    help="Maximum allowance per month, in cents (2025: 21000).",
)
@click.option(
    "--year-cents",
    type=int,
    required=True,
    help="Maximum allowance per calendar year, in cents (2025: 210000).",
)
def volunteer_limits(
    year: int,
    hourly_21_plus_cents: int,
    hourly_under_21_cents: int,
    month_cents: int,
    year_cents: int,
) -> None:
    """Add the volunteer-allowance limits of a year, as published for that year."""
    from rewards.engine import services

    try:
        services.add_volunteer_limits(
            year,
            hourly_21_plus_cents=hourly_21_plus_cents,
            hourly_under_21_cents=hourly_under_21_cents,
            month_cents=month_cents,
            year_cents=year_cents,
        )
    except (InvalidInput, RuleViolation) as error:
        db.session.rollback()
        details = "; ".join(
            f"{name}: {' '.join(messages)}" for name, messages in error.errors.items()
        )
        raise click.ClickException(f"{error.message} {details}".strip()) from error
    db.session.commit()
    click.echo(f"added the volunteer-allowance limits of {year}")


def add_commands(group: click.Group) -> None:
    """Add the preview, close and volunteer-limits commands to the rewards group."""
    group.add_command(preview)
    group.add_command(close)
    group.add_command(volunteer_limits)
