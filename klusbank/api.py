"""The JSON API under ``/api/v1``: authentication and the parent blueprint.

Integrations send ``Authorization: Bearer <token>`` with a personal API token;
a request with a token is authenticated by that token alone, never by a session
cookie sent along. The portal's own scripts may call the API with their session
cookie, but then every write must carry the CSRF token in the ``X-CSRFToken``
header. Portal routes never look at API tokens.
"""

from flask import Blueprint, abort, g, request
from flask_babel import refresh as refresh_locale
from flask_login import current_user

from klusbank.accounts.services import user_for_api_token
from klusbank.extensions import csrf, login_manager

_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def bearer_token() -> str | None:
    """Return the bearer token of the current request, if any."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def create_api_blueprint() -> Blueprint:
    """Return a new parent blueprint for ``/api/v1``; domains nest theirs in it."""
    api = Blueprint("api_v1", __name__, url_prefix="/api/v1")
    csrf.exempt(api)
    api.before_request(authenticate_api_request)
    return api


def authenticate_api_request():
    """Use the bearer token when present; otherwise require CSRF on session writes."""
    token = bearer_token()
    if token is not None:
        user = user_for_api_token(token)
        if user is None:
            abort(401)
        # Flask-Login has no public call that sets the request's user without
        # writing the session; this one is what its own loaders use.
        login_manager._update_request_context_with_user(user)
        g.login_method = "api_token"
        # A locale picked before the user was known (the browser's or the
        # default) must not stick: the API responds in the token owner's language.
        refresh_locale()
        return
    if request.method not in _SAFE_METHODS and current_user.is_authenticated:
        csrf.protect()
