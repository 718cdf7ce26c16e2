"""Portal pages of the participation domain."""

from flask import Blueprint, Flask

bp = Blueprint("participation", __name__, url_prefix="/participation")


def register(app: Flask) -> None:
    app.register_blueprint(bp)
