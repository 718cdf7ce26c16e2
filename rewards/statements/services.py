"""Statements and exports: render, store and hand out files, each audited.

Services check who may see what and flush; the request or command commits.
A tenant gets only their own statements, and finance every file of their
corporation. Anyone else gets NotFound, so ids reveal nothing.
"""

import hashlib
import io
import logging
import zipfile
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from klusbank.accounts.access import today
from klusbank.accounts.models import Role, User
from klusbank.accounts.services import record_audit
from klusbank.errors import NotFound
from klusbank.extensions import db
from klusbank.timeutil import Period
from rewards.statements import queries
from rewards.statements.data import (
    StatementData,
    build_statement,
    build_yearly_overview,
)
from rewards.statements.exports import rows
from rewards.statements.exports.csv_cells import CsvDialect
from rewards.statements.exports.ledger_csv import write_ledger_csv
from rewards.statements.exports.payees import write_payees_csv
from rewards.statements.exports.rent_credit import write_rent_credit_csv
from rewards.statements.models import StatementFile, StatementKind
from rewards.statements.pdf import (
    RenderedFile,
    render_statement,
    render_yearly_overview,
)

logger = logging.getLogger(__name__)

# Werkzeug adds "; charset=utf-8" to text types itself.
CSV_MIMETYPE = "text/csv"
# Every entry of a statements ZIP gets this time stamp, so the same files
# always give the same archive.
ZIP_ENTRY_TIME = (2000, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class ExportFile:
    """A file to hand out: name, media type and bytes."""

    filename: str
    mimetype: str
    content: bytes


def require_finance(actor: User | None, corporation_id: int) -> None:
    """Let finance of the corporation (or a command, actor None) pass; else NotFound."""
    if actor is None:
        return
    if not actor.has_role(Role.FINANCE) or actor.corporation_id != corporation_id:
        raise NotFound(_("Page not found."))


def statement_filename(kind: StatementKind, period: str, tenant_id: int) -> str:
    """Return the file name of a tenant's statement or yearly overview."""
    prefix = "statement" if kind == StatementKind.MONTHLY else "payouts"
    return f"klusbank-{prefix}-{period}-tenant-{tenant_id}.pdf"


def find_statement_file(
    corporation_id: int, tenant_id: int, kind: StatementKind, period: str, locale: str
) -> StatementFile | None:
    """Return the stored file of a tenant, kind, period and language, if rendered."""
    return db.session.scalar(
        select(StatementFile).where(
            StatementFile.corporation_id == corporation_id,
            StatementFile.tenant_id == tenant_id,
            StatementFile.kind == kind,
            StatementFile.period == period,
            StatementFile.locale == locale,
        )
    )


def store_statement_file(
    corporation_id: int,
    tenant_id: int,
    kind: StatementKind,
    period: str,
    locale: str,
    rendered: RenderedFile,
) -> StatementFile:
    """Store a rendered PDF once; when another process stored it first, return that."""
    record = StatementFile(
        corporation_id=corporation_id,
        tenant_id=tenant_id,
        kind=kind,
        period=period,
        locale=locale,
        filename=statement_filename(kind, period, tenant_id),
        sha256=rendered.sha256,
        size_bytes=len(rendered.content),
        content=rendered.content,
    )
    try:
        with db.session.begin_nested():
            db.session.add(record)
    except IntegrityError:
        existing = find_statement_file(corporation_id, tenant_id, kind, period, locale)
        if existing is None:
            raise
        logger.info(
            "statement file for tenant %s %s stored by another process",
            tenant_id,
            period,
        )
        return existing
    return record


def ensure_statement(
    corporation_id: int, tenant_id: int, period: Period
) -> StatementFile:
    """Return a tenant's statement of a closed month, rendering and storing it once."""
    tenant = queries.tenant_user(corporation_id, tenant_id)
    existing = find_statement_file(
        corporation_id, tenant_id, StatementKind.MONTHLY, str(period), tenant.locale
    )
    if existing is not None:
        return existing
    rendered = render_statement(build_statement(corporation_id, tenant_id, period))
    logger.info("statement rendered for tenant %s %s", tenant_id, period)
    return store_statement_file(
        corporation_id,
        tenant_id,
        StatementKind.MONTHLY,
        str(period),
        tenant.locale,
        rendered,
    )


def ensure_yearly_overview(
    corporation_id: int, tenant_id: int, year: int
) -> StatementFile:
    """Return a tenant's overview of payouts in an ended year, rendering it once."""
    if year >= today().year:
        # The file does not exist before the year ends, so this is not found.
        raise NotFound(
            _("The yearly overview of %(year)s is made after the year ends.", year=year)
        )
    tenant = queries.tenant_user(corporation_id, tenant_id)
    existing = find_statement_file(
        corporation_id, tenant_id, StatementKind.YEARLY, str(year), tenant.locale
    )
    if existing is not None:
        return existing
    document = build_yearly_overview(corporation_id, tenant_id, year)
    if not document.payments:
        raise NotFound(_("No payouts were made to you in %(year)s.", year=year))
    return store_statement_file(
        corporation_id,
        tenant_id,
        StatementKind.YEARLY,
        str(year),
        tenant.locale,
        render_yearly_overview(document),
    )


def tenant_statement_periods(tenant: User) -> list[Period]:
    """Return the closed months in which the tenant has a statement, newest first."""
    return queries.tenant_statement_periods(tenant.corporation_id, tenant.id)


def tenant_payout_years(tenant: User) -> list[int]:
    """Return the ended years in which the tenant received payouts, newest first."""
    years = []
    # Financial records are kept for seven years, so older years are not offered.
    for year in range(today().year - 1, today().year - 8, -1):
        if queries.payments_in_year(tenant.corporation_id, year, tenant.id):
            years.append(year)
    return years


def statement_data_for(actor: User, period: Period) -> StatementData:
    """Return the figures of the actor's own statement of a closed month, or NotFound."""
    if not actor.has_role(Role.TENANT):
        raise NotFound(_("Page not found."))
    if period not in queries.tenant_statement_periods(actor.corporation_id, actor.id):
        raise NotFound(_("There is no statement for this month."))
    return build_statement(actor.corporation_id, actor.id, period)


def statement_for_download(
    actor: User, period: Period, tenant_id: int | None = None
) -> StatementFile:
    """Return a statement the actor may download, audited; others' raise NotFound.

    Without ``tenant_id`` it is the actor's own statement; with it, only
    finance of the tenant's corporation may download it.
    """
    owner_id = tenant_id if tenant_id is not None else actor.id
    if owner_id != actor.id:
        require_finance(actor, actor.corporation_id)
    elif not actor.has_role(Role.TENANT):
        raise NotFound(_("Page not found."))
    queries.tenant_user(actor.corporation_id, owner_id)
    if period not in queries.tenant_statement_periods(actor.corporation_id, owner_id):
        raise NotFound(_("There is no statement for this month."))
    record = ensure_statement(actor.corporation_id, owner_id, period)
    _audit_download(actor, record)
    return record


def yearly_overview_for_download(
    actor: User, year: int, tenant_id: int | None = None
) -> StatementFile:
    """Return a yearly overview the actor may download, audited; others' raise NotFound."""
    owner_id = tenant_id if tenant_id is not None else actor.id
    if owner_id != actor.id:
        require_finance(actor, actor.corporation_id)
    elif not actor.has_role(Role.TENANT):
        raise NotFound(_("Page not found."))
    queries.tenant_user(actor.corporation_id, owner_id)
    record = ensure_yearly_overview(actor.corporation_id, owner_id, year)
    _audit_download(actor, record)
    return record


def statements_zip(
    actor: User | None, corporation_id: int, period: Period
) -> ExportFile:
    """Return every statement of a closed month in one ZIP, rendering what is missing."""
    require_finance(actor, corporation_id)
    corporation = queries.corporation_by_id(corporation_id)
    tenant_ids = queries.statement_tenant_ids(corporation_id, period)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for tenant_id in tenant_ids:
            record = ensure_statement(corporation_id, tenant_id, period)
            entry = zipfile.ZipInfo(record.filename, date_time=ZIP_ENTRY_TIME)
            entry.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(entry, record.content)
    record_audit(
        "statements.zip_downloaded",
        actor=actor,
        corporation_id=corporation_id,
        subject=f"period:{period}",
        count=len(tenant_ids),
    )
    return ExportFile(
        f"klusbank-statements-{corporation.code}-{period}.zip",
        "application/zip",
        buffer.getvalue(),
    )


def export_rent_credit(
    actor: User | None, corporation_id: int, period: Period, dialect: CsvDialect
) -> ExportFile:
    """Return the rent credit CSV of a closed month, audited."""
    require_finance(actor, corporation_id)
    export_rows = rows.rent_credit_rows(corporation_id, period)
    content = write_rent_credit_csv(export_rows, dialect)
    _audit_export(
        actor,
        corporation_id,
        "rent_credit",
        str(period),
        content,
        dialect=dialect.value,
        total_cents=sum(row.amount_cents for row in export_rows),
        count=len(export_rows),
    )
    code = queries.corporation_by_id(corporation_id).code
    return ExportFile(
        f"klusbank-rent-credit-{code}-{period}-{dialect.value}.csv",
        CSV_MIMETYPE,
        content,
    )


def export_ledger(
    actor: User | None, corporation_id: int, period: Period, dialect: CsvDialect
) -> ExportFile:
    """Return every posting of a closed month as CSV, audited."""
    require_finance(actor, corporation_id)
    content = write_ledger_csv(rows.ledger_rows(corporation_id, period), dialect)
    _audit_export(
        actor, corporation_id, "ledger", str(period), content, dialect=dialect.value
    )
    code = queries.corporation_by_id(corporation_id).code
    return ExportFile(
        f"klusbank-ledger-{code}-{period}-{dialect.value}.csv", CSV_MIMETYPE, content
    )


def export_payees(
    actor: User | None, corporation_id: int, year: int, dialect: CsvDialect
) -> ExportFile:
    """Return the yearly payee report with BSNs for the tax office, audited."""
    require_finance(actor, corporation_id)
    payees = rows.payee_rows(corporation_id, year)
    content = write_payees_csv(payees, dialect)
    _audit_export(
        actor,
        corporation_id,
        "payees",
        str(year),
        content,
        dialect=dialect.value,
        count=len(payees),
        total_cents=sum(row.total_paid_cents for row in payees),
    )
    code = queries.corporation_by_id(corporation_id).code
    return ExportFile(
        f"klusbank-payees-{code}-{year}-{dialect.value}.csv", CSV_MIMETYPE, content
    )


def _audit_download(actor: User, record: StatementFile) -> None:
    record_audit(
        "statement.downloaded",
        actor=actor,
        corporation_id=record.corporation_id,
        subject=f"statement_file:{record.id}",
        tenant_id=record.tenant_id,
        kind=record.kind.value,
        period=record.period,
        sha256=record.sha256,
    )


def _audit_export(
    actor: User | None,
    corporation_id: int,
    kind: str,
    period: str,
    content: bytes,
    **details,
) -> None:

    record_audit(
        f"export.{kind}",
        actor=actor,
        corporation_id=corporation_id,
        subject=f"period:{period}",
        sha256=hashlib.sha256(content).hexdigest(),
        size_bytes=len(content),
        **details,
    )
    logger.info(
        "export %s of corporation %s %s by %s",
        kind,
        corporation_id,
        period,
        actor.id if actor else "command",
    )
