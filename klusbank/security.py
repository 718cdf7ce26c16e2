"""Sessions, login loading, CSRF on portal forms, security headers, safe redirects."""

import hashlib
import string
import unicodedata
from urllib.parse import unquote, urlsplit

from flask import Flask, current_app, jsonify, redirect, request, session, url_for
from flask_babel import lazy_gettext
from sqlalchemy.orm import joinedload

from klusbank.extensions import csrf, db, login_manager, talisman
from klusbank.net import client_address

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
# Sent to this site only: URLs such as invitation links carry secrets, and
# Flask-WTF rejects form posts over HTTPS that lack a same-origin Referer.
REFERRER_POLICY = "same-origin"
HSTS_MAX_AGE_SECONDS = 365 * 24 * 3600
API_BLUEPRINT = "api_v1"
_UNSAFE_REDIRECT_CHARS = frozenset(string.whitespace + "\\")


def init_security(app: Flask) -> None:
    """Set up Flask-Login, CSRF on portal forms and the security headers."""
    app.before_request(protect_portal_form)
    app.before_request(refresh_session)

    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"
    login_manager.login_message = lazy_gettext("Log in to continue.")
    login_manager.login_message_category = "info"
    login_manager.session_protection = "strong"
    # Flask-Login has no public setting for this; the attribute is what
    # login_user and its session check call.
    login_manager._session_identifier_generator = session_identifier
    login_manager.user_loader(load_user)
    login_manager.unauthorized_handler(respond_unauthorized)

    # flask-talisman is the maintained Flask binding for CSP, HSTS, nosniff and
    # the referrer policy. It sends HSTS only on HTTPS requests and redirects
    # plain HTTP to HTTPS when FORCE_HTTPS is set.
    # NOTE: flask-talisman 1.1 keeps these options on the one global object, so
    # with several apps in one process the last app set up wins (tests only).
    talisman.init_app(
        app,
        force_https=app.config["FORCE_HTTPS"],
        strict_transport_security=True,
        strict_transport_security_max_age=HSTS_MAX_AGE_SECONDS,
        content_security_policy=CONTENT_SECURITY_POLICY,
        frame_options="DENY",
        referrer_policy=REFERRER_POLICY,
        session_cookie_secure=app.config["SESSION_COOKIE_SECURE"],
        session_cookie_http_only=True,
        x_content_type_options=True,
    )


def session_identifier() -> str:
    """Return the fingerprint that binds a session to its client address and browser.

    Flask-Login 0.6.3 would take the first X-Forwarded-For address, which the
    client chooses freely; ``client_address`` trusts that header only behind
    the configured number of proxies.
    """
    user_agent = request.headers.get("User-Agent", "")
    return hashlib.sha512(f"{client_address()}|{user_agent}".encode()).hexdigest()


def protect_portal_form() -> None:
    """Require the CSRF token on every portal write.

    Flask-WTF's own check is off (WTF_CSRF_CHECK_DEFAULT), because its
    blueprint exemption does not reach the domain blueprints nested in the API.
    The API checks bearer tokens and CSRF itself (``klusbank.api``).
    """
    if not current_app.config.get("WTF_CSRF_ENABLED", True):
        return
    if request.blueprints and request.blueprints[-1] == API_BLUEPRINT:
        return
    csrf.protect(apply_exemptions=True)


def refresh_session() -> None:
    """Sign a logged-in session again, so it expires after PERMANENT_SESSION_LIFETIME idle.

    Flask rejects a session cookie signed longer ago than that lifetime. Sessions
    stay non-permanent on purpose: Flask-Login's strong protection only ends
    non-permanent sessions that move to another address or browser, and merely
    marks permanent ones as not fresh.
    """
    if "_user_id" in session:
        session.modified = True


def load_user(session_id: str):
    """Load the user of a session or remember cookie, if its version is current."""
    from klusbank.accounts.models import User

    user_id, _, version = session_id.partition(":")
    if not user_id.isdigit() or not version.isdigit():
        return None
    # Every page checks the roles, so they come in the same query.
    user = db.session.get(User, int(user_id), options=[joinedload(User.roles)])
    if user is None or user.session_version != int(version) or not user.is_active:
        return None
    return user


def respond_unauthorized():
    """Send anonymous API clients a 401 and portal visitors to the login page."""
    if request.path.startswith("/api/"):
        body = {"status": 401, "message": "Authentication required.", "errors": {}}
        return jsonify(body), 401
    if request.method not in ("GET", "HEAD"):
        # A form post cannot be repeated by a redirect after login.
        return redirect(url_for("accounts.login"))
    return redirect(url_for("accounts.login", next=request.full_path.rstrip("?")))


def is_safe_redirect(target: str | None) -> bool:
    """Tell whether ``target`` is a path on this site and nothing else.

    Browsers drop tabs and newlines inside URLs and read a backslash as a
    slash, so ``/%09/host`` and ``/\\host`` would leave the site. Both are
    rejected, as are ``//host``, absolute URLs, anything with a scheme and any
    control character, also when percent-encoded.
    """
    if not target:
        return False
    decoded = unquote(target)
    if any(_is_unsafe_char(char) for char in decoded):
        return False
    if not decoded.startswith("/") or decoded.startswith("//"):
        return False
    parts = urlsplit(decoded)
    return not parts.scheme and not parts.netloc


def _is_unsafe_char(char: str) -> bool:
    return (
        char in _UNSAFE_REDIRECT_CHARS
        or char.isspace()
        or unicodedata.category(char).startswith("C")
    )
