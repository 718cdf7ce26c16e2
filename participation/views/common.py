"""The participation blueprint and helpers its page modules share."""

import logging

from flask import Blueprint, send_file
from flask_babel import get_locale
from flask_babel import gettext as _

from klusbank.accounts.models import Role
from klusbank.errors import InvalidInput, NotFound
from klusbank.uploads import upload_path
from participation.models import Claim
from participation.services.claims import PHOTO_FOLDER

logger = logging.getLogger(__name__)
bp = Blueprint("participation", __name__, url_prefix="/participation")
STAFF = (Role.CARETAKER, Role.FINANCE, Role.ADMIN)
REVIEWERS = (Role.CARETAKER, Role.FINANCE)


def locale() -> str:
    """Return the language of the current request."""
    return str(get_locale() or "nl")


def send_claim_photo(claim: Claim):
    """Send a claim's stored photo; the caller has checked who may see it."""
    if not claim.photo_name:
        raise NotFound(_("Photo not found."))
    path = upload_path(PHOTO_FOLDER, claim.photo_name)
    if not path.is_file():
        logger.warning("photo of claim %s is missing on disk", claim.id)
        raise NotFound(_("Photo not found."))
    response = send_file(path, mimetype=claim.photo_mime_type, max_age=0)
    response.headers["Cache-Control"] = "private, no-store"
    return response


def attach_field_errors(form, error: InvalidInput) -> bool:
    """Show a service's InvalidInput next to the form's fields, so it can re-render.

    Return False and leave the form alone when a message names no field of
    the form, so the caller lets the error page show it.
    """
    if not error.errors or any(name not in form for name in error.errors):
        return False
    for name, messages in error.errors.items():
        form[name].errors = [*form[name].errors, *messages]
    return True


def require_valid(form) -> None:
    """Raise InvalidInput with the form's field errors unless it validates."""
    if not form.validate_on_submit():
        raise InvalidInput(_("Some fields are invalid."), errors=form.errors)
