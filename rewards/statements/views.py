"""Portal pages of the statements: tenants' own statements, finance's files and exports.

Tenants download only their own statements and yearly overviews. Every
finance page requires Role.FINANCE of the same corporation; everyone else
gets 404. Every download is recorded in the audit trail by the services.
"""

import io
import logging

from flask import (
    Blueprint,
    Flask,
    abort,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user

from klusbank.accounts.access import roles_required
from klusbank.accounts.models import Role
from klusbank.extensions import db
from klusbank.forms import form_errors, form_status
from klusbank.nav import add_nav_entry
from klusbank.timeutil import Period
from rewards.statements import batches, queries, services
from rewards.statements.exports.csv_cells import CsvDialect
from rewards.statements.forms import (
    BatchFailedForm,
    BatchPaidForm,
    CreateBatchForm,
    PayoutAccountForm,
)
from rewards.statements.models import DebtorAccount, StatementFile

logger = logging.getLogger(__name__)
bp = Blueprint("rewards_statements", __name__, url_prefix="/rewards")


def register_nav(app: Flask) -> None:
    """Add the statements and exports to the portal menu."""
    add_nav_entry(
        app, "rewards_statements.my_statements", "Statements", Role.TENANT, order=450
    )
    add_nav_entry(
        app,
        "rewards_statements.finance_statements",
        "Statements",
        Role.FINANCE,
        order=750,
    )
    add_nav_entry(
        app, "rewards_statements.finance_exports", "Exports", Role.FINANCE, order=760
    )


def _period_or_404(text: str) -> Period:
    try:
        return Period.parse(text)
    except ValueError:
        abort(404)


def _pdf_response(record: StatementFile):
    response = send_file(
        io.BytesIO(record.content),
        mimetype="application/pdf",
        as_attachment=True,
        download_name=record.filename,
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _file_response(exported: services.ExportFile):
    response = send_file(
        io.BytesIO(exported.content),
        mimetype=exported.mimetype,
        as_attachment=True,
        download_name=exported.filename,
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _send_export(export, period_or_year):
    """Run one CSV export service for the current user, commit its audit, send it."""
    exported = export(
        current_user, current_user.corporation_id, period_or_year, _dialect()
    )
    db.session.commit()
    return _file_response(exported)


def _dialect() -> CsvDialect:
    value = request.args.get("dialect", CsvDialect.NL.value)
    if value not in {dialect.value for dialect in CsvDialect}:
        abort(404)
    return CsvDialect(value)


@bp.get("/statements")
@roles_required(Role.TENANT)
def my_statements():
    """List the tenant's monthly statements and yearly payout overviews."""
    return render_template(
        "rewards/statements/my_statements.html",
        periods=services.tenant_statement_periods(current_user),
        years=services.tenant_payout_years(current_user),
    )


@bp.get("/statements/<period>.pdf")
@roles_required(Role.TENANT)
def my_statement_pdf(period: str):
    """Send the tenant's own statement of a closed month."""
    record = services.statement_for_download(current_user, _period_or_404(period))
    db.session.commit()
    return _pdf_response(record)


@bp.get("/statements/payouts-<int(min=2000, max=2999):year>.pdf")
@roles_required(Role.TENANT)
def my_yearly_pdf(year: int):
    """Send the tenant's own overview of payouts in an ended year."""
    record = services.yearly_overview_for_download(current_user, year)
    db.session.commit()
    return _pdf_response(record)


@bp.get("/finance/statements")
@roles_required(Role.FINANCE)
def finance_statements():
    """Show the closed months and, for the chosen one, every tenant's statement."""
    corporation_id = current_user.corporation_id
    periods = queries.closed_periods(corporation_id)
    chosen = _chosen_period(periods)
    tenants = []
    if chosen is not None:
        for tenant_id in queries.statement_tenant_ids(corporation_id, chosen):
            tenant = queries.tenant_user(corporation_id, tenant_id)
            place = queries.tenant_place(tenant_id, chosen.last_day)
            tenants.append({"tenant": tenant, "place": place})
    return render_template(
        "rewards/statements/finance_statements.html",
        periods=periods,
        chosen=chosen,
        tenants=tenants,
    )


@bp.get("/finance/statements/<period>.zip")
@roles_required(Role.FINANCE)
def finance_statements_zip(period: str):
    """Send every statement of a closed month as one ZIP, rendering what is missing."""
    exported = services.statements_zip(
        current_user, current_user.corporation_id, _period_or_404(period)
    )
    db.session.commit()
    return _file_response(exported)


@bp.get("/finance/statements/<period>/<int:tenant_id>.pdf")
@roles_required(Role.FINANCE)
def finance_statement_pdf(period: str, tenant_id: int):
    """Send one tenant's statement of a closed month to finance."""
    record = services.statement_for_download(
        current_user, _period_or_404(period), tenant_id=tenant_id
    )
    db.session.commit()
    return _pdf_response(record)


@bp.get("/finance/exports")
@roles_required(Role.FINANCE)
def finance_exports():
    """Show the exports of a closed month, its payout batches and the payee report."""
    periods = queries.closed_periods(current_user.corporation_id)
    return _render_exports(periods, _chosen_period(periods))


def _render_exports(periods: list[Period], chosen: Period | None, **forms):
    corporation_id = current_user.corporation_id
    return render_template(
        "rewards/statements/finance_exports.html",
        periods=periods,
        chosen=chosen,
        batches=batches.batches_of(corporation_id, chosen) if chosen else [],
        live_batch=batches.live_batch(corporation_id, chosen) if chosen else None,
        years=sorted({period.year for period in periods}, reverse=True),
        debtor=db.session.get(DebtorAccount, corporation_id),
        create_form=forms.get("create_form") or CreateBatchForm(formdata=None),
        paid_form=forms.get("paid_form") or BatchPaidForm(formdata=None),
        failed_form=forms.get("failed_form") or BatchFailedForm(formdata=None),
    )


@bp.get("/finance/exports/<period>/rent-credit.csv")
@roles_required(Role.FINANCE)
def export_rent_credit(period: str):
    """Send the rent credit CSV of a closed month."""
    return _send_export(services.export_rent_credit, _period_or_404(period))


@bp.get("/finance/exports/<period>/ledger.csv")
@roles_required(Role.FINANCE)
def export_ledger(period: str):
    """Send every posting of a closed month as CSV."""
    return _send_export(services.export_ledger, _period_or_404(period))


@bp.get("/finance/exports/payees-<int(min=2000, max=2999):year>.csv")
@roles_required(Role.FINANCE)
def export_payees(year: int):
    """Send the yearly payee report with BSNs for the tax office."""
    return _send_export(services.export_payees, year)


@bp.post("/finance/exports/<period>/batches")
@roles_required(Role.FINANCE)
def create_batch(period: str):
    """Create the month's payout batch and hold its payouts in the ledger."""
    month = _period_or_404(period)
    form = CreateBatchForm()
    if not form.validate_on_submit():
        return _invalid_form(month, create_form=form)
    with form_errors(form):
        batch = batches.create_payout_batch(
            current_user,
            current_user.corporation_id,
            month,
            execution_date=form.execution_date.data,
        )
        db.session.commit()
        flash(
            _(
                "Payout batch created with %(count)d payments. Download the SEPA file "
                "and upload it to the bank.",
                count=batch.payment_count,
            ),
            "success",
        )
        return redirect(url_for(".finance_exports", period=str(month)))
    return _invalid_form(month, create_form=form)


@bp.get("/finance/batches/<int:batch_id>/sepa.xml")
@roles_required(Role.FINANCE)
def export_sepa(batch_id: int):
    """Send a payout batch's SEPA file, the same bytes on every download."""
    exported = batches.export_sepa(current_user, current_user.corporation_id, batch_id)
    db.session.commit()
    return _file_response(exported)


@bp.post("/finance/batches/<int:batch_id>/paid")
@roles_required(Role.FINANCE)
def batch_paid(batch_id: int):
    """Mark a payout batch paid by the bank and post its holds."""
    batch = batches.get_batch(current_user, current_user.corporation_id, batch_id)
    form = BatchPaidForm()
    period = Period.parse(batch.period)
    if not form.validate_on_submit():
        return _invalid_form(period, paid_form=form)
    with form_errors(form):
        batches.mark_batch_paid(
            current_user,
            current_user.corporation_id,
            batch.id,
            paid_on=form.paid_on.data,
        )
        db.session.commit()
        flash(_("The payout batch is marked paid."), "success")
        return redirect(url_for(".finance_exports", period=str(period)))
    return _invalid_form(period, paid_form=form)


@bp.post("/finance/batches/<int:batch_id>/failed")
@roles_required(Role.FINANCE)
def batch_failed(batch_id: int):
    """Mark a payout batch rejected by the bank and void its holds."""
    batch = batches.get_batch(current_user, current_user.corporation_id, batch_id)
    form = BatchFailedForm()
    period = Period.parse(batch.period)
    if not form.validate_on_submit():
        return _invalid_form(period, failed_form=form)
    with form_errors(form):
        batches.mark_batch_failed(
            current_user,
            current_user.corporation_id,
            batch.id,
            reason=form.reason.data,
        )
        db.session.commit()
        flash(
            _("The payout batch is marked failed; its payouts can go in a new batch."),
            "info",
        )
        return redirect(url_for(".finance_exports", period=str(period)))
    return _invalid_form(period, failed_form=form)


@bp.route("/finance/payout-account", methods=["GET", "POST"])
@roles_required(Role.FINANCE)
def payout_account():
    """Show and change the bank account that payouts are paid from."""
    corporation_id = current_user.corporation_id
    current = db.session.get(DebtorAccount, corporation_id)
    form = PayoutAccountForm(obj=current)
    if form.validate_on_submit():
        with form_errors(form):
            batches.set_debtor_account(
                current_user,
                corporation_id,
                account_holder=form.account_holder.data,
                iban=form.iban.data,
                bic=form.bic.data,
            )
            db.session.commit()
            flash(_("The payout account is saved."), "success")
            return redirect(url_for(".finance_exports"))
    page = render_template("rewards/statements/payout_account.html", form=form)
    return page, form_status(form)


def _chosen_period(periods: list[Period]) -> Period | None:
    """Return the month named by ``?period=``, or the newest closed month."""
    text = request.args.get("period")
    if text is None:
        return periods[0] if periods else None
    period = _period_or_404(text)
    if period not in periods:
        abort(404)
    return period


def _invalid_form(period: Period, **forms):
    """Show the exports page again with the form's errors, as 422 or 409."""
    periods = queries.closed_periods(current_user.corporation_id)
    if period not in periods:
        abort(404)
    return _render_exports(periods, period, **forms), form_status(*forms.values())
