"""Language of the current request: Dutch first, English second."""

from flask import current_app, has_request_context, request, session
from flask_login import current_user


def select_locale() -> str:
    """Pick the user's chosen language, else the browser's, else Dutch."""
    languages = current_app.config["LANGUAGES"]
    # Commands, jobs and the demo seed translate messages outside a request.
    if not has_request_context():
        return languages[0]
    chosen = session.get("locale")
    if chosen in languages:
        return chosen
    if (
        current_user
        and current_user.is_authenticated
        and current_user.locale in languages
    ):
        return current_user.locale
    return request.accept_languages.best_match(languages) or languages[0]
