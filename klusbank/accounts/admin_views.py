"""Administrator pages: users, roles, caretaker clusters, invitations and the audit trail."""

from flask import Blueprint, Flask, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy import select

from klusbank.accounts import audit_labels, services
from klusbank.accounts.access import get_user_for_staff, roles_required
from klusbank.accounts.forms import (
    ROLE_CHOICES,
    ClustersForm,
    ConfirmForm,
    RolesForm,
    UserForm,
)
from klusbank.accounts.models import AuditEvent, Role, User
from klusbank.extensions import db
from klusbank.forms import form_errors, form_status
from klusbank.housing.models import Cluster
from klusbank.nav import add_nav_entry

bp = Blueprint("admin", __name__, url_prefix="/admin")


def register(app: Flask) -> None:
    app.register_blueprint(bp)
    add_nav_entry(app, "admin.users", "Users", Role.ADMIN, order=800)
    add_nav_entry(app, "admin.audit", "Audit trail", Role.ADMIN, order=810)


@bp.get("/users")
@roles_required(Role.ADMIN)
def users():
    """List the users of the administrator's corporation."""
    return _render_users(UserForm(formdata=None))


def _render_users(form: UserForm):
    query = (
        select(User)
        .where(User.corporation_id == current_user.corporation_id)
        .order_by(User.full_name)
    )
    page = render_template(
        "admin/users.html",
        users=db.session.scalars(query).all(),
        form=form,
        role_labels={choice.value: choice.label for choice in ROLE_CHOICES},
    )
    return page, form_status(form)


@bp.post("/users")
@roles_required(Role.ADMIN)
def create_user():
    """Create a user and show the invitation link to send them."""
    form = UserForm()
    if form.validate_on_submit():
        with form_errors(form):
            user = services.create_user(
                current_user.corporation,
                email=form.email.data,
                full_name=form.full_name.data,
                roles=[Role(value) for value in form.roles.data],
                locale=form.locale.data,
                actor=current_user,
            )
            db.session.commit()
            return redirect(url_for("admin.user", user_id=user.id, invited=1))
    return _render_users(form)


@bp.get("/users/<int:user_id>")
@roles_required(Role.ADMIN)
def user(user_id: int):
    """Show one user with roles, clusters and a fresh invitation link."""
    other = get_user_for_staff(current_user, user_id)
    return _render_user(other)


def _render_user(other: User, **forms):
    """Render a user's page, where a form in ``forms`` replaces the empty one."""
    invitation = None
    if other.password_hash is None and other.is_active:
        invitation = url_for(
            "accounts.accept_invitation",
            token=services.make_invitation_token(other),
            _external=True,
        )
    clusters = db.session.scalars(
        select(Cluster)
        .where(Cluster.corporation_id == current_user.corporation_id)
        .order_by(Cluster.name)
    ).all()
    roles_form = forms.get("roles_form") or RolesForm(
        formdata=None, roles=[role.value for role in other.role_set]
    )
    clusters_form = forms.get("clusters_form") or ClustersForm(
        formdata=None,
        cluster_id=[a.cluster_id for a in other.caretaker_assignments],
    )
    clusters_form.cluster_id.choices = [(c.id, c.name) for c in clusters]
    reset_form = forms.get("reset_form") or ConfirmForm(formdata=None, prefix="reset")
    deactivate_form = forms.get("deactivate_form") or ConfirmForm(
        formdata=None, prefix="deactivate"
    )
    page = render_template(
        "admin/user.html",
        user=other,
        invitation=invitation,
        roles_form=roles_form,
        clusters_form=clusters_form,
        reset_form=reset_form,
        deactivate_form=deactivate_form,
    )
    return page, form_status(roles_form, clusters_form, reset_form, deactivate_form)


@bp.post("/users/<int:user_id>/roles")
@roles_required(Role.ADMIN)
def change_roles(user_id: int):
    """Replace a user's roles."""
    other = get_user_for_staff(current_user, user_id)
    form = RolesForm()
    if form.validate_on_submit():
        with form_errors(form):
            revoked = services.set_roles(
                other, [Role(value) for value in form.roles.data], actor=current_user
            )
            db.session.commit()
            flash(_("Roles saved."), "success")
            _flash_revoked(revoked)
            return redirect(url_for("admin.user", user_id=other.id))
    return _render_user(other, roles_form=form)


def _flash_revoked(count: int) -> None:
    if count:
        flash(
            ngettext(
                "The user's API token is revoked.",
                "The user's %(num)d API tokens are revoked.",
                count,
            ),
            "info",
        )


@bp.post("/users/<int:user_id>/clusters")
@roles_required(Role.ADMIN)
def assign_clusters(user_id: int):
    """Set the clusters a caretaker looks after."""
    other = get_user_for_staff(current_user, user_id)
    form = ClustersForm()
    clusters = db.session.scalars(
        select(Cluster).where(Cluster.corporation_id == current_user.corporation_id)
    ).all()
    form.cluster_id.choices = [(cluster.id, cluster.name) for cluster in clusters]
    if form.validate_on_submit():
        ids = set(form.cluster_id.data or [])
        chosen = [cluster for cluster in clusters if cluster.id in ids]
        with form_errors(form, fields={"user": "cluster_id"}):
            services.assign_clusters(other, chosen, actor=current_user)
            db.session.commit()
            flash(_("Clusters saved."), "success")
            return redirect(url_for("admin.user", user_id=other.id))
    return _render_user(other, clusters_form=form)


@bp.post("/users/<int:user_id>/reset-password")
@roles_required(Role.ADMIN)
def reset_password(user_id: int):
    """Remove a user's password, so that a new invitation link sets one."""
    return _confirmed_change(
        user_id,
        "reset",
        services.reset_password,
        _("The password is removed. Send the user the new invitation link."),
    )


@bp.post("/users/<int:user_id>/deactivate")
@roles_required(Role.ADMIN)
def deactivate_user(user_id: int):
    """Deactivate a user: no login, no sessions and no API tokens from now on."""
    return _confirmed_change(
        user_id, "deactivate", services.deactivate_user, _("The user is deactivated.")
    )


def _confirmed_change(user_id: int, prefix: str, change, done_message: str):
    """Run ``change`` on the user once the box of form ``prefix`` is ticked."""
    other = get_user_for_staff(current_user, user_id)
    form = ConfirmForm(prefix=prefix)
    if form.validate_on_submit():
        with form_errors(form):
            revoked = change(other, actor=current_user)
            db.session.commit()
            flash(done_message, "success")
            _flash_revoked(revoked)
            return redirect(url_for("admin.user", user_id=other.id))
    return _render_user(other, **{f"{prefix}_form": form})


@bp.get("/audit")
@roles_required(Role.ADMIN)
def audit():
    """Show the latest audit events of the corporation."""
    query = (
        select(AuditEvent)
        .where(AuditEvent.corporation_id == current_user.corporation_id)
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .limit(500)
    )
    return render_template(
        "admin/audit.html",
        events=db.session.scalars(query).all(),
        action_labels=audit_labels.ACTION_LABELS,
        describe_subject=audit_labels.describe_subject,
    )
