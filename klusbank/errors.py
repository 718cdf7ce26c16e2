"""Domain exceptions and the handlers that turn them into responses.

Services raise these; views never catch them. Portal routes get an HTML page,
routes under ``/api/`` a JSON body ``{"status", "message", "errors"}``. Objects
that are missing or belong to someone else both raise ``NotFound``, so an id
reveals nothing.
"""

import logging
from typing import Any

from flask import (
    Flask,
    current_app,
    jsonify,
    make_response,
    render_template,
    request,
)
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from marshmallow import ValidationError
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

from klusbank.extensions import db

logger = logging.getLogger(__name__)


class KlusbankError(Exception):
    """Base of the errors a service raises for a request it rejects."""

    status_code = 400

    def __init__(self, message: str, *, errors: dict[str, Any] | None = None):
        super().__init__(message)
        self.message = message
        self.errors = errors or {}


class NotFound(KlusbankError):
    """The object does not exist or the actor may not see it."""

    status_code = 404


class InvalidInput(KlusbankError):
    """Input failed validation; ``errors`` maps each field to its messages."""

    status_code = 422


class RuleViolation(KlusbankError):
    """The request is valid but a business rule forbids it right now."""

    status_code = 409

    def __init__(
        self,
        message: str,
        *,
        code: str = "rule_violation",
        errors: dict[str, Any] | None = None,
        link: str | None = None,
    ):
        super().__init__(message, errors=errors)
        self.code = code
        self.link = link


class IdempotencyConflict(RuleViolation):
    """An idempotency key was reused with a different request."""


class DatabaseBusy(KlusbankError):
    """The database's write lock did not come free in time; the client may retry."""

    status_code = 503


def database_busy() -> DatabaseBusy:
    """Build the error a client gets when the write lock stayed taken."""
    return DatabaseBusy(
        _("The database is busy with other changes. Try again in a moment.")
    )


def is_sqlite_busy(error: OperationalError) -> bool:
    """Tell whether an error is SQLite's busy timeout on its write lock."""
    return "database is locked" in str(error.orig)


def field_error(field: str, message: str) -> InvalidInput:
    """Build an InvalidInput for one field."""
    return InvalidInput(message, errors={field: [message]})


def wants_json() -> bool:
    """Tell whether the current request expects a JSON error body."""
    return request.path.startswith("/api/")


def _discard_request_work() -> None:
    # A request that fails commits nothing. Rolling back before any message is
    # translated also makes a session whose flush failed usable again, so the
    # locale selector can load the user instead of raising PendingRollbackError.
    db.session.rollback()


def _respond(status: int, message: str, errors: dict[str, Any], **extra: Any):
    if wants_json():
        body = {"status": status, "message": message, "errors": errors, **extra}
        return make_response(jsonify(body), status)
    page = render_template(
        "errors/error.html", status=status, message=message, errors=errors, **extra
    )
    return make_response(page, status)


def handle_domain_error(error: KlusbankError):
    _discard_request_work()
    extra = {}
    if isinstance(error, RuleViolation):
        extra = {"code": error.code, "link": error.link}
    return _respond(error.status_code, error.message, error.errors, **extra)


def handle_validation_error(error: ValidationError):
    _discard_request_work()
    messages = error.messages
    if not isinstance(messages, dict):
        messages = {"_schema": messages}
    return _respond(422, _("Some fields are invalid."), messages)


def handle_http_error(error: HTTPException):
    _discard_request_work()
    messages = {
        400: _("The request could not be read."),
        401: _("Log in to continue."),
        403: _("You may not do this."),
        404: _("Page not found."),
        405: _("This method is not allowed here."),
        413: _(
            "The upload is too large: a file may be at most %(size)d MB. Go back, "
            "choose a smaller photo and send the form again.",
            size=current_app.config["MAX_UPLOAD_BYTES"] // (1024 * 1024),
        ),
        429: _("Too many attempts. Wait a few minutes and try again."),
    }
    status = error.code or 500
    message = messages.get(status, error.description or _("The request failed."))
    response = _respond(status, message, {})
    if error.response is not None and "Retry-After" in error.response.headers:
        response.headers["Retry-After"] = error.response.headers["Retry-After"]
    return response


def handle_csrf_error(error: CSRFError):
    _discard_request_work()
    logger.info("rejected %s %s: %s", request.method, request.path, error.description)
    if wants_json():
        message = _(
            "The CSRF token is missing or invalid. Send the portal's token in the "
            "X-CSRFToken header, or authenticate with an API token."
        )
    else:
        message = _("The form has expired. Reload the page and try again.")
    return _respond(400, message, {})


def handle_operational_error(error: OperationalError):
    # SQLite lets one writer in at a time. A request that waited past the busy
    # timeout anywhere, not only behind an explicit write lock, may be retried.
    if not is_sqlite_busy(error):
        return handle_unexpected_error(error)
    _discard_request_work()
    logger.warning(
        "SQLite write lock still taken after the busy timeout on %s %s",
        request.method,
        request.path,
    )
    return handle_domain_error(database_busy())


def handle_unexpected_error(error: Exception):
    _discard_request_work()
    logger.exception("unhandled error on %s %s", request.method, request.path)
    return _respond(500, _("Something went wrong on our side. Try again later."), {})


def register_error_handlers(app: Flask) -> None:
    """Map domain, validation and HTTP errors to pages or JSON bodies."""
    app.register_error_handler(KlusbankError, handle_domain_error)
    app.register_error_handler(ValidationError, handle_validation_error)
    app.register_error_handler(CSRFError, handle_csrf_error)
    app.register_error_handler(HTTPException, handle_http_error)
    app.register_error_handler(OperationalError, handle_operational_error)
    app.register_error_handler(Exception, handle_unexpected_error)
