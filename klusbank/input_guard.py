"""Reject text that no database column can store, before any view reads it.

PostgreSQL rejects the NUL character in text values, and psycopg cannot encode
a lone UTF-16 surrogate (which a JSON body can spell as ``"\\ud800"``). Either
would reach the database as an unexpected error and a 500 page. Checking every
submitted value once here covers every form and API route, present and future.
"""

import json
import logging
import re
from collections.abc import Iterator
from typing import Any

from flask import Flask, request
from flask_babel import gettext as _

from klusbank.errors import InvalidInput

logger = logging.getLogger(__name__)

# NUL and lone surrogates cannot be stored at all. The other C0 control
# characters (tab, line feed and carriage return excepted) can, but no person
# types them: they come from pasted text and make names and exports unreadable.
UNSTORABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def register(app: Flask) -> None:
    """Check the submitted values of every request."""
    app.before_request(reject_unstorable_text)


def reject_unstorable_text() -> None:
    """Raise InvalidInput naming each field whose value cannot be stored.

    Portal forms check their own fields (``klusbank.forms.PortalForm``), so
    the message appears beside the field and the input is kept; their
    values are left out here.
    """
    fields = sorted({name for name, value in _submitted() if UNSTORABLE.search(value)})
    if not fields:
        return
    logger.info(
        "rejected %s %s: control characters in %s",
        request.method,
        request.path,
        ", ".join(fields),
    )
    message = control_character_message()
    raise InvalidInput(message, errors={field: [message] for field in fields})


def control_character_message() -> str:
    """Return the message for a value with a control character in it."""
    return _(
        "This field contains a control character, which is not allowed. "
        "Remove it, for example by typing the text again instead of pasting it."
    )


def _submitted() -> Iterator[tuple[str, str]]:
    for name, value in request.args.items(multi=True):
        yield name, name + value
    if request.path.startswith("/api/"):
        for name, value in request.form.items(multi=True):
            yield name, name + value
    for name, upload in request.files.items(multi=True):
        yield name, name + (upload.filename or "")
    if request.is_json:
        yield from _json_strings(request.get_data(cache=True))


def _json_strings(body: bytes) -> Iterator[tuple[str, str]]:
    # A body that does not parse is left to the view, which rejects it with
    # its own message. The exception is a body nested deeper than the parser
    # allows, because some views read it with Flask's get_json, which lets the
    # RecursionError out as a 500. The walk uses a stack for the same reason.
    try:
        document = json.loads(body)
    except ValueError:
        return
    except RecursionError as error:
        raise InvalidInput(
            _("The request body is nested too deeply. Send a flat JSON object.")
        ) from error
    stack: list[tuple[str, Any]] = [("", document)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, str):
            yield path or "_schema", value
        elif isinstance(value, dict):
            for key, item in value.items():
                name = f"{path}.{key}" if path else str(key)
                yield name, str(key)
                stack.append((name, item))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                stack.append((f"{path}.{index}" if path else str(index), item))
