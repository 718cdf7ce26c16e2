"""Sessions, login loading, security headers and safe redirects."""

import string
from urllib.parse import unquote, urlsplit

from flask import Flask, g, jsonify, redirect, request, session, url_for
from flask_babel import lazy_gettext

from klusbank.extensions import db, login_manager, talisman

# No inline scripts or styles: every script and stylesheet comes from /static.
CONTENT_SECURITY_POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "object-src": "'none'",
    "base-uri": "'none'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}
_UNSAFE_REDIRECT_CHARS = frozenset(string.whitespace + "\\") | {
    chr(code) for code in range(32)
}


def init_security(app: Flask) -> None:
    """Set up Flask-Login and the security headers (flask-talisman)."""
    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"
    login_manager.login_message = lazy_gettext("Log in to continue.")
    login_manager.login_message_category = "info"
    login_manager.session_protection = "strong"
    login_manager.user_loader(load_user)
    login_manager.unauthorized_handler(respond_unauthorized)
    # flask-talisman is the maintained Flask binding for CSP, HSTS, nosniff and
    # referrer policy; it also forces HTTPS when configured.
    talisman.init_app(
        app,
        force_https=app.config["FORCE_HTTPS"],
        strict_transport_security=True,
        strict_transport_security_max_age=31536000,
        content_security_policy=CONTENT_SECURITY_POLICY,
        frame_options="DENY",
        referrer_policy="strict-origin-when-cross-origin",
        session_cookie_secure=app.config["SESSION_COOKIE_SECURE"],
        session_cookie_http_only=True,
        x_content_type_options=True,
    )
    app.before_request(make_session_permanent)


def load_user(session_id: str):
    """Load the user of a session or remember cookie, if its version is current."""
    from klusbank.accounts.models import User

    user_id, _, version = session_id.partition(":")
    if not user_id.isdigit() or not version.isdigit():
        return None
    user = db.session.get(User, int(user_id))
    if user is None or user.session_version != int(version) or not user.is_active:
        return None
    return user


def respond_unauthorized():
    """Send anonymous API clients a 401 and portal visitors to the login page."""
    if request.path.startswith("/api/"):
        body = {"status": 401, "message": "Authentication required.", "errors": {}}
        return jsonify(body), 401
    return redirect(url_for("accounts.login", next=request.full_path.rstrip("?")))


def make_session_permanent() -> None:
    """Let sessions expire after PERMANENT_SESSION_LIFETIME of inactivity."""
    session.permanent = True
    g.setdefault("login_method", session.get("login_method", "password"))


def is_safe_redirect(target: str | None) -> bool:
    """Tell whether ``target`` is a path on this site and nothing else.

    Browsers strip tabs and newlines and read a backslash as a slash, so
    ``/%09/evil`` and ``/\\evil`` would leave the site: both are rejected, as
    are ``//host``, absolute URLs and anything with a scheme.
    """
    if not target:
        return False
    decoded = unquote(target)
    if any(char in _UNSAFE_REDIRECT_CHARS for char in decoded):
        return False
    if not decoded.startswith("/") or decoded.startswith("//"):
        return False
    parts = urlsplit(decoded)
    return not parts.scheme and not parts.netloc
