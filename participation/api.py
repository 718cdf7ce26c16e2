"""JSON API of the participation domain, mounted under /api/v1."""

from flask import Blueprint

bp = Blueprint("participation_api", __name__)


def register(api: Blueprint) -> None:
    api.register_blueprint(bp)
