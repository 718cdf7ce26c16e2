"""Tenant pages: open chores, claiming, submitting, withdrawing and the claim history."""

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from wtforms.fields.choices import SelectChoice

from klusbank.accounts.access import roles_required
from klusbank.accounts.models import Role
from klusbank.errors import InvalidInput, RuleViolation
from klusbank.extensions import db
from participation import queries, services
from participation.forms import ActionForm, ChoreFilterForm, ClaimForm, SubmitForm
from participation.models import UNFINISHED
from participation.queries import ChoreFilter, ChoreSort
from participation.views.common import (
    attach_field_errors,
    bp,
    locale,
    require_valid,
    send_claim_photo,
)


@bp.get("/chores")
@roles_required(Role.TENANT)
def chores():
    """List the open chores of the tenant's clusters, filtered and sorted."""
    form = ChoreFilterForm(request.args)
    categories = queries.categories(current_user.corporation_id, active_only=True)
    clusters = queries.tenant_clusters(current_user)
    form.category_id.choices = [SelectChoice("", _("All categories"))] + [
        SelectChoice(str(category.id), category.name_for(locale()))
        for category in categories
    ]
    form.cluster_id.choices = [SelectChoice("", _("Everywhere"))] + [
        SelectChoice(str(cluster.id), cluster.name) for cluster in clusters
    ]
    chore_filter = ChoreFilter()
    if form.validate():
        chore_filter = ChoreFilter(
            category_id=form.category_id.data,
            cluster_id=form.cluster_id.data,
            available_only=form.available_only.data,
            sort=ChoreSort(form.sort.data),
        )
    listings = queries.open_chores_for_tenant(current_user, chore_filter)
    return render_template(
        "participation/chores.html", listings=listings, form=form, locale=locale()
    )


@bp.get("/chores/<int:chore_id>")
@roles_required(Role.TENANT)
def chore(chore_id: int):
    """Show one chore with its terms and the tenant's own claim, if any."""
    return _chore_page(chore_id)


def _chore_page(chore_id: int, refusal: RuleViolation | None = None) -> str:
    found = queries.chore_for_tenant(current_user, chore_id)
    listing = queries.listing_for(found, viewer=current_user)
    return render_template(
        "participation/chore.html",
        listing=listing,
        chore=found,
        form=ClaimForm(formdata=None, terms_digest=found.terms_digest),
        refusal=refusal,
        locale=locale(),
    )


@bp.post("/chores/<int:chore_id>/claim")
@roles_required(Role.TENANT)
def claim(chore_id: int):
    """Claim a place on a chore and show the claim."""
    form = ClaimForm()
    require_valid(form)
    try:
        created = services.claim_chore(
            current_user,
            chore_id,
            briefing_return_url=url_for("participation.chore", chore_id=chore_id),
            terms_digest=form.terms_digest.data or None,
        )
    except RuleViolation as refusal:
        if refusal.code != "chore_terms_changed":
            raise
        # Show the new terms beside the message, so the tenant can claim them.
        db.session.rollback()
        return _chore_page(chore_id, refusal), 409
    db.session.commit()
    flash(_("You claimed a place. Submit your work before the deadline."), "success")
    return redirect(url_for("participation.my_claim", claim_id=created.id))


@bp.get("/claims")
@roles_required(Role.TENANT)
def my_claims():
    """List the tenant's own claims, open ones first."""
    claims = queries.claims_of_tenant(current_user)
    unfinished = [claim for claim in claims if claim.status in UNFINISHED]
    finished = [claim for claim in claims if claim.status not in UNFINISHED]
    return render_template(
        "participation/my_claims.html",
        unfinished=unfinished,
        finished=finished,
        locale=locale(),
    )


@bp.get("/claims/<int:claim_id>")
@roles_required(Role.TENANT)
def my_claim(claim_id: int):
    """Show one of the tenant's claims with the submit form and its timeline."""
    return _claim_page(claim_id, SubmitForm())


def _claim_page(claim_id: int, submit_form: SubmitForm) -> str:
    found = queries.claim_for_tenant(current_user, claim_id)
    return render_template(
        "participation/my_claim.html",
        claim=found,
        chore=found.chore,
        events=queries.timeline(found),
        submit_form=submit_form,
        action_form=ActionForm(),
        locale=locale(),
    )


@bp.post("/claims/<int:claim_id>/submit")
@roles_required(Role.TENANT)
def submit(claim_id: int):
    """Submit the work of a claim with a note, a photo and hours."""
    form = SubmitForm()
    if not form.validate_on_submit():
        return _claim_page(claim_id, form), 422
    upload = form.photo.data
    photo = upload.read() if upload else None
    try:
        services.submit_claim(
            current_user,
            claim_id,
            note=form.note.data,
            photo=photo or None,
            hours_spent=form.hours_spent.data,
        )
    except InvalidInput as error:
        if not attach_field_errors(form, error):
            raise
        db.session.rollback()
        return _claim_page(claim_id, form), 422
    db.session.commit()
    flash(_("Your work is submitted. A caretaker will review it."), "success")
    return redirect(url_for("participation.my_claim", claim_id=claim_id))


@bp.post("/claims/<int:claim_id>/withdraw")
@roles_required(Role.TENANT)
def withdraw(claim_id: int):
    """Withdraw a claim that is not yet submitted."""
    require_valid(ActionForm())
    services.withdraw_claim(current_user, claim_id)
    db.session.commit()
    flash(_("Your claim is withdrawn and the place is free again."), "info")
    return redirect(url_for("participation.my_claims"))


@bp.get("/claims/<int:claim_id>/photo")
@login_required
def photo(claim_id: int):
    """Send the photo of a claim to its tenant or the staff of its cluster."""
    found = queries.claim_for_viewer(current_user, claim_id)
    return send_claim_photo(found)
