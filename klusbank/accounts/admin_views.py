"""Administrator pages: users, roles, caretaker clusters, invitations and the audit trail."""

from flask import Blueprint, Flask, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from klusbank.accounts import services
from klusbank.accounts.access import get_user_for_staff, roles_required
from klusbank.accounts.forms import RolesForm, UserForm
from klusbank.accounts.models import AuditEvent, Role, User
from klusbank.errors import InvalidInput
from klusbank.extensions import db
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
    query = (
        select(User)
        .where(User.corporation_id == current_user.corporation_id)
        .order_by(User.full_name)
    )
    return render_template(
        "admin/users.html", users=db.session.scalars(query).all(), form=UserForm()
    )


@bp.post("/users")
@roles_required(Role.ADMIN)
def create_user():
    """Create a user and show the invitation link to send them."""
    form = UserForm()
    if not form.validate_on_submit():
        raise InvalidInput(_("Some fields are invalid."), errors=form.errors)
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


@bp.get("/users/<int:user_id>")
@roles_required(Role.ADMIN)
def user(user_id: int):
    """Show one user with roles, clusters and a fresh invitation link."""
    other = get_user_for_staff(current_user, user_id)
    invitation = None
    if other.password_hash is None:
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
    return render_template(
        "admin/user.html",
        user=other,
        invitation=invitation,
        roles_form=RolesForm(roles=[role.value for role in other.role_set]),
        clusters=clusters,
        assigned={a.cluster_id for a in other.caretaker_assignments},
    )


@bp.post("/users/<int:user_id>/roles")
@roles_required(Role.ADMIN)
def change_roles(user_id: int):
    """Replace a user's roles."""
    other = get_user_for_staff(current_user, user_id)
    form = RolesForm()
    if not form.validate_on_submit():
        raise InvalidInput(_("Some fields are invalid."), errors=form.errors)
    services.set_roles(
        other, [Role(value) for value in form.roles.data], actor=current_user
    )
    db.session.commit()
    flash(_("Roles saved."), "success")
    return redirect(url_for("admin.user", user_id=other.id))


@bp.post("/users/<int:user_id>/clusters")
@roles_required(Role.ADMIN)
def assign_clusters(user_id: int):
    """Set the clusters a caretaker looks after."""
    other = get_user_for_staff(current_user, user_id)
    ids = {
        int(value) for value in request.form.getlist("cluster_id") if value.isdigit()
    }
    clusters = db.session.scalars(
        select(Cluster).where(
            Cluster.id.in_(ids), Cluster.corporation_id == current_user.corporation_id
        )
    ).all()
    if len(clusters) != len(ids):
        raise InvalidInput(
            _("Unknown cluster."), errors={"cluster_id": [_("Unknown cluster.")]}
        )
    services.assign_clusters(other, list(clusters), actor=current_user)
    db.session.commit()
    flash(_("Clusters saved."), "success")
    return redirect(url_for("admin.user", user_id=other.id))


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
    return render_template("admin/audit.html", events=db.session.scalars(query).all())
