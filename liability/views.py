"""Tenant pages of the liability domain: read, accept and withdraw briefings, receipts."""

import logging

from flask import (
    Blueprint,
    Flask,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required

from klusbank.accounts.access import roles_required
from klusbank.accounts.models import Role
from klusbank.accounts.services import record_audit
from klusbank.extensions import db
from klusbank.forms import form_errors, form_status
from klusbank.nav import add_nav_entry
from klusbank.security import is_safe_redirect
from liability import queries, services, staff_views
from liability.forms import AcceptForm, WithdrawForm
from liability.models import Briefing, BriefingVersion
from liability.receipts import receipt_response

logger = logging.getLogger(__name__)
bp = Blueprint("liability", __name__, url_prefix="/liability")


def register(app: Flask) -> None:
    app.register_blueprint(bp)
    app.register_blueprint(staff_views.bp)
    add_nav_entry(app, "liability.index", "Safety briefings", Role.TENANT, order=300)
    add_nav_entry(
        app, "liability_staff.index", "Briefings", Role.ADMIN, Role.CARETAKER, order=650
    )


@bp.get("/")
@roles_required(Role.TENANT)
def index():
    """List the corporation's briefings with the tenant's standing for each."""
    rows = []
    for briefing in queries.briefings_of(current_user.corporation_id):
        status = queries.briefing_status(current_user, briefing)
        version = _version_to_show(briefing, status)
        if version is not None:
            rows.append({"briefing": briefing, "status": status, "version": version})
    return render_template("liability/index.html", rows=rows)


@bp.get("/briefings/<int:briefing_id>")
@roles_required(Role.TENANT)
def briefing(briefing_id: int):
    """Show a briefing's text, the tenant's standing and the form to accept it."""
    found = _briefing_or_404(briefing_id)
    return _render_briefing(
        found, AcceptForm(formdata=None), WithdrawForm(formdata=None)
    )


@bp.post("/briefings/<int:briefing_id>/accept")
@roles_required(Role.TENANT)
def accept(briefing_id: int):
    """Record the tenant's acceptance of the version they were shown."""
    found = _briefing_or_404(briefing_id)
    form = AcceptForm(account_name=current_user.full_name)
    withdraw_form = WithdrawForm(formdata=None)
    if not form.validate_on_submit():
        return _render_briefing(found, form, withdraw_form), 422
    version_id = int(form.version_id.data) if form.version_id.data.isdigit() else 0
    version = db.session.get(BriefingVersion, version_id)
    if version is None or version.briefing_id != found.id:
        abort(404)
    with form_errors(form):
        services.accept_version(
            current_user,
            version.id,
            typed_name=form.full_name.data,
            confirmed_read=form.confirm_read.data,
            shown_html_sha256=form.shown_sha256.data,
            evidence=services.request_evidence(),
        )
        db.session.commit()
        flash(_("Thank you. You accepted the safety briefing."), "success")
        target = form.next.data
        if is_safe_redirect(target):
            return redirect(target)
        return redirect(url_for("liability.briefing", briefing_id=found.id))
    return _render_briefing(found, form, withdraw_form), form_status(form)


@bp.post("/briefings/<int:briefing_id>/withdraw")
@roles_required(Role.TENANT)
def withdraw(briefing_id: int):
    """Withdraw the tenant's acceptance of a briefing."""
    found = _briefing_or_404(briefing_id)
    form = WithdrawForm()
    accept_form = AcceptForm(formdata=None)
    if not form.validate_on_submit():
        return _render_briefing(found, accept_form, form), 422
    with form_errors(form):
        services.withdraw_acceptance(
            current_user,
            found.id,
            reason=form.reason.data,
            evidence=services.request_evidence(),
        )
        db.session.commit()
        flash(
            _("Your acceptance is withdrawn. You cannot claim this kind of work now."),
            "info",
        )
        return redirect(url_for("liability.briefing", briefing_id=found.id))
    return _render_briefing(found, accept_form, form), form_status(form)


@bp.get("/acceptances/<int:acceptance_id>/receipt.pdf")
@login_required
def receipt(acceptance_id: int):
    """Send the PDF receipt of an acceptance to its tenant or to staff in scope."""
    acceptance = queries.acceptance_for_viewer(current_user, acceptance_id)
    if acceptance is None:
        abort(404)
    if acceptance.tenant_id != current_user.id:
        # Staff reading a tenant's evidence is recorded; the tenant's own copy is not.
        record_audit(
            "briefing.receipt_downloaded",
            actor=current_user,
            subject=f"acceptance:{acceptance.id}",
        )
        db.session.commit()
    return receipt_response(acceptance)


def _briefing_or_404(briefing_id: int) -> Briefing:
    found = queries.get_briefing(current_user.corporation_id, briefing_id)
    if found is None:
        abort(404)
    return found


def _locale() -> str:
    return str(get_locale() or "nl")


def _version_to_show(
    briefing: Briefing, status: queries.BriefingStatus
) -> BriefingVersion | None:
    if status.current_number is not None:
        return queries.version_in_locale(briefing.id, status.current_number, _locale())
    return status.upcoming


def _render_briefing(briefing: Briefing, accept_form: AcceptForm, withdraw_form):
    status = queries.briefing_status(current_user, briefing)
    shown = _version_to_show(briefing, status)
    if shown is None:
        abort(404)
    # A covered tenant is offered a coming material version; anyone else
    # accepts the version in effect.
    to_accept = status.upcoming if status.is_covered else shown
    if to_accept is not None and not accept_form.is_submitted():
        accept_form.version_id.data = str(to_accept.id)
        accept_form.shown_sha256.data = to_accept.html_sha256
        accept_form.next.data = request.args.get("next", "")
    return render_template(
        "liability/briefing.html",
        briefing=briefing,
        status=status,
        shown=shown,
        to_accept=to_accept,
        accept_form=accept_form,
        withdraw_form=withdraw_form,
        history=queries.acceptances_of(current_user.id, briefing.id),
        Standing=queries.Standing,
    )
