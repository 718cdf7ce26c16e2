"""Portal pages of the participation domain: tenants, staff and administrators."""

from flask import Flask

from klusbank.accounts.models import Role
from klusbank.nav import add_nav_entry
from participation import work_details
from participation.views import admin, staff, tenant
from participation.views.common import REVIEWERS, STAFF, bp

__all__ = ["admin", "bp", "register", "staff", "tenant"]


def register(app: Flask) -> None:
    app.register_blueprint(bp)
    work_details.register(app)
    add_nav_entry(app, "participation.chores", "Chores", Role.TENANT, order=100)
    add_nav_entry(app, "participation.my_claims", "My chores", Role.TENANT, order=110)
    add_nav_entry(app, "participation.staff_chores", "Manage chores", *STAFF, order=200)
    add_nav_entry(
        app, "participation.review_queue", "Review work", *REVIEWERS, order=210
    )
    add_nav_entry(
        app, "participation.categories", "Chore categories", Role.ADMIN, order=820
    )
    add_nav_entry(
        app,
        "participation.settings",
        "Participation settings",
        Role.ADMIN,
        Role.FINANCE,
        order=830,
    )
