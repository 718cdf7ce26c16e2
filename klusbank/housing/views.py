"""Staff pages of the housing registry: clusters, units and their tenants."""

from flask import Blueprint, Flask, render_template
from flask_login import current_user
from sqlalchemy import select

from klusbank.accounts.access import (
    get_cluster_for_staff,
    get_unit_for_staff,
    roles_required,
    staff_cluster_ids,
)
from klusbank.accounts.models import Role
from klusbank.extensions import db
from klusbank.housing.models import Cluster, ClusterMembership, Unit
from klusbank.nav import add_nav_entry

bp = Blueprint("housing", __name__, url_prefix="/housing")
STAFF = (Role.CARETAKER, Role.FINANCE, Role.ADMIN)


def register(app: Flask) -> None:
    app.register_blueprint(bp)
    add_nav_entry(app, "housing.clusters", "Clusters", *STAFF, order=700)


@bp.get("/clusters")
@roles_required(*STAFF)
def clusters():
    """List the clusters the staff member may see."""
    ids = staff_cluster_ids(current_user)
    query = select(Cluster).where(Cluster.id.in_(ids)).order_by(Cluster.name)
    return render_template(
        "housing/clusters.html", clusters=db.session.scalars(query).all()
    )


@bp.get("/clusters/<int:cluster_id>")
@roles_required(*STAFF)
def cluster(cluster_id: int):
    """Show a cluster with its units."""
    found = get_cluster_for_staff(current_user, cluster_id)
    units = db.session.scalars(
        select(Unit)
        .join(ClusterMembership)
        .where(ClusterMembership.cluster_id == found.id)
        .order_by(Unit.street, Unit.house_number)
    ).all()
    return render_template("housing/cluster.html", cluster=found, units=units)


@bp.get("/units/<int:unit_id>")
@roles_required(*STAFF)
def unit(unit_id: int):
    """Show a unit with its clusters and tenancies."""
    found = get_unit_for_staff(current_user, unit_id)
    return render_template("housing/unit.html", unit=found)
