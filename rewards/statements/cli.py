"""``flask rewards`` commands of the statements: render statements, export files, batches.

Each command commits once at the end, except ``statements``, which commits
every few dozen statements (see ``rendering.COMMIT_EVERY``) so that a long
run keeps its work when interrupted.
"""

import logging
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import click

from klusbank.cli import corporation_by_code, corporation_option
from klusbank.errors import KlusbankError
from klusbank.extensions import db
from klusbank.timeutil import Period
from rewards.statements import batches, queries, services
from rewards.statements.exports.csv_cells import CsvDialect
from rewards.statements.rendering import render_month

logger = logging.getLogger(__name__)

EXPORT_KINDS = ("rent-credit", "sepa", "ledger", "payees")


@contextmanager
def reported_errors():
    """Roll back and stop the command with the message of a rejected operation."""
    try:
        yield
    except KlusbankError as error:
        db.session.rollback()
        raise click.ClickException(error.message) from None


def _parse_period(_context, _parameter, value: str | None) -> Period | None:
    if value is None:
        return None
    try:
        return Period.parse(value)
    except ValueError as error:
        raise click.BadParameter(str(error)) from None


period_option = click.option(
    "--period",
    callback=_parse_period,
    help="Closed month as YYYY-MM (Europe/Amsterdam), e.g. 2026-11.",
)


def add_commands(group: click.Group) -> None:
    """Add this part's commands to the rewards group."""
    for command in (statements, yearly_overviews, export, payout_account, payout_batch):
        group.add_command(command)


@click.command("statements")
@corporation_option
@period_option
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder to write the PDF files and their SHA256SUMS into.",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="Processes that render, this one included; default: one per CPU core.",
)
def statements(
    corporation_code: str, period: Period | None, out_dir: Path, workers: int | None
) -> None:
    """Render every tenant's statement of a closed month into a folder."""
    if period is None:
        raise click.BadParameter("give the month to render", param_hint="--period")
    corporation = corporation_by_code(corporation_code)
    with reported_errors():
        report = render_month(corporation.id, period, out_dir, workers=workers)
    click.echo(
        f"{report.rendered} statements rendered, {report.reused} already stored; "
        f"{len(report.files)} files in {out_dir}"
    )


@click.command("yearly-overviews")
@corporation_option
@click.option("--year", type=int, required=True, help="Ended calendar year, e.g. 2026.")
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder to write the PDF files into.",
)
def yearly_overviews(corporation_code: str, year: int, out_dir: Path) -> None:
    """Render the yearly payout overview of every tenant paid in an ended year."""
    corporation = corporation_by_code(corporation_code)
    out_dir.mkdir(parents=True, exist_ok=True)
    with reported_errors():
        tenant_ids = sorted(queries.payment_totals(corporation.id, year))
        for tenant_id in tenant_ids:
            record = services.ensure_yearly_overview(corporation.id, tenant_id, year)
            (out_dir / record.filename).write_bytes(record.content)
    db.session.commit()
    click.echo(f"{len(tenant_ids)} yearly overviews of {year} in {out_dir}")


@click.command("export")
@click.argument("kind", type=click.Choice(EXPORT_KINDS))
@corporation_option
@period_option
@click.option("--year", type=int, help="Calendar year of the payees report.")
@click.option(
    "--dialect",
    type=click.Choice([dialect.value for dialect in CsvDialect]),
    default=CsvDialect.NL.value,
    show_default=True,
    help="CSV form: nl (semicolon, decimal comma, UTF-8 BOM) or plain (comma, point).",
)
@click.option(
    "--out",
    "out_file",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="File to write the export to.",
)
def export(
    kind: str,
    corporation_code: str,
    period: Period | None,
    year: int | None,
    dialect: str,
    out_file: Path,
) -> None:
    """Write a finance export of a closed month, or of a year for payees, to a file.

    For sepa, the command creates the month's payout batch when it does not
    exist yet, which holds the payouts in the ledger. Exporting again writes
    the same file.
    """
    corporation = corporation_by_code(corporation_code)
    if kind == "payees" and year is None:
        raise click.BadParameter("give the year of the report", param_hint="--year")
    if kind != "payees" and period is None:
        raise click.BadParameter("give the month to export", param_hint="--period")
    with reported_errors():
        exported = _export(kind, corporation.id, period, year, CsvDialect(dialect))
    out_file.parent.mkdir(parents=True, exist_ok=True)
    out_file.write_bytes(exported.content)
    db.session.commit()
    click.echo(f"wrote {out_file} ({len(exported.content)} bytes)")


def _export(kind, corporation_id, period, year, dialect) -> services.ExportFile:
    if kind == "rent-credit":
        return services.export_rent_credit(None, corporation_id, period, dialect)
    if kind == "ledger":
        return services.export_ledger(None, corporation_id, period, dialect)
    if kind == "payees":
        return services.export_payees(None, corporation_id, year, dialect)
    batch = batches.live_batch(corporation_id, period)
    if batch is None:
        batch = batches.create_payout_batch(None, corporation_id, period)
        click.echo(
            f"created payout batch {batch.id}: {batch.payment_count} payments, "
            f"{batch.control_sum_cents} cents"
        )
    return batches.export_sepa(None, corporation_id, batch.id)


@click.command("payout-account")
@corporation_option
@click.option("--account-holder", required=True, help="Name on the paying account.")
@click.option("--iban", required=True, help="IBAN of the account payouts come from.")
@click.option("--bic", default=None, help="BIC of the bank, when the bank wants it.")
def payout_account(
    corporation_code: str, account_holder: str, iban: str, bic: str | None
) -> None:
    """Set the bank account that the corporation pays payouts from."""
    corporation = corporation_by_code(corporation_code)
    with reported_errors():
        batches.set_debtor_account(
            None, corporation.id, account_holder=account_holder, iban=iban, bic=bic
        )
    db.session.commit()
    click.echo(f"payout account of {corporation.code} set")


@click.group("payout-batch")
def payout_batch() -> None:
    """Record what the bank did with a month's payout batch."""


def _month_batch(corporation_id: int, period: Period | None):
    if period is None:
        raise click.BadParameter("give the month of the batch", param_hint="--period")
    batch = batches.live_batch(corporation_id, period)
    if batch is None:
        raise click.ClickException(f"month {period} has no open payout batch")
    return batch


@payout_batch.command("paid")
@corporation_option
@period_option
@click.option(
    "--paid-on",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Date the bank paid, YYYY-MM-DD; default: today.",
)
def batch_paid(corporation_code: str, period: Period | None, paid_on) -> None:
    """Mark the month's payout batch paid and post its holds."""
    corporation = corporation_by_code(corporation_code)
    batch = _month_batch(corporation.id, period)
    day: date | None = paid_on.date() if paid_on else None
    with reported_errors():
        batches.mark_batch_paid(None, corporation.id, batch.id, paid_on=day)
    db.session.commit()
    click.echo(f"payout batch {batch.id} marked paid")


@payout_batch.command("failed")
@corporation_option
@period_option
@click.option("--reason", required=True, help="Why the bank rejected the batch.")
def batch_failed(corporation_code: str, period: Period | None, reason: str) -> None:
    """Mark the month's payout batch failed and void its holds."""
    corporation = corporation_by_code(corporation_code)
    batch = _month_batch(corporation.id, period)
    with reported_errors():
        batches.mark_batch_failed(None, corporation.id, batch.id, reason=reason)
    db.session.commit()
    click.echo(f"payout batch {batch.id} marked failed")
