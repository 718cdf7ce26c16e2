"""Core portal pages: the home page per role, language choice and health."""

from flask import (
    Blueprint,
    Flask,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_required
from sqlalchemy import text

from klusbank.accounts.forms import LanguageForm
from klusbank.extensions import db
from klusbank.nav import nav_entries_for
from klusbank.security import is_safe_redirect

bp = Blueprint("core", __name__)


def register(app: Flask) -> None:
    app.register_blueprint(bp)


@bp.get("/")
@login_required
def home():
    """Show the user's home page with the tasks of each of their roles."""
    entries = nav_entries_for(current_app, current_user.role_set)
    return render_template("home.html", entries=entries)


@bp.post("/language")
def set_language():
    """Switch the portal language and remember it for the user."""
    form = LanguageForm()
    if form.validate_on_submit():
        session["locale"] = form.locale.data
        if current_user.is_authenticated:
            current_user.locale = form.locale.data
            db.session.commit()
    target = request.form.get("next")
    return redirect(target if is_safe_redirect(target) else url_for("core.home"))


@bp.get("/healthz")
def health():
    """Report whether the app can reach its database."""
    db.session.execute(text("SELECT 1"))
    return {"status": "ok"}
