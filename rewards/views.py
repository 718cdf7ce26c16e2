"""Portal pages of the rewards domain."""

from flask import Blueprint, Flask

bp = Blueprint("rewards", __name__, url_prefix="/rewards")


def register(app: Flask) -> None:
    app.register_blueprint(bp)
