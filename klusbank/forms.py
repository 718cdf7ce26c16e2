"""Show a service's rejection on the portal form that sent the request.

A view runs its service call inside ``form_errors(form)``. When the service
raises ``InvalidInput`` or ``RuleViolation``, the block stops and the session
rolls back. Each message goes beside the form field it names, and messages
for other names go above the form. The view then renders the same page again,
so the user keeps what they typed, with ``form_status(form)`` as its status.
"""

import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from flask import request
from flask_wtf import FlaskForm

from klusbank.errors import InvalidInput, RuleViolation
from klusbank.extensions import db
from klusbank.input_guard import UNSTORABLE, control_character_message

logger = logging.getLogger(__name__)


class PortalForm(FlaskForm):
    """Base of every portal form: text with a control character is invalid too.

    A NUL cannot be stored in PostgreSQL, and other control characters make
    names and exports unreadable. Checking here puts the message beside the
    field and keeps what the user typed.
    """

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        for field in self:
            if isinstance(field.data, str) and UNSTORABLE.search(field.data):
                field.errors = [*field.errors, control_character_message()]
                valid = False
        return valid


@contextmanager
def form_errors(
    form: FlaskForm, fields: Mapping[str, str] | None = None
) -> Iterator[None]:
    """Catch a service's rejection in the block and attach it to ``form``.

    ``fields`` maps a name the service uses to the form field that shows its
    message, where the two differ.
    """
    try:
        yield
    except (InvalidInput, RuleViolation) as error:
        db.session.rollback()
        attach_errors(form, error, fields)
        logger.info(
            "form %s on %s rejected with %d: %s",
            type(form).__name__,
            request.path,
            error.status_code,
            sorted(error.errors) or error.message,
        )


def attach_errors(
    form: FlaskForm,
    error: InvalidInput | RuleViolation,
    fields: Mapping[str, str] | None = None,
) -> None:
    """Add the error's messages to the form's fields, the rest to ``form_errors``."""
    fields = fields or {}
    for name, messages in error.errors.items():
        if isinstance(messages, str):
            messages = [messages]
        field = form._fields.get(fields.get(name, name))
        if field is None:
            form.form_errors.extend(str(message) for message in messages)
        else:
            field.errors = [*field.errors, *(str(message) for message in messages)]
    if not error.errors:
        form.form_errors.append(error.message)
    form.rejection = error


def form_status(*forms: FlaskForm) -> int:
    """Return the status of a page with these forms: 200, or 422/409 after a rejection."""
    for form in forms:
        rejection = getattr(form, "rejection", None)
        if rejection is not None:
            return rejection.status_code
    if request.method == "POST" and any(form.errors for form in forms):
        return 422
    return 200
