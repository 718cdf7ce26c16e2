"""JSON API of the liability domain, mounted under /api/v1."""

from flask import Blueprint

bp = Blueprint("liability_api", __name__)


def register(api: Blueprint) -> None:
    api.register_blueprint(bp)
