"""Staff pages: posting, editing and cancelling chores, and reviewing submitted work."""

from datetime import timedelta

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from klusbank.accounts.access import caretaker_cluster_ids, roles_required
from klusbank.accounts.models import Role
from klusbank.db import utcnow
from klusbank.errors import InvalidInput
from klusbank.extensions import db
from klusbank.housing.models import Cluster
from participation import queries, services
from participation.forms import (
    ApproveForm,
    ChoreForm,
    ReasonForm,
    RejectForm,
    amsterdam_to_utc,
    utc_to_amsterdam,
)
from participation.models import (
    Chore,
    ClaimStatus,
    ProofKind,
    Recurrence,
    RewardMode,
)
from participation.views.common import (
    REVIEWERS,
    STAFF,
    attach_field_errors,
    bp,
    locale,
    require_valid,
)


@bp.get("/manage")
@roles_required(*STAFF)
def staff_chores():
    """List the chores of the staff member's clusters."""
    include_finished = request.args.get("all") == "1"
    listings = queries.chores_for_staff(current_user, include_finished=include_finished)
    return render_template(
        "participation/staff_chores.html",
        listings=listings,
        include_finished=include_finished,
        may_post=bool(caretaker_cluster_ids(current_user))
        and current_user.has_role(Role.CARETAKER),
        locale=locale(),
    )


@bp.route("/manage/new", methods=["GET", "POST"])
@roles_required(Role.CARETAKER)
def post_chore():
    """Show the posting form, or post a chore (one per occurrence when repeating)."""
    form = _chore_form()
    if request.method == "GET":
        _prefill_new(form)
    if not form.validate_on_submit():
        status = 422 if request.method == "POST" else 200
        return render_template(
            "participation/chore_form.html", form=form, chore=None
        ), status
    recurrence = Recurrence(form.recurrence.data) if form.recurrence.data else None
    try:
        posted = services.post_chore(
            current_user,
            form.cluster_id.data,
            _terms(form),
            recurrence=recurrence,
            occurrences=form.occurrences.data or 1,
        )
    except InvalidInput as error:
        if not attach_field_errors(form, error):
            raise
        db.session.rollback()
        return _chore_form_page(form, None), 422
    db.session.commit()
    flash(
        _("%(count)d chore(s) posted.", count=len(posted)),
        "success",
    )
    return redirect(url_for("participation.staff_chore", chore_id=posted[0].id))


@bp.get("/manage/chores/<int:chore_id>")
@roles_required(*STAFF)
def staff_chore(chore_id: int):
    """Show a chore with its claims, for the staff of its cluster."""
    return _staff_chore_page(chore_id, ReasonForm())


def _staff_chore_page(chore_id: int, cancel_form: ReasonForm) -> str:
    found = queries.chore_for_staff(current_user, chore_id)
    return render_template(
        "participation/staff_chore.html",
        chore=found,
        listing=queries.listing_for(found),
        claims=queries.claims_of_chore(found),
        may_manage=queries.may_manage_chore(current_user, found),
        cancel_form=cancel_form,
        locale=locale(),
    )


@bp.route("/manage/chores/<int:chore_id>/edit", methods=["GET", "POST"])
@roles_required(Role.CARETAKER)
def edit_chore(chore_id: int):
    """Show the edit form, or change a chore no tenant has claimed."""
    found = queries.chore_for_staff(current_user, chore_id)
    form = _chore_form(obj=found if request.method == "GET" else None)
    if request.method == "GET":
        _prefill_existing(form, found)
    form.cluster_id.choices = [SelectChoice(str(found.cluster.id), found.cluster.name)]
    if not form.validate_on_submit():
        status = 422 if request.method == "POST" else 200
        return render_template(
            "participation/chore_form.html", form=form, chore=found
        ), status
    try:
        services.update_chore(
            current_user,
            found.id,
            _terms(form),
            terms_digest=form.terms_digest.data or None,
        )
    except InvalidInput as error:
        if not attach_field_errors(form, error):
            raise
        db.session.rollback()
        return _chore_form_page(form, found), 422
    db.session.commit()
    flash(_("The chore is changed."), "success")
    return redirect(url_for("participation.staff_chore", chore_id=found.id))


@bp.post("/manage/chores/<int:chore_id>/cancel")
@roles_required(Role.CARETAKER)
def cancel_chore(chore_id: int):
    """Cancel a chore with a reason its claimants see."""
    form = ReasonForm()
    if not form.validate_on_submit():
        return _staff_chore_page(chore_id, form), 422
    services.cancel_chore(current_user, chore_id, form.reason.data)
    db.session.commit()
    flash(_("The chore is cancelled."), "info")
    return redirect(url_for("participation.staff_chore", chore_id=chore_id))


@bp.get("/review")
@roles_required(*REVIEWERS)
def review_queue():
    """List submitted work and approvals waiting for a second approver."""
    return render_template(
        "participation/review_queue.html",
        claims=queries.review_queue(current_user),
        locale=locale(),
    )


@bp.get("/review/claims/<int:claim_id>")
@roles_required(*STAFF)
def review_claim(claim_id: int):
    """Show a claim to staff: the work, the photo, the briefing evidence, the history."""
    return _review_page(claim_id, None)


def _review_page(claim_id: int, reject_form: RejectForm | None) -> str:
    """Render a claim's review page, with ``reject_form`` to show a rejected input."""
    found = queries.claim_for_staff(current_user, claim_id)
    shown = found.status.value
    return render_template(
        "participation/review_claim.html",
        claim=found,
        chore=found.chore,
        events=queries.timeline(found),
        evidence=queries.acceptance_evidence(found),
        action_form=ApproveForm(formdata=None, expected_status=shown),
        reject_form=reject_form or RejectForm(formdata=None, expected_status=shown),
        locale=locale(),
    )


@bp.post("/review/claims/<int:claim_id>/approve")
@roles_required(*REVIEWERS)
def approve(claim_id: int):
    """Approve submitted work, or give the second approval."""
    form = ApproveForm()
    require_valid(form)
    approved = services.approve_claim(
        current_user, claim_id, expected_status=_status(form.expected_status.data)
    )
    db.session.commit()
    if approved.status is ClaimStatus.AWAITING_SECOND_APPROVAL:
        flash(
            _("Approved. A second approver must confirm before points are credited."),
            "info",
        )
    else:
        flash(_("Approved. The points are credited."), "success")
    return redirect(url_for("participation.review_queue"))


@bp.post("/review/claims/<int:claim_id>/reject")
@roles_required(*REVIEWERS)
def reject(claim_id: int):
    """Reject submitted work with a reason the tenant sees."""
    form = RejectForm()
    if not form.validate_on_submit():
        return _review_page(claim_id, form), 422
    services.reject_claim(
        current_user,
        claim_id,
        form.reason.data,
        expected_status=_status(form.expected_status.data),
    )
    db.session.commit()
    flash(_("The work is rejected; the tenant sees your reason."), "info")
    return redirect(url_for("participation.review_queue"))


def _chore_form_page(form: ChoreForm, chore: Chore | None) -> str:
    return render_template("participation/chore_form.html", form=form, chore=chore)


def _status(value: str | None) -> ClaimStatus | None:
    return ClaimStatus(value) if value else None


def _chore_form(obj: Chore | None = None) -> ChoreForm:
    form = ChoreForm(obj=obj)
    clusters = [
        db.session.get(Cluster, cluster_id)
        for cluster_id in sorted(caretaker_cluster_ids(current_user))
    ]
    form.cluster_id.choices = [
        SelectChoice(str(cluster.id), cluster.name) for cluster in clusters
    ]
    form.category_id.choices = [
        SelectChoice(str(category.id), category.name_for(locale()))
        for category in queries.categories(
            current_user.corporation_id, active_only=True
        )
    ]
    return form


def _prefill_new(form: ChoreForm) -> None:
    """Suggest a window from now to a week ahead and a deadline two weeks ahead."""
    start = utcnow().replace(second=0, microsecond=0)
    form.claim_opens_at.data = utc_to_amsterdam(start)
    form.claim_closes_at.data = utc_to_amsterdam(start) + timedelta(days=7)
    form.deadline_at.data = utc_to_amsterdam(start) + timedelta(days=14)
    category_id = request.args.get("category_id", type=int)
    for category in queries.categories(current_user.corporation_id, active_only=True):
        if category.id == category_id:
            form.category_id.data = category.id
            form.reward_points.data = category.default_points
            form.places.data = category.default_places


def _prefill_existing(form: ChoreForm, chore: Chore) -> None:
    form.claim_opens_at.data = utc_to_amsterdam(chore.claim_opens_at)
    form.claim_closes_at.data = utc_to_amsterdam(chore.claim_closes_at)
    form.deadline_at.data = utc_to_amsterdam(chore.deadline_at)
    form.reward_mode.data = chore.reward_mode.value
    form.proof.data = chore.proof.value
    form.terms_digest.data = chore.terms_digest


def _terms(form: ChoreForm) -> services.ChoreTerms:
    return services.ChoreTerms(
        title=form.title.data or "",
        description=form.description.data or "",
        category_id=form.category_id.data,
        reward_points=form.reward_points.data,
        reward_mode=RewardMode(form.reward_mode.data),
        places=form.places.data,
        proof=ProofKind(form.proof.data),
        claim_opens_at=amsterdam_to_utc(form.claim_opens_at.data),
        claim_closes_at=amsterdam_to_utc(form.claim_closes_at.data),
        deadline_at=amsterdam_to_utc(form.deadline_at.data),
    )
