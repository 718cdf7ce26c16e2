"""Portal pages to log in and out, set and change passwords, and manage API tokens."""

import hashlib
import logging
import secrets

from flask import (
    Blueprint,
    Flask,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import select

from klusbank.accounts import services
from klusbank.accounts.forms import (
    ApiTokenForm,
    ChangePasswordForm,
    LoginForm,
    SetPasswordForm,
)
from klusbank.accounts.models import ApiToken, Role, TokenRevocation, User
from klusbank.extensions import db, limiter
from klusbank.forms import form_errors, form_status
from klusbank.nav import add_nav_entry
from klusbank.net import client_address
from klusbank.security import is_safe_redirect

logger = logging.getLogger(__name__)
bp = Blueprint("accounts", __name__)
REVOCATION_REASONS = {
    TokenRevocation.BY_USER: _l("by you"),
    TokenRevocation.PASSWORD_CHANGED: _l("because the password changed"),
    TokenRevocation.PASSWORD_RESET: _l("because the password was reset"),
    TokenRevocation.ROLE_REMOVED: _l("because a role was removed"),
    TokenRevocation.DEACTIVATED: _l("because the account was deactivated"),
}


def register(app: Flask) -> None:
    app.register_blueprint(bp)
    add_nav_entry(app, "accounts.account", "My account", *Role, order=900)


def _login_rate_limit() -> str:
    return current_app.config["RATELIMIT_LOGIN"]


def _login_account_key() -> str:
    email = request.form.get("email", "")
    return (
        "login-account:"
        + hashlib.sha256(services.normalise_email(email).encode()).hexdigest()
    )


def _is_failed_login(response) -> bool:
    # Only a failed login counts against the limits, so an office behind one
    # address can log in all day while repeated guesses still lock.
    return response.status_code == 401


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_rate_limit, methods=["POST"], deduct_when=_is_failed_login)
@limiter.limit(
    _login_rate_limit,
    methods=["POST"],
    key_func=_login_account_key,
    deduct_when=_is_failed_login,
)
def login():
    """Log a user in with e-mail and password."""
    if current_user.is_authenticated:
        return redirect(url_for("core.home"))
    form = LoginForm()
    if form.validate_on_submit():
        user = services.authenticate(form.email.data, form.password.data)
        if user is None:
            _record_failed_login(form.email.data)
            db.session.commit()
            flash(_("E-mail address or password is wrong."), "error")
            return render_template("accounts/login.html", form=form), 401
        _start_session(user, remember=form.remember.data)
        services.record_audit("login.succeeded", actor=user, subject=f"user:{user.id}")
        db.session.commit()
        target = request.args.get("next")
        if not is_safe_redirect(target):
            target = url_for("core.home")
        return redirect(target)
    return render_template("accounts/login.html", form=form), form_status(form)


def _record_failed_login(email: str) -> None:
    # A failure against an existing account is filed under its corporation, so
    # that corporation's administrators see it. The response stays the same
    # either way, and what was typed as an address is stored only as a hash.
    target = db.session.scalar(
        select(User).where(User.email == services.normalise_email(email))
    )
    if target is None:
        digest = hashlib.sha256(services.normalise_email(email).encode()).hexdigest()
        subject, corporation_id = f"email-sha256:{digest[:16]}", None
    else:
        subject, corporation_id = f"user:{target.id}", target.corporation_id
    services.record_audit(
        "login.failed", actor=None, corporation_id=corporation_id, subject=subject
    )
    logger.info("failed login for %s from %s", subject, client_address())


def _start_session(user, *, remember: bool) -> None:
    session.clear()
    login_user(user, remember=remember)
    session["login_method"] = "password"
    session["sid"] = secrets.token_urlsafe(24)


@bp.post("/logout")
@login_required
def logout():
    """Log out and end every session and remember cookie of this user."""
    user = current_user._get_current_object()
    services.end_all_sessions(user)
    services.record_audit("logout", actor=user, subject=f"user:{user.id}")
    db.session.commit()
    # Clear first: logout_user marks the remember cookie for deletion in the session.
    session.clear()
    logout_user()
    flash(_("You are logged out."), "info")
    return redirect(url_for("accounts.login"))


@bp.route("/account", methods=["GET"])
@login_required
def account():
    """Show the account page: password, language and API tokens."""
    return _render_account()


def _render_account(password_form=None, token_form=None, new_token=None):
    """Render the account page with the status that its forms call for."""
    password_form = password_form or ChangePasswordForm(formdata=None)
    token_form = token_form or ApiTokenForm(formdata=None)
    tokens = db.session.scalars(
        select(ApiToken)
        .where(ApiToken.user_id == current_user.id)
        .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
    ).all()
    page = render_template(
        "accounts/account.html",
        password_form=password_form,
        token_form=token_form,
        tokens=tokens,
        new_token=new_token,
        revocation_reasons=REVOCATION_REASONS,
    )
    return page, form_status(password_form, token_form)


@bp.post("/account/password")
@login_required
def change_password():
    """Change the password; other sessions end, this one continues."""
    form = ChangePasswordForm()
    if form.validate_on_submit():
        user = current_user._get_current_object()
        with form_errors(form):
            revoked = services.change_password(
                user, form.current_password.data, form.new_password.data
            )
            db.session.commit()
            _start_session(user, remember=False)
            flash(
                _("Your password is changed. Other devices are logged out."), "success"
            )
            if revoked:
                flash(_revoked_message(revoked), "info")
            return redirect(url_for("accounts.account"))
    return _render_account(password_form=form)


def _revoked_message(count: int) -> str:
    return ngettext(
        "Your API token is revoked. Create a new one below if you still need it.",
        "Your %(num)d API tokens are revoked. Create new ones below if you "
        "still need them.",
        count,
    )


@bp.post("/account/tokens")
@login_required
def create_token():
    """Create a personal API token and show it once."""
    form = ApiTokenForm()
    if form.validate_on_submit():
        with form_errors(form):
            _token, plain = services.create_api_token(current_user, form.name.data)
            db.session.commit()
            return _render_account(new_token=plain)
    return _render_account(token_form=form)


@bp.post("/account/tokens/<int:token_id>/revoke")
@login_required
def revoke_token(token_id: int):
    """Revoke one of the user's API tokens."""
    services.revoke_api_token(current_user, token_id)
    db.session.commit()
    flash(_("The token is revoked."), "info")
    return redirect(url_for("accounts.account"))


@bp.route("/invitation/<token>", methods=["GET", "POST"])
def accept_invitation(token: str):
    """Let an invited user set their password, then log them in."""
    problem = services.invitation_problem(token)
    if problem is not None:
        return _render_unusable_invitation(problem)
    form = SetPasswordForm()
    if form.validate_on_submit():
        with form_errors(form):
            user = services.accept_invitation(token, form.password.data)
            db.session.commit()
            _start_session(user, remember=False)
            flash(_("Welcome to Klusbank. Your password is set."), "success")
            return redirect(url_for("core.home"))
    page = render_template("accounts/invitation.html", form=form, token=token)
    return page, form_status(form)


def _render_unusable_invitation(problem: services.InvitationProblem):
    # 410 Gone for a link that worked once (used or expired), and 404 for a
    # bad signature or a deactivated user.
    status = 404 if problem == services.InvitationProblem.INVALID else 410
    page = render_template(
        "accounts/invitation_unusable.html",
        problem=problem,
        Problem=services.InvitationProblem,
    )
    return page, status


@bp.before_app_request
def remember_login_method() -> None:
    g.setdefault("login_method", session.get("login_method", "password"))
