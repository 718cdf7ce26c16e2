"""JSON API of the rewards domain, mounted under /api/v1."""

from flask import Blueprint

bp = Blueprint("rewards_api", __name__)


def register(api: Blueprint) -> None:
    api.register_blueprint(bp)
