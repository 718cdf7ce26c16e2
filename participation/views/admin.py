"""Administrator pages: chore categories and the participation settings."""

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from klusbank.accounts.access import roles_required
from klusbank.accounts.models import Role
from klusbank.extensions import db
from liability.models import Briefing
from participation import queries, services
from participation.forms import CategoryForm, SettingsForm
from participation.models import ChoreCategory
from participation.views.common import bp, locale


@bp.get("/categories")
@roles_required(Role.ADMIN)
def categories():
    """List the chore categories of the administrator's corporation."""
    return render_template(
        "participation/categories.html",
        categories=queries.categories(current_user.corporation_id),
        briefings=_briefing_codes(),
        locale=locale(),
    )


@bp.route("/categories/new", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def new_category():
    """Show the category form, or create a category."""
    form = _category_form()
    if not form.validate_on_submit():
        status = 422 if request.method == "POST" else 200
        return render_template(
            "participation/category_form.html", form=form, category=None
        ), status
    services.create_category(current_user, _fields(form))
    db.session.commit()
    flash(_("The category is created."), "success")
    return redirect(url_for("participation.categories"))


@bp.route("/categories/<int:category_id>/edit", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def edit_category(category_id: int):
    """Show the category form filled in, or change the category."""
    category = queries.category_for_admin(current_user, category_id)
    form = _category_form(obj=category if request.method == "GET" else None)
    if not form.validate_on_submit():
        status = 422 if request.method == "POST" else 200
        return render_template(
            "participation/category_form.html", form=form, category=category
        ), status
    services.update_category(current_user, category.id, _fields(form))
    db.session.commit()
    flash(_("The category is changed."), "success")
    return redirect(url_for("participation.categories"))


@bp.route("/settings", methods=["GET", "POST"])
@roles_required(Role.ADMIN, Role.FINANCE)
def settings():
    """Show or change the points above which a second approver is needed."""
    form = SettingsForm()
    if request.method == "GET":
        form.second_approval_above_points.data = queries.second_approval_threshold(
            current_user.corporation_id
        )
    if not form.validate_on_submit():
        status = 422 if request.method == "POST" else 200
        return render_template("participation/settings.html", form=form), status
    services.update_settings(
        current_user,
        second_approval_above_points=form.second_approval_above_points.data,
    )
    db.session.commit()
    flash(_("The settings are saved."), "success")
    return redirect(url_for("participation.settings"))


def _briefing_codes() -> dict[int, str]:
    query = select(Briefing.id, Briefing.code).where(
        Briefing.corporation_id == current_user.corporation_id
    )
    return dict(db.session.execute(query).all())


def _category_form(obj: ChoreCategory | None = None) -> CategoryForm:
    form = CategoryForm(obj=obj)
    form.briefing_id.choices = [SelectChoice("", _("No briefing required"))] + [
        SelectChoice(str(briefing_id), code)
        for briefing_id, code in sorted(
            _briefing_codes().items(), key=lambda item: item[1]
        )
    ]
    return form


def _fields(form: CategoryForm) -> services.CategoryFields:
    return services.CategoryFields(
        name_nl=form.name_nl.data or "",
        name_en=form.name_en.data or "",
        description=form.description.data or "",
        briefing_id=form.briefing_id.data,
        default_points=form.default_points.data,
        default_places=form.default_places.data,
        is_active=form.is_active.data,
    )
