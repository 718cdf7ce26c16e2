"""Staff pages of briefings: versions, publication, acceptance history, paper records.

Administrators and caretakers see the history; a caretaker only of tenants
in the clusters they look after. Only administrators publish versions.
"""

import logging

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from klusbank.accounts.access import roles_required
from klusbank.accounts.models import Role
from klusbank.accounts.services import record_audit
from klusbank.errors import InvalidInput
from klusbank.extensions import db
from klusbank.forms import attach_errors, form_errors, form_status
from klusbank.uploads import upload_path
from liability import queries, services
from liability.exports import history_csv
from liability.forms import (
    PaperAcceptanceForm,
    PaperWithdrawalForm,
    VersionForm,
)
from liability.models import Briefing, BriefingVersion
from liability.receipts import render_paper_form

logger = logging.getLogger(__name__)
bp = Blueprint("liability_staff", __name__, url_prefix="/liability/manage")
STAFF = (Role.ADMIN, Role.CARETAKER)
# The publication services name the material-change choice is_material.
VERSION_FIELDS = {"is_material": "change"}


@bp.get("/")
@roles_required(*STAFF)
def index():
    """List the corporation's briefings with their latest versions."""
    rows = []
    for briefing in queries.briefings_of(current_user.corporation_id):
        latest = queries.latest_version_number(briefing.id)
        texts = queries.version_texts(briefing.id, latest) if latest else {}
        rows.append(
            {
                "briefing": briefing,
                "latest": latest,
                "current": queries.current_version_number(briefing.id),
                "texts": texts,
            }
        )
    return render_template("liability/staff/index.html", rows=rows)


@bp.get("/<int:briefing_id>")
@roles_required(*STAFF)
def briefing(briefing_id: int):
    """Show a briefing's versions, its acceptance history and the paper forms."""
    found = _briefing_or_404(briefing_id)
    return _render_briefing(
        found, _paper_acceptance_form(found), _paper_withdrawal_form()
    )


@bp.get("/<int:briefing_id>/versions/<int:version_id>")
@roles_required(*STAFF)
def version(briefing_id: int, version_id: int):
    """Show one published version with its hashes."""
    found = _version_or_404(briefing_id, version_id)
    return render_template("liability/staff/version.html", version=found)


@bp.get("/<int:briefing_id>/versions/<int:version_id>/form.pdf")
@roles_required(*STAFF)
def paper_form(briefing_id: int, version_id: int):
    """Send a printable form of a version for a tenant to sign on paper."""
    found = _version_or_404(briefing_id, version_id)
    name = f"briefing-{found.briefing.code}-v{found.version_number}-{found.locale}.pdf"
    return Response(
        render_paper_form(found),
        mimetype="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@bp.get("/<int:briefing_id>/export.csv")
@roles_required(*STAFF)
def export(briefing_id: int):
    """Download the acceptances and withdrawals in the staff member's scope as CSV."""
    found = _briefing_or_404(briefing_id)
    rows = queries.staff_history(current_user, found)
    record_audit(
        "briefing.history_exported",
        actor=current_user,
        subject=f"briefing:{found.id}",
        rows=len(rows),
    )
    db.session.commit()
    name = f"briefing-{found.code}-history.csv"
    return Response(
        history_csv(rows),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@bp.route("/new", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def new_briefing():
    """Write, preview and publish the first version of a new briefing."""
    form = VersionForm()
    if not form.is_submitted():
        return render_template("liability/staff/publish.html", form=form, briefing=None)
    code = (form.code.data or "").strip()
    with form_errors(form, fields=VERSION_FIELDS):
        services.check_briefing_code(current_user.corporation_id, code)
        draft_briefing = Briefing(corporation_id=current_user.corporation_id, code=code)
        return _preview_or_publish(form, draft_briefing, is_new=True)
    page = render_template("liability/staff/publish.html", form=form, briefing=None)
    return page, form_status(form)


@bp.route("/<int:briefing_id>/publish", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def publish(briefing_id: int):
    """Write, preview and publish a new version or a translation."""
    found = _briefing_or_404(briefing_id)
    form = VersionForm()
    if not form.is_submitted():
        _prefill(form, found)
        return render_template(
            "liability/staff/publish.html", form=form, briefing=found
        )
    with form_errors(form, fields=VERSION_FIELDS):
        return _preview_or_publish(form, found, is_new=False)
    page = render_template("liability/staff/publish.html", form=form, briefing=found)
    return page, form_status(form)


@bp.post("/<int:briefing_id>/paper-acceptances")
@roles_required(*STAFF)
def record_paper_acceptance(briefing_id: int):
    """Record a signed paper briefing form with its scan."""
    found = _briefing_or_404(briefing_id)
    form = _paper_acceptance_form(found)
    withdrawal_form = _paper_withdrawal_form(formdata=None)
    if not form.validate_on_submit():
        return _render_briefing(found, form, withdrawal_form), 422
    _version_or_404(found.id, form.version_id.data)
    with form_errors(form, fields={"tenant": "tenant_id", "version": "version_id"}):
        acceptance = services.record_paper_acceptance(
            current_user,
            form.tenant_id.data,
            form.version_id.data,
            typed_name=form.typed_name.data,
            signed_on=form.signed_on.data,
            scan=form.scan.data.read(),
            evidence=services.request_evidence(),
        )
        db.session.commit()
        flash(
            _("The paper acceptance is recorded as number %(id)d.", id=acceptance.id),
            "success",
        )
        return redirect(url_for("liability_staff.briefing", briefing_id=found.id))
    return _render_briefing(found, form, withdrawal_form), form_status(form)


@bp.post("/<int:briefing_id>/paper-withdrawals")
@roles_required(*STAFF)
def record_paper_withdrawal(briefing_id: int):
    """Record a withdrawal that a tenant handed in on paper."""
    found = _briefing_or_404(briefing_id)
    form = _paper_withdrawal_form()
    acceptance_form = _paper_acceptance_form(found, formdata=None)
    if not form.validate_on_submit():
        return _render_briefing(found, acceptance_form, form), 422
    with form_errors(form, fields={"tenant": "tenant_id"}):
        services.record_paper_withdrawal(
            current_user,
            form.tenant_id.data,
            found.id,
            reason=form.reason.data,
            evidence=services.request_evidence(),
        )
        db.session.commit()
        flash(_("The withdrawal is recorded."), "success")
        return redirect(url_for("liability_staff.briefing", briefing_id=found.id))
    return _render_briefing(found, acceptance_form, form), form_status(form)


@bp.get("/acceptances/<int:acceptance_id>")
@roles_required(*STAFF)
def acceptance(acceptance_id: int):
    """Show the evidence of one acceptance."""
    found = queries.acceptance_for_viewer(current_user, acceptance_id)
    if found is None:
        abort(404)
    return render_template(
        "liability/staff/acceptance.html",
        acceptance=found,
        evidence=services.acceptance_evidence(found.id),
    )


@bp.get("/acceptances/<int:acceptance_id>/scan")
@roles_required(*STAFF)
def scan(acceptance_id: int):
    """Send the scan of a paper acceptance to staff in scope."""
    found = queries.acceptance_for_viewer(current_user, acceptance_id)
    if found is None or found.scan_name is None:
        abort(404)
    path = upload_path(services.SCAN_FOLDER, found.scan_name)
    if not path.is_file():
        logger.error("scan %s of acceptance %s is missing", found.scan_name, found.id)
        abort(404)
    record_audit(
        "briefing.scan_downloaded", actor=current_user, subject=f"acceptance:{found.id}"
    )
    db.session.commit()
    # Scans are small re-encoded images, so reading them whole is fine.
    return Response(
        path.read_bytes(),
        mimetype=found.scan_mime_type,
        headers={"Cache-Control": "private, no-store"},
    )


def _briefing_or_404(briefing_id: int) -> Briefing:
    found = queries.get_briefing(current_user.corporation_id, briefing_id)
    if found is None:
        abort(404)
    return found


def _version_or_404(briefing_id: int, version_id: int) -> BriefingVersion:
    found = db.session.get(BriefingVersion, version_id)
    if found is None or found.briefing_id != briefing_id:
        abort(404)
    if found.briefing.corporation_id != current_user.corporation_id:
        abort(404)
    return found


def _paper_acceptance_form(briefing: Briefing, **options) -> PaperAcceptanceForm:
    form = PaperAcceptanceForm(**options)
    form.tenant_id.choices = _tenant_choices()
    current = queries.current_version_number(briefing.id) or 0
    form.version_id.choices = [
        SelectChoice(
            version.id, f"v{version.version_number} ({version.locale}) {version.title}"
        )
        for version in briefing.versions
        if version.version_number >= current
    ]
    return form


def _paper_withdrawal_form(**options) -> PaperWithdrawalForm:
    form = PaperWithdrawalForm(**options)
    form.tenant_id.choices = _tenant_choices()
    return form


def _tenant_choices() -> list[SelectChoice]:
    return [
        (tenant.id, tenant.full_name)
        for tenant in queries.tenants_in_scope(current_user)
    ]


def _render_briefing(briefing: Briefing, acceptance_form, withdrawal_form) -> str:
    return render_template(
        "liability/staff/briefing.html",
        briefing=briefing,
        versions=briefing.versions,
        current=queries.current_version_number(briefing.id),
        required=queries.required_version_number(briefing.id),
        history=queries.staff_history(current_user, briefing),
        acceptance_form=acceptance_form,
        withdrawal_form=withdrawal_form,
    )


def _prefill(form: VersionForm, briefing: Briefing) -> None:
    """Fill the form from the latest version, or from the one to translate."""
    translate = request.args.get("translate", type=int)
    latest = queries.latest_version_number(briefing.id)
    number = translate or latest
    if number is None:
        return
    texts = queries.version_texts(briefing.id, number)
    if not texts:
        abort(404)
    source = next(iter(texts.values()))
    form.title.data = source.title
    form.body.data = source.body_markdown
    if translate:
        form.version_number.data = translate
        missing = [
            choice.value for choice in form.locale.choices if choice.value not in texts
        ]
        form.locale.data = missing[0] if missing else source.locale
        form.change_summary.data = source.change_summary
    else:
        form.locale.data = source.locale


def _preview_or_publish(form: VersionForm, briefing: Briefing, *, is_new: bool):
    """Render the preview, or publish when the request repeats what was previewed."""
    template = "liability/staff/publish.html"
    shown_briefing = None if is_new else briefing
    if not form.validate():
        return render_template(template, form=form, briefing=shown_briefing), 422

    options = {
        "locale": form.locale.data,
        "title": form.title.data,
        "body": form.body.data,
        "is_material": form.is_material,
        "change_summary": form.change_summary.data or "",
        "effective_from": form.effective_from.data,
        "version_number": None if is_new else form.version_number.data,
    }
    try:
        draft = services.prepare_version(briefing, **options)
    except InvalidInput as error:
        # Shown beside the fields, so the administrator keeps the typed text.
        attach_errors(form, error, fields=VERSION_FIELDS)
        return render_template(template, form=form, briefing=shown_briefing), 422

    wants_publish = request.form.get("action") == "publish"
    if not wants_publish or form.previewed_sha256.data != draft.fingerprint:
        if wants_publish:
            flash(_("The text changed since the preview. Check it again."), "error")
        form.previewed_sha256.data = draft.fingerprint
        return render_template(
            template, form=form, briefing=shown_briefing, draft=draft
        )

    if is_new:
        briefing = services.create_briefing(
            current_user.corporation, briefing.code, actor=current_user
        )
        draft = services.prepare_version(briefing, **options)
    version = services.publish_version(briefing, draft, actor=current_user)
    db.session.commit()
    flash(
        _(
            "Version %(number)d (%(locale)s) is published.",
            number=version.version_number,
            locale=version.locale,
        ),
        "success",
    )
    return redirect(url_for("liability_staff.briefing", briefing_id=briefing.id))
