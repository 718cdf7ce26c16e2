"""Portal pages of the liability domain."""

from flask import Blueprint, Flask

bp = Blueprint("liability", __name__, url_prefix="/liability")


def register(app: Flask) -> None:
    app.register_blueprint(bp)
